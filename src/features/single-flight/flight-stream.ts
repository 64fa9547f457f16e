import { DEFAULT_PUBLISH_GRACE_MS } from './cache-flight';
import { ndjsonLine, ndjsonLines } from '../../lib/ndjson';
import {
  type FlightDeps,
  type FlightLine,
  type FlightRef,
  flightRef,
  flightUnavailable,
  type LeaderLink,
  parseLine,
} from './flight';

// Stream mode: the leader writes each event to the object as an NDJSON line over one RPC stream;
// followers read theirs from the object, buffered lines first.

export class StreamLeader implements LeaderLink {
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly closed: Promise<void>;
  private done = false;

  constructor(
    private readonly flight: FlightRef,
    private readonly lease: string,
  ) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.writer = writable.getWriter();
    // Errored if the object stops reading: an outcome, not a failure.
    this.writer.closed.catch(() => undefined);
    this.closed = flight.stub.publish(flight.key, lease, readable).then(
      () => undefined,
      () => undefined,
    );
  }

  private write(bytes: Uint8Array): void {
    if (!this.done) this.writer.write(bytes).catch(() => undefined);
  }

  send(line: FlightLine): void {
    this.write(ndjsonLine(line));
  }

  leaderLeft(): Promise<void> {
    return this.flight.stub.leaderLeft(this.flight.key, this.lease).catch(() => undefined);
  }

  // `linger`: the answer is in the cache, so late twins may be handed it for a moment longer.
  end(linger: boolean): void {
    this.write(ndjsonLine({ t: 'end', linger }));
    this.abandon();
  }

  // Closing without an end line tells followers the answer will not come from this flight.
  abandon(): void {
    if (this.done) return;
    this.done = true;
    this.writer.close().catch(() => undefined);
  }
}

export type StreamJoined =
  | { role: 'leader'; channel: StreamLeader }
  | { role: 'follower'; lines: AsyncGenerator<FlightLine> }
  | { role: 'solo' };

export async function joinStreamFlight(
  deps: FlightDeps,
  kvKey: string,
  signal: AbortSignal,
  graceMs = DEFAULT_PUBLISH_GRACE_MS,
): Promise<StreamJoined> {
  try {
    const flight = flightRef(deps.env, 'stream', kvKey);
    const claim = await flight.stub.claimStream(flight.key, graceMs);
    if (claim.role === 'leader') return { role: 'leader', channel: new StreamLeader(flight, claim.lease) };
    const leave = () => flight.stub.leave(flight.key, claim.ticket);
    return { role: 'follower', lines: follow(claim.events, leave, signal) };
  } catch (err) {
    return flightUnavailable(deps, err);
  }
}

// Lines of a flight as this follower receives them; a line it cannot read ends the flight for it.
async function* follow(
  events: ReadableStream<Uint8Array>,
  leave: () => Promise<void>,
  signal: AbortSignal,
): AsyncGenerator<FlightLine> {
  const reader = events.getReader();
  // The object ends this follower's stream, so the pending read finishes cleanly.
  const onAbort = () => void leave().catch(() => reader.cancel().catch(() => undefined));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const raw of ndjsonLines(reader)) {
      const line = parseLine(raw);
      if (!line) return;
      yield line;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await events.cancel().catch(() => undefined);
  }
}
