import { env, runInDurableObject } from 'cloudflare:test';
import { expect } from 'vitest';
import type { CacheFlight } from '../../src/features/single-flight/cache-flight';
import { type FlightMode, flightRef } from '../../src/features/single-flight/flight';

// What a CacheFlight object holds for one flight, read inside the object: lets a test wait until
// concurrent requests have reached the state it needs (a follower waiting, the leader gone) instead
// of sleeping and hoping they have.
export interface FlightState {
  finished: boolean;
  published: boolean;
  leaderLeft: boolean;
  // Complete mode: followers waiting for the leader's line.
  waiting: number;
  // Stream mode: followers reading the leader's lines.
  followers: number;
}

// null: the object holds no flight under that key (none yet, or already ended).
export function flightState(mode: FlightMode, kvKey: string): Promise<FlightState | null> {
  const { stub, key } = flightRef(env, mode, kvKey);
  return runInDurableObject(stub, (instance: CacheFlight) => {
    // The flights map is private to the object; only a test may look inside.
    const flight = instance['flights'].get(key);
    if (!flight) return null;
    return {
      finished: flight.finished,
      published: flight.published,
      leaderLeft: flight.leaderLeft,
      waiting: flight.waiting.size,
      followers: flight.followers.size,
    };
  });
}

// Resolves once the flight matches `expected`; fails the test if it does not within `timeout` ms.
export async function untilFlight(
  mode: FlightMode,
  kvKey: string,
  expected: Partial<FlightState>,
  timeout = 2_000,
): Promise<void> {
  await expect
    .poll(() => flightState(mode, kvKey), { timeout, interval: 20, message: `${mode} flight of ${kvKey}` })
    .toMatchObject(expected);
}
