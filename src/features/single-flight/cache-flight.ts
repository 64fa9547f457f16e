import { DurableObject } from 'cloudflare:workers';
import { ndjsonLines } from '../../lib/ndjson';

// Where identical cache misses from every isolate and colo meet: the flights of one shard of a tenant's keys.
// Why: docs/design/single-flight.md#where-flights-meet

export type StreamClaim =
  { role: 'leader'; lease: string } | { role: 'follower'; ticket: string; events: ReadableStream<Uint8Array> };

// `line`: the leader's result or error line; null when the flight ended without one (take over).
export type CompleteClaim = { role: 'leader'; lease: string } | { role: 'follower'; line: string | null };

// After an answer, twins that missed KV just before its write (or read a colo whose KV copy is not
// there yet) are still handed it here for this long. Why: docs/design/single-flight.md#lingering-answers
const LINGER_MS = 2_000;
// An answer stored longer ago than this is no longer held by any flight (clear uses it).
export const FLIGHT_MEMORY_MS = 10_000;
// A stream leader publishes right after claiming; one that does not (its isolate died) is written off.
export const DEFAULT_PUBLISH_GRACE_MS = 5_000;

interface Flight {
  key: string;
  lease: string;
  finished: boolean;
  lingerUntil: number;
  // Complete mode: the settled line, and followers waiting for it.
  answer: string | null | undefined;
  waiting: Map<string, (line: string | null) => void>;
  // Stream mode: lines so far, and followers' open streams.
  published: boolean;
  lines: Uint8Array[];
  followers: Map<string, ReadableStreamDefaultController<Uint8Array>>;
  leaderLeft: boolean;
  // Resolves the leader's pending `leaderLeft` call once nobody follows any more.
  alone: (() => void) | undefined;
}

const encoder = new TextEncoder();

// The stream leader's last line: the flight ended cleanly (other lines are relayed verbatim).
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
  private readonly flights = new Map<string, Flight>();

  private live(key: string): Flight | undefined {
    const f = this.flights.get(key);
    return f && (!f.finished || Date.now() < f.lingerUntil) ? f : undefined;
  }

  private current(key: string, lease: string): Flight | undefined {
    const f = this.flights.get(key);
    return f && f.lease === lease && !f.finished ? f : undefined;
  }

  // A new flight led by the caller; written off (followers released) if not ended within `deadlineMs`.
  private lead(key: string, deadlineMs: number, ended: (f: Flight) => boolean): string {
    const flight: Flight = {
      key,
      lease: crypto.randomUUID(),
      finished: false,
      lingerUntil: 0,
      answer: undefined,
      waiting: new Map(),
      published: false,
      lines: [],
      followers: new Map(),
      leaderLeft: false,
      alone: undefined,
    };
    this.flights.set(key, flight);
    setTimeout(() => {
      if (!ended(flight)) this.finish(flight, false);
    }, deadlineMs);
    return flight.lease;
  }

  // Complete mode. A follower's call returns when the leader settles (or is written off after
  // `leaseMs`, the longest its routed call may take) — or at once when the answer is already here.
  claimComplete(key: string, ticket: string, leaseMs: number): CompleteClaim | Promise<CompleteClaim> {
    const current = this.live(key);
    if (!current) return { role: 'leader', lease: this.lead(key, leaseMs, (f) => f.finished) };
    if (current.answer !== undefined || current.finished) return { role: 'follower', line: current.answer ?? null };
    return new Promise((resolve) => current.waiting.set(ticket, (line) => resolve({ role: 'follower', line })));
  }

  // The leader's result or error line (null: given up, followers take over). Only an answer lingers.
  settle(key: string, lease: string, line: string | null, linger: boolean): void {
    const flight = this.current(key, lease);
    if (!flight) return;
    flight.answer = line;
    this.finish(flight, linger && line !== null);
  }

  // Stream mode: followers receive every line, buffered ones first.
  claimStream(key: string, graceMs: number = DEFAULT_PUBLISH_GRACE_MS): StreamClaim {
    const current = this.live(key);
    if (!current) return { role: 'leader', lease: this.lead(key, graceMs, (f) => f.published || f.finished) };
    const ticket = crypto.randomUUID();
    return { role: 'follower', ticket, events: this.follow(current, ticket) };
  }

  // Resolves when the leader's stream has ended.
  async publish(key: string, lease: string, stream: ReadableStream<Uint8Array>): Promise<void> {
    const flight = this.current(key, lease);
    if (!flight || flight.published) {
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
  leaderLeft(key: string, lease: string): Promise<void> {
    const flight = this.current(key, lease);
    if (!flight || this.audience(flight) === 0) return Promise.resolve();
    flight.leaderLeft = true;
    return new Promise((resolve) => (flight.alone = resolve));
  }

  // A follower whose client left says so here (a cancel over RPC reaches the object only with its
  // next write, which for a slow upstream may be seconds away).
  leave(key: string, ticket: string): void {
    const flight = this.flights.get(key);
    if (!flight) return;
    flight.waiting.get(ticket)?.(null);
    try {
      flight.followers.get(ticket)?.close();
    } catch {
      // Already cancelled by its reader.
    }
    this.drop(flight, ticket);
  }

  // Drops a lingering answer (a cache clear): the next miss leads again. Flights in progress go on.
  forget(key: string): void {
    if (this.flights.get(key)?.finished) this.flights.delete(key);
  }

  private audience(flight: Flight): number {
    return flight.waiting.size + flight.followers.size;
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
    flight.waiting.delete(ticket);
    flight.followers.delete(ticket);
    if (this.audience(flight) === 0 && flight.leaderLeft) flight.alone?.();
  }

  private finish(flight: Flight, linger: boolean): void {
    if (flight.finished) return;
    flight.finished = true;
    for (const resolve of flight.waiting.values()) resolve(flight.answer ?? null);
    flight.waiting.clear();
    for (const f of flight.followers.values()) {
      try {
        f.close();
      } catch {
        // Already cancelled by its reader.
      }
    }
    flight.followers.clear();
    flight.alone?.();
    if (this.flights.get(flight.key) !== flight) return;
    if (!linger) {
      this.flights.delete(flight.key);
      return;
    }
    flight.lingerUntil = Date.now() + LINGER_MS;
    setTimeout(() => {
      if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
    }, LINGER_MS);
  }
}
