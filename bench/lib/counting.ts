// Counting phases: how many D1 statements, Durable Object calls, KV operations and queue sends each
// Edgeway target makes per request, read from a separate, instrumented Edgeway instance (workers.ts
// startEdgeway with `counted`; the counting itself is lib/count-bindings-worker.ts inside workerd).
// Kept out of the timed phases: the counting proxies cost CPU of their own.
import { request } from 'undici';
import { BUCKETS, COUNTS_PATH, type Bucket, type Counts, KINDS, type Kind } from './count-bindings-worker';
import { burst, type ExtraHeaders } from './load';

export type PerRequest = Record<Bucket, Record<Kind, number>>;

export interface CountRow {
  n: number; // requests the worker received during the phase
  ok: number;
  bad: number;
  // false when the worker was not idle within the time allowed: the last calls may be missing.
  settled: boolean;
  perRequest: PerRequest;
}

export async function readCounts(origin: string): Promise<Counts> {
  const res = await request(origin + COUNTS_PATH);
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new Error(`${origin}${COUNTS_PATH}: status ${res.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Counts;
}

const sentMessages = (c: Counts) => BUCKETS.reduce((s, b) => s + c.by[b].queueMessages, 0);
const fingerprint = (c: Counts) => JSON.stringify([c.requests, c.consumed, c.by]);

// Waits until the worker is idle: no fetch or queue invocation running, no waitUntil promise pending,
// every message sent delivered to the consumer (when it consumes every queue it sends to: Miniflare
// delivers a batch after max_batch_timeout), and no call counted for `quietMs`.
export async function settle(
  origin: string,
  consumesAll: boolean,
  maxS = 15,
  quietMs = 300,
): Promise<{ counts: Counts; settled: boolean }> {
  const deadline = performance.now() + maxS * 1000;
  let last = await readCounts(origin);
  let changedAt = performance.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await readCounts(origin);
    if (fingerprint(now) !== fingerprint(last)) changedAt = performance.now();
    last = now;
    const idle =
      now.inFlight === 0 && now.pendingWaitUntil === 0 && (!consumesAll || now.consumed >= sentMessages(now));
    if (idle && performance.now() - changedAt >= quietMs) return { counts: now, settled: true };
    if (performance.now() > deadline) return { counts: now, settled: false };
  }
}

export interface CountOptions {
  connections: number;
  warmup: number; // requests sent (and settled) before counting, so caches and leases are in steady state
  requests: number;
  extra?: ExtraHeaders;
  stream?: boolean;
  consumesAll: boolean;
}

export async function countPhase(origin: string, o: CountOptions): Promise<CountRow> {
  if (o.warmup > 0) {
    const w = await burst(origin, o.connections, o.warmup, o.extra, o.stream);
    if (w.bad > 0) throw new Error(`${origin}: ${w.bad} failed requests while warming up the counting phase`);
  }
  const before = (await settle(origin, o.consumesAll)).counts;
  const r = await burst(origin, o.connections, o.requests, o.extra, o.stream);
  const { counts: after, settled } = await settle(origin, o.consumesAll);
  const n = after.requests - before.requests;
  const perRequest = Object.fromEntries(
    BUCKETS.map((b) => [
      b,
      Object.fromEntries(KINDS.map((k) => [k, (after.by[b][k] - before.by[b][k]) / Math.max(1, n)])),
    ]),
  ) as PerRequest;
  return { n, ok: r.ok, bad: r.bad, settled, perRequest };
}
