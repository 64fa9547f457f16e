import { providerFailure } from '../providers';
import type { CacheLookup, CachePolicy } from '../cache';
import type { FlightDeps } from './flight';
import { type CompleteJoined, joinCompleteFlight } from './flight-complete';
import { joinStreamFlight, type StreamJoined } from './flight-stream';
import { eventLine, followComplete, followStream, resultLine, type Routed } from './flight-events';
import { leadCall, leadStream } from './flight-lead';
import type { Target } from '../models';
import type { RoutedEvent } from '../gateway';

// How a cache miss reaches upstream: alone when the cache is not read (nothing to share), else
// through the flight of its cache key, leading or following. A flight whose leader vanished before
// answering is joined once more; after that the request stops waiting on others.
const MAX_ROUNDS = 2;
// Followers of a call wait this much past the leader's routing budget before giving up on it.
// Why: docs/design/single-flight.md#vanished-leaders
const LEASE_MARGIN_MS = 5_000;

interface SharedCall {
  signal: AbortSignal;
  cachePolicy: CachePolicy;
}

export async function completeShared(
  deps: FlightDeps,
  call: SharedCall,
  cache: CacheLookup,
  primary: Target,
  budgetMs: number,
  route: (signal: AbortSignal) => Promise<Routed>,
): Promise<{ value: Routed; leader: boolean }> {
  const lead = (joined: CompleteJoined | undefined) =>
    leadCall(
      {
        channel: joined?.role === 'leader' ? joined.channel : undefined,
        signal: call.signal,
        linger: call.cachePolicy.write,
        waitUntil: deps.waitUntil,
        toLine: resultLine,
      },
      route,
    );
  if (!call.cachePolicy.read) return { value: await lead(undefined), leader: true };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const joined = await joinCompleteFlight(deps, cache.kvKey, call.signal, budgetMs + LEASE_MARGIN_MS);
    if (joined.role !== 'follower') return { value: await lead(joined), leader: true };
    const value = followComplete(joined.line, primary);
    if (value) return { value, leader: false };
    if (call.signal.aborted) throw providerFailure(primary.provider.id, 'client-closed');
  }
  return { value: await lead(undefined), leader: true };
}

export function streamShared(
  deps: FlightDeps,
  call: SharedCall,
  cache: CacheLookup,
  primary: Target,
  start: (signal: AbortSignal) => AsyncIterable<RoutedEvent>,
): Promise<AsyncGenerator<RoutedEvent>> {
  const lead = (joined: StreamJoined | undefined) =>
    leadStream(
      {
        channel: joined?.role === 'leader' ? joined.channel : undefined,
        signal: call.signal,
        waitUntil: deps.waitUntil,
        // Only an answer that reached the cache may be handed to late twins.
        linger: call.cachePolicy.write,
        toLine: eventLine,
      },
      start,
    );
  const join = async (round: number): Promise<AsyncGenerator<RoutedEvent>> => {
    if (round >= MAX_ROUNDS) return lead(undefined);
    const joined = await joinStreamFlight(deps, cache.kvKey, call.signal);
    if (joined.role !== 'follower') return lead(joined);
    return followStream(joined.lines, primary, async function* alone() {
      if (call.signal.aborted) throw providerFailure(primary.provider.id, 'client-closed');
      yield* await join(round + 1);
    });
  };
  return call.cachePolicy.read ? join(0) : Promise.resolve(lead(undefined));
}
