import { DurableObject } from 'cloudflare:workers';
import { ndjsonLines } from '../lib/ndjson';

// One per in-flight cache key (mode + tenant-scoped KV key): the meeting point of identical cache
// misses from every isolate and colo. The first to claim leads (calls upstream and publishes what
// it gets as NDJSON lines); later claimers follow (receive every line, buffered ones first).
// Memory only: a flight lives seconds, and an evicted object simply means the next miss leads.

export type FlightClaim =
  | { role: 'leader'; lease: string }
  | { role: 'follower'; ticket: string; events: ReadableStream<Uint8Array> };

// After a clean end the answer is in KV, but a twin that missed KV just before the write (or reads
// a colo whose KV copy is not there yet) still finds the answer here for this long.
const LINGER_MS = 2_000;
// An answer stored longer ago than this is no longer held by any flight (clear uses it).
export const FLIGHT_MEMORY_MS = 10_000;
// A leader publishes right after claiming; one that does not (its isolate died) is written off.
export const DEFAULT_PUBLISH_GRACE_MS = 5_000;

interface Flight {
  lease: string;
  lines: Uint8Array[];
  followers: Map<string, ReadableStreamDefaultController<Uint8Array>>;
  published: boolean;
  finished: boolean;
  lingerUntil: number;
  leaderLeft: boolean;
  // Resolves the leader's pending `leaderLeft` call once nobody follows any more.
  alone: (() => void) | undefined;
}

const encoder = new TextEncoder();

// The leader's last line: the flight ended cleanly (everything else is relayed to followers verbatim).
function endLine(line: string): { linger: boolean } | undefined {
  if (!line.startsWith('{"t":"end"')) return undefined;
  try {
    const v = JSON.parse(line) as { t?: unknown; linger?: unknown };
    if (v.t === 'end') return { linger: v.linger === true };
  } catch {
    // Not the end line after all: relay it.
  }
  return undefined;
}

export class CacheFlight extends DurableObject<Env> {
  private flight: Flight | undefined;

  claim(graceMs: number = DEFAULT_PUBLISH_GRACE_MS): FlightClaim {
    const current = this.flight;
    if (current && (!current.finished || Date.now() < current.lingerUntil)) {
      const ticket = crypto.randomUUID();
      return { role: 'follower', ticket, events: this.follow(current, ticket) };
    }
    const flight: Flight = {
      lease: crypto.randomUUID(),
      lines: [],
      followers: new Map(),
      published: false,
      finished: false,
      lingerUntil: 0,
      leaderLeft: false,
      alone: undefined,
    };
    this.flight = flight;
    setTimeout(() => {
      if (!flight.published) this.finish(flight, false);
    }, graceMs);
    return { role: 'leader', lease: flight.lease };
  }

  // Resolves when the leader's stream has ended or was cancelled for want of listeners.
  async publish(lease: string, stream: ReadableStream<Uint8Array>): Promise<void> {
    const flight = this.flight;
    if (!flight || flight.lease !== lease || flight.published || flight.finished) {
      await stream.cancel('not the leader').catch(() => undefined);
      return;
    }
    flight.published = true;
    let linger = false;
    try {
      for await (const line of ndjsonLines(stream.getReader())) {
        const end = endLine(line);
        if (end) {
          linger = end.linger;
          break;
        }
        const bytes = encoder.encode(`${line}\n`);
        flight.lines.push(bytes);
        for (const f of flight.followers.values()) f.enqueue(bytes);
      }
    } catch {
      // The leader went away mid-flight: followers see their stream end without a final event.
      linger = false;
    } finally {
      this.finish(flight, linger);
    }
  }

  // The leader's own client left. Resolves once no follower is left either, which tells the leader
  // to stop its upstream call (it goes on for as long as anyone listens).
  leaderLeft(lease: string): Promise<void> {
    const flight = this.flight;
    if (!flight || flight.lease !== lease || flight.finished || flight.followers.size === 0) return Promise.resolve();
    flight.leaderLeft = true;
    return new Promise((resolve) => (flight.alone = resolve));
  }

  // Drops a lingering answer (a cache clear): the next miss leads again. Flights in progress go on.
  forget(): void {
    if (this.flight?.finished) this.flight = undefined;
  }

  // A follower whose client left says so here: a cancel over RPC reaches the object only with its
  // next write, which for a slow upstream may be seconds away.
  leave(ticket: string): void {
    const flight = this.flight;
    const follower = flight?.followers.get(ticket);
    if (!flight || !follower) return;
    try {
      follower.close();
    } catch {
      // Already cancelled by its reader.
    }
    this.drop(flight, ticket);
  }

  private follow(flight: Flight, ticket: string): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        for (const bytes of flight.lines) controller.enqueue(bytes);
        if (flight.finished) controller.close();
        else flight.followers.set(ticket, controller);
      },
      cancel: () => this.drop(flight, ticket),
    });
  }

  private drop(flight: Flight, ticket: string): void {
    flight.followers.delete(ticket);
    if (flight.followers.size === 0 && flight.leaderLeft) flight.alone?.();
  }

  private finish(flight: Flight, linger: boolean): void {
    if (flight.finished) return;
    flight.finished = true;
    for (const f of flight.followers.values()) {
      try {
        f.close();
      } catch {
        // Already cancelled by its reader.
      }
    }
    flight.followers.clear();
    flight.alone?.();
    if (this.flight !== flight) return;
    if (!linger) {
      this.flight = undefined;
      return;
    }
    flight.lingerUntil = Date.now() + LINGER_MS;
    setTimeout(() => {
      if (this.flight === flight) this.flight = undefined;
    }, LINGER_MS);
  }
}
