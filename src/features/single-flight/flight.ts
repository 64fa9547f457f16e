// Single-flight across isolates: the leader calls upstream, followers read its result from a CacheFlight object;
// fail open. flight-complete.ts and flight-stream.ts hold the two modes. Why: docs/design/single-flight.md
import { z } from 'zod';
import type { CacheFlight } from './cache-flight';
import { ApiError, ERROR_CATALOGUE, type ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/log';

export type FlightMode = 'complete' | 'stream';

const UsageSchema = z.object({ promptTokens: z.number(), completionTokens: z.number(), totalTokens: z.number() });
const FinishSchema = z.enum(['stop', 'length', 'content_filter', 'tool_calls', 'error']);
const LineSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('start'), provider: z.string(), model: z.string(), attempts: z.number() }),
  z.object({ t: z.literal('delta'), text: z.string() }),
  // A piece of a streamed tool call (the first piece of an index carries its id and name).
  z.object({
    t: z.literal('tool'),
    index: z.number(),
    id: z.string().optional(),
    name: z.string().optional(),
    args: z.string(),
  }),
  z.object({ t: z.literal('done'), model: z.string(), finishReason: FinishSchema, usage: UsageSchema }),
  z.object({
    t: z.literal('result'),
    provider: z.string(),
    model: z.string(),
    attempts: z.number(),
    result: z.object({
      text: z.string(),
      model: z.string(),
      finishReason: FinishSchema,
      usage: UsageSchema,
      toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })).optional(),
    }),
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

// What a leader needs of its flight, whatever the mode: `closed` settles when the object stops
// listening; `leaderLeft` resolves when nobody follows any more (at once if nobody does, or the
// object is unreachable).
export interface LeaderLink {
  readonly closed: Promise<void>;
  leaderLeft(): Promise<void>;
}

// A flight: its key, and the object of the tenant's shard that holds it.
export interface FlightRef {
  stub: DurableObjectStub<CacheFlight>;
  key: string;
}

// Spreads one tenant's flights over a few warm objects, so a busy tenant is not one object's queue.
export const FLIGHT_SHARDS = 8;

export function flightRef(env: Env, mode: FlightMode, kvKey: string): FlightRef {
  // kvKey is rc:<tenant>:ck_<sha-256 hex>: the tenant picks the objects, the hash the shard.
  const tenant = kvKey.slice(0, kvKey.lastIndexOf(':'));
  const shard = Number.parseInt(kvKey.slice(-6), 16) % FLIGHT_SHARDS || 0;
  return { stub: env.CACHE_FLIGHT.get(env.CACHE_FLIGHT.idFromName(`${tenant}|${shard}`)), key: `${mode}|${kvKey}` };
}

// A line from the object, checked: anything unreadable counts as no line (the flight is lost).
export function parseLine(raw: string): FlightLine | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const line = LineSchema.safeParse(parsed);
  return line.success ? line.data : undefined;
}

export function flightUnavailable(deps: FlightDeps, err: unknown): { role: 'solo' } {
  deps.log.warn('single-flight unavailable; calling upstream alone', { error: String(err) });
  return { role: 'solo' };
}

// After a cache clear, lingering answers of the cleared keys must not be handed out.
export async function forgetFlights(env: Env, kvKeys: readonly string[]): Promise<void> {
  await Promise.all(
    kvKeys.flatMap((k) =>
      (['complete', 'stream'] as const).map((mode) => {
        const { stub, key } = flightRef(env, mode, k);
        return stub.forget(key).catch(() => undefined);
      }),
    ),
  );
}

// Aborts the upstream call only when neither the leader's own client nor any follower is left.
export class Audience {
  private readonly controller = new AbortController();
  private localGone = false;
  private remoteGone: boolean;

  constructor(private readonly channel: LeaderLink | undefined) {
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
