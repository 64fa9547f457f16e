// Load generation: saturated throughput with autocannon, concurrency-1 latency and streaming with a
// single keep-alive undici connection.
import autocannon from 'autocannon';
import { Client } from 'undici';
import { STAMP } from './stream-mock';
import { nsToMs, percentile, sortedCopy } from './stats';

export const PATH = '/v1/chat/completions';
// Headers every measured request carries; run.ts adds Accept-Encoding for --gzip. Each target may add
// its own (extra), e.g. BYPASS_CACHE for Edgeway's cache-miss path.
export const HEADERS: Record<string, string> = { 'content-type': 'application/json' };
export type ExtraHeaders = Record<string, string>;
const headersWith = (extra: ExtraHeaders = {}): Record<string, string> => ({ ...HEADERS, ...extra });

// Edgeway's response cache is neither read (no-cache) nor written (no-store): every request goes
// through the whole pipeline to the upstream, as a cache miss would. Answers say X-Cache-Status: BYPASS.
export const BYPASS_CACHE: ExtraHeaders = { 'cache-control': 'no-cache, no-store' };
export const CACHE_STATUS = 'x-cache-status';

// Tally of X-Cache-Status values seen ('(none)' when absent).
export type CacheTally = Record<string, number>;
function tally(t: CacheTally, value: string | string[] | undefined): void {
  const v = Array.isArray(value) ? value.join(',') : (value ?? '(none)');
  t[v] = (t[v] ?? 0) + 1;
}

export function requestBody(stream: boolean): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: 'Say hello to the benchmark in one short sentence.' },
    ],
    ...(stream ? { stream: true } : {}),
  });
}

export interface Saturated {
  rps: number;
  ok: number;
  bad: number; // non-2xx + errors + timeouts
  durationS: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export async function saturate(
  origin: string,
  connections: number,
  durationS: number,
  extra?: ExtraHeaders,
): Promise<Saturated> {
  const r = await autocannon({
    url: origin + PATH,
    method: 'POST',
    headers: headersWith(extra),
    body: requestBody(false),
    connections,
    duration: durationS,
    pipelining: 1,
    timeout: 10,
  });
  return {
    rps: r['2xx'] / r.duration,
    ok: r['2xx'],
    bad: r.non2xx + r.errors + r.timeouts,
    durationS: r.duration,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
  };
}

// Exactly `amount` requests (stream: true or not) over `connections` connections, as fast as they are
// answered: the counting phases, where what matters is how many requests were answered, not how fast.
export async function burst(
  origin: string,
  connections: number,
  amount: number,
  extra?: ExtraHeaders,
  stream = false,
): Promise<{ ok: number; bad: number }> {
  if (amount <= 0) return { ok: 0, bad: 0 };
  const r = await autocannon({
    url: origin + PATH,
    method: 'POST',
    headers: headersWith(extra),
    body: requestBody(stream),
    connections: Math.max(1, Math.min(connections, amount)),
    amount,
    pipelining: 1,
    timeout: 10,
  });
  return { ok: r['2xx'], bad: r.non2xx + r.errors + r.timeouts };
}

export interface Sequential {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
  cache: CacheTally; // X-Cache-Status of every answer, warm-up included
}

// `count` requests one after another on one keep-alive connection, after `warmup` unmeasured ones.
// Each sample runs from sending the request to having read the whole body. Stops early at maxS.
export async function sequential(
  origin: string,
  count: number,
  warmup: number,
  maxS: number,
  extra?: ExtraHeaders,
): Promise<Sequential> {
  const client = new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000 });
  const body = requestBody(false);
  const headers = headersWith(extra);
  const samples: number[] = [];
  const cache: CacheTally = {};
  const deadline = performance.now() + maxS * 1000;
  try {
    for (let i = 0; i < warmup + count && performance.now() < deadline; i++) {
      const t0 = process.hrtime.bigint();
      const res = await client.request({ path: PATH, method: 'POST', headers, body });
      await res.body.text();
      const t1 = process.hrtime.bigint();
      if (res.statusCode !== 200) throw new Error(`${origin}: status ${res.statusCode}`);
      tally(cache, res.headers[CACHE_STATUS]);
      if (i >= warmup) samples.push(nsToMs(t1 - t0));
    }
  } finally {
    await client.close();
  }
  const s = sortedCopy(samples);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    max: s[s.length - 1] ?? Number.NaN,
    cache,
  };
}

export interface StreamSample {
  ttfbMs: number; // request sent → first body byte
  ttftMs: number; // request sent → first content chunk complete
  totalMs: number; // request sent → end of body
  tailMs: number; // last content chunk → end of body (finish, usage and [DONE] frames, stream close)
  chunks: { index: number; sentNs: bigint; recvNs: bigint }[];
  reads: number;
  done: boolean;
  cacheStatus: string | string[] | undefined;
}

async function streamOnce(client: Client, body: string, headers: Record<string, string>): Promise<StreamSample> {
  const t0 = process.hrtime.bigint();
  const res = await client.request({ path: PATH, method: 'POST', headers, body });
  if (res.statusCode !== 200) throw new Error(`stream: status ${res.statusCode}: ${await res.body.text()}`);
  const decoder = new TextDecoder();
  let buffered = '';
  let all = '';
  let firstByte: bigint | undefined;
  let reads = 0;
  const chunks: StreamSample['chunks'] = [];
  for await (const part of res.body) {
    const now = process.hrtime.bigint();
    firstByte ??= now;
    reads++;
    buffered += decoder.decode(part as Uint8Array, { stream: true });
    // Only whole SSE frames count as received.
    const end = buffered.lastIndexOf('\n\n');
    if (end < 0) continue;
    const frames = buffered.slice(0, end);
    buffered = buffered.slice(end + 2);
    all += frames;
    for (const m of frames.matchAll(STAMP))
      chunks.push({ index: Number(m[1]), sentNs: BigInt(m[2] ?? '0'), recvNs: now });
  }
  const t1 = process.hrtime.bigint();
  const first = chunks[0];
  return {
    ttfbMs: firstByte === undefined ? Number.NaN : nsToMs(firstByte - t0),
    ttftMs: first === undefined ? Number.NaN : nsToMs(first.recvNs - t0),
    totalMs: nsToMs(t1 - t0),
    tailMs: chunks.length === 0 ? Number.NaN : nsToMs(t1 - (chunks[chunks.length - 1]?.recvNs ?? t1)),
    chunks,
    reads,
    done: (all + buffered).includes('data: [DONE]') && !/"error"\s*:/.test(all),
    cacheStatus: res.headers[CACHE_STATUS],
  };
}

export interface StreamStats {
  n: number;
  complete: number; // responses with every chunk, in order, and [DONE]
  ttfbP50: number;
  ttfbP99: number;
  ttftP50: number;
  totalP50: number;
  tailP50: number;
  // One-way delay of each content chunk: upstream wrote it → client had the whole frame.
  chunkDelayP50: number;
  chunkDelayP95: number;
  chunkDelayP99: number;
  chunkDelayMax: number;
  // Client-side gap between consecutive chunks minus the upstream's gap between writing them.
  extraGapP99: number;
  extraGapMax: number;
  // Chunks that reached the client a full upstream interval (or more) after they were written.
  heldChunks: number;
  totalChunks: number;
  readsPerResponse: number;
  cache: CacheTally;
}

export async function streaming(
  origin: string,
  count: number,
  warmup: number,
  expectChunks: number,
  gapMs: number,
  maxS: number,
  extraHeaders?: ExtraHeaders,
): Promise<StreamStats> {
  const client = new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000 });
  const body = requestBody(true);
  const headers = headersWith(extraHeaders);
  const samples: StreamSample[] = [];
  const deadline = performance.now() + maxS * 1000;
  try {
    for (let i = 0; i < warmup + count && performance.now() < deadline; i++) {
      const s = await streamOnce(client, body, headers);
      if (i >= warmup) samples.push(s);
    }
  } finally {
    await client.close();
  }
  const delays: number[] = [];
  const extra: number[] = [];
  let held = 0;
  let complete = 0;
  const cache: CacheTally = {};
  for (const s of samples) {
    tally(cache, s.cacheStatus);
    const inOrder = s.chunks.every((c, i) => c.index === i);
    if (s.done && inOrder && s.chunks.length === expectChunks) complete++;
    s.chunks.forEach((c, i) => {
      const d = nsToMs(c.recvNs - c.sentNs);
      delays.push(d);
      if (d >= gapMs) held++;
      const prev = s.chunks[i - 1];
      if (prev) extra.push(nsToMs(c.recvNs - prev.recvNs) - nsToMs(c.sentNs - prev.sentNs));
    });
  }
  const d = sortedCopy(delays);
  const e = sortedCopy(extra);
  const by = (f: (s: StreamSample) => number) => sortedCopy(samples.map(f));
  return {
    n: samples.length,
    complete,
    ttfbP50: percentile(
      by((s) => s.ttfbMs),
      50,
    ),
    ttfbP99: percentile(
      by((s) => s.ttfbMs),
      99,
    ),
    ttftP50: percentile(
      by((s) => s.ttftMs),
      50,
    ),
    totalP50: percentile(
      by((s) => s.totalMs),
      50,
    ),
    tailP50: percentile(
      by((s) => s.tailMs),
      50,
    ),
    chunkDelayP50: percentile(d, 50),
    chunkDelayP95: percentile(d, 95),
    chunkDelayP99: percentile(d, 99),
    chunkDelayMax: d[d.length - 1] ?? Number.NaN,
    extraGapP99: percentile(e, 99),
    extraGapMax: e[e.length - 1] ?? Number.NaN,
    heldChunks: held,
    totalChunks: delays.length,
    readsPerResponse: samples.reduce((a, s) => a + s.reads, 0) / Math.max(1, samples.length),
    cache,
  };
}

// One request, checked: used before measuring so a broken target fails loudly, not as fast 500s.
// Returns the answer's X-Cache-Status (undefined when the target sends none).
export async function smoke(origin: string, expect: RegExp, extra?: ExtraHeaders): Promise<string | undefined> {
  const client = new Client(origin);
  try {
    const res = await client.request({
      path: PATH,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...extra },
      body: requestBody(false),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 || !expect.test(text))
      throw new Error(`${origin}${PATH}: status ${res.statusCode}: ${text.slice(0, 500)}`);
    const status = res.headers[CACHE_STATUS];
    return Array.isArray(status) ? status.join(',') : status;
  } finally {
    await client.close();
  }
}

// Makes the next plain request of this body an exact cache hit: one request without BYPASS_CACHE
// (a MISS, stored in the background), then more until one answers HIT. Returns the requests sent,
// and `cacheable: false` when the first answer is neither MISS nor HIT (a build that does not cache it).
// `extra`: the caller's credentials, for a cache scoped to them (an API key's organization).
export async function warmCache(
  origin: string,
  expect: RegExp,
  maxS = 10,
  extra?: ExtraHeaders,
): Promise<{ sent: number; cacheable: boolean; status?: string }> {
  const deadline = performance.now() + maxS * 1000;
  let sent = 0;
  for (;;) {
    const status = await smoke(origin, expect, extra);
    sent++;
    if (status === 'HIT') return { sent, cacheable: true };
    if (sent === 1 && status !== 'MISS') return { sent, cacheable: false, status };
    if (performance.now() > deadline)
      throw new Error(`${origin}: no cache HIT within ${maxS} s (${sent} requests, last X-Cache-Status ${status})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
