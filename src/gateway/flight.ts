// Single-flight across isolates: identical cache misses meet in a CacheFlight Durable Object (one per
// mode and tenant-scoped cache key). The leader calls upstream and publishes each event as an NDJSON
// line; followers read the lines from the object, never a promise of another request. If the object
// cannot be reached the request simply goes upstream on its own (fail open: a duplicate call, never
// a failed request).
import { z } from 'zod';
import { type CacheFlight, DEFAULT_PUBLISH_GRACE_MS } from '../durable-objects/cache-flight';
import { ApiError, ERROR_CATALOGUE, type ErrorCode } from '../lib/errors';
import type { Logger } from '../lib/log';
import { ndjsonLine, ndjsonLines } from '../lib/ndjson';

export type FlightMode = 'complete' | 'stream';

const UsageSchema = z.object({ promptTokens: z.number(), completionTokens: z.number(), totalTokens: z.number() });
const FinishSchema = z.enum(['stop', 'length', 'content_filter', 'tool_calls', 'error']);
const LineSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('start'), provider: z.string(), model: z.string(), attempts: z.number() }),
  z.object({ t: z.literal('delta'), text: z.string() }),
  z.object({ t: z.literal('done'), model: z.string(), finishReason: FinishSchema, usage: UsageSchema }),
  z.object({
    t: z.literal('result'),
    provider: z.string(),
    model: z.string(),
    attempts: z.number(),
    result: z.object({ text: z.string(), model: z.string(), finishReason: FinishSchema, usage: UsageSchema }),
  }),
  z.object({
    t: z.literal('error'),
    code: z.string(),
    message: z.string(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
]);

export type FlightLine = z.infer<typeof LineSchema>;

export interface FlightDeps {
  env: Env;
  log: Logger;
  waitUntil(promise: Promise<unknown>): void;
}

export function errorLine(err: unknown): FlightLine {
  const e = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
  return { t: 'error', code: e.code, message: e.message, ...(e.headers ? { headers: e.headers } : {}) };
}

export function errorOf(line: Extract<FlightLine, { t: 'error' }>): ApiError {
  const code = (line.code in ERROR_CATALOGUE ? line.code : 'PROVIDER_ERROR') as ErrorCode;
  return new ApiError(code, line.message, line.headers ? { headers: line.headers } : {});
}

// The leader's side of a flight: lines go to the object as they happen; `closed` settles when the
// object stops listening (the flight ended, or nobody is left to listen).
export class LeaderChannel {
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly closed: Promise<void>;
  private done = false;

  constructor(
    private readonly stub: DurableObjectStub<CacheFlight>,
    private readonly lease: string,
  ) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.writer = writable.getWriter();
    // Errored when the object stops reading (nobody left to listen): an outcome, not a failure.
    this.writer.closed.catch(() => undefined);
    this.closed = stub.publish(lease, readable).then(
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

  // Resolves when nobody follows any more (at once if nobody does, or the object is unreachable).
  leaderLeft(): Promise<void> {
    return this.stub.leaderLeft(this.lease).catch(() => undefined);
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

export type Joined =
  | { role: 'leader'; channel: LeaderChannel }
  | { role: 'follower'; lines: AsyncGenerator<FlightLine> }
  | { role: 'solo' };

const flightStub = (env: Env, mode: FlightMode, kvKey: string) =>
  env.CACHE_FLIGHT.get(env.CACHE_FLIGHT.idFromName(`${mode}|${kvKey}`));

export async function joinFlight(
  deps: FlightDeps,
  mode: FlightMode,
  kvKey: string,
  signal: AbortSignal,
  graceMs = DEFAULT_PUBLISH_GRACE_MS,
): Promise<Joined> {
  try {
    const stub = flightStub(deps.env, mode, kvKey);
    const claim = await stub.claim(graceMs);
    if (claim.role === 'leader') return { role: 'leader', channel: new LeaderChannel(stub, claim.lease) };
    const leave = () => stub.leave(claim.ticket);
    return { role: 'follower', lines: follow(claim.events, leave, signal) };
  } catch (err) {
    deps.log.warn('single-flight unavailable; calling upstream alone', { error: String(err) });
    return { role: 'solo' };
  }
}

// Lines of a flight as this follower receives them; its client leaving cancels its subscription.
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
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return;
      }
      const line = LineSchema.safeParse(parsed);
      // A line we cannot read ends the flight for us, as if the leader had gone.
      if (!line.success) return;
      yield line.data;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await events.cancel().catch(() => undefined);
  }
}

// After a cache clear, lingering answers of the cleared keys must not be handed out.
export async function forgetFlights(env: Env, kvKeys: readonly string[]): Promise<void> {
  await Promise.all(
    kvKeys.flatMap((k) =>
      (['complete', 'stream'] as const).map((mode) => flightStub(env, mode, k).forget().catch(() => undefined)),
    ),
  );
}

// Aborts the upstream call only when neither the leader's own client nor any follower is left.
export class Audience {
  private readonly controller = new AbortController();
  private localGone = false;
  private remoteGone: boolean;

  constructor(private readonly channel: LeaderChannel | undefined) {
    this.remoteGone = channel === undefined;
    channel?.closed.then(() => {
      this.remoteGone = true;
      this.check();
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  leave(): void {
    if (this.localGone) return;
    this.localGone = true;
    this.channel?.leaderLeft().then(() => {
      this.remoteGone = true;
      this.check();
    });
    this.check();
  }

  private check(): void {
    if (this.localGone && this.remoteGone && !this.controller.signal.aborted) {
      // No reason: workerd rejects the aborted fetch body's internal promise with it (workerd#501), and
      // the default AbortError is the one the test runner knows to be that runtime noise.
      this.controller.abort();
    }
  }
}
