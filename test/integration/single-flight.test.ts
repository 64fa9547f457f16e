import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/features/cache/cache-key';
import { flightRef } from '../../src/features/single-flight/flight';
import { register } from '../helpers/auth';
import { untilFlight } from '../helpers/flight-state';
import { call, expectEnvelope, mockRequests, openaiEnv, postJson } from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

type Json = Record<string, unknown>;
const MODEL = 'gpt-4o-mini';
const user = (content: string) => [{ role: 'user', content }];
const encoder = new TextEncoder();
const line = (v: unknown) => encoder.encode(`${JSON.stringify(v)}\n`);
const usage = { promptTokens: 3, completionTokens: 5, totalTokens: 8 };

const ask = (prompt: string, extra: Json = {}, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  call(
    '/v1/chat/completions',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: MODEL, messages: user(prompt), ...extra }),
      ...init,
    },
    openaiEnv({ STREAM_HOLD_MS: '20', RETRY_MAX_RETRIES: '0' }),
  );

const kvKeyOf = async (tenant: string, prompt: string) =>
  `rc:${tenant}:${await cacheKey({ tenant, provider: 'openai', model: MODEL, messages: [{ role: 'user', content: prompt }] })}`;

const flightOf = (mode: 'complete' | 'stream', kvKey: string) => flightRef(env, mode, kvKey);

// The test stands in for a leader in another isolate: it claims the flight and publishes by hand.
async function remoteStreamLeader(kvKey: string) {
  const { stub, key } = flightOf('stream', kvKey);
  const claim = await stub.claimStream(key, 5_000);
  if (claim.role !== 'leader') throw new Error('expected to lead');
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const published = stub.publish(key, claim.lease, readable);
  return { writer: writable.getWriter(), published };
}

async function remoteCallLeader(kvKey: string, leaseMs = 5_000) {
  const { stub, key } = flightOf('complete', kvKey);
  const claim = await stub.claimComplete(key, crypto.randomUUID(), leaseMs);
  if (claim.role !== 'leader') throw new Error('expected to lead');
  return claim.lease;
}

const text = (body: string) =>
  (dataFrames(parseSse(body)) as { choices?: { delta?: { content?: string } }[] }[])
    .map((c) => c.choices?.[0]?.delta?.content ?? '')
    .join('');

// Resolves once the mock upstream has received the call for `prompt` (the leader is calling it).
const untilUpstreamCalled = (prompt: string) =>
  expect.poll(async () => (await mockRequests(prompt)).length, { timeout: 2_000, interval: 20 }).toBe(1);

// The one upstream call the flight made, once the mock has seen its client go away.
async function expectOneAbortedCall(prompt: string): Promise<void> {
  await expect.poll(async () => (await mockRequests(prompt))[0]?.aborted, { timeout: 4_000 }).toBe(true);
  expect(await mockRequests(prompt)).toHaveLength(1);
}

describe('single-flight across isolates (CacheFlight Durable Object)', () => {
  it('the key the tests compute is the one the worker caches under', async () => {
    const prompt = `keycheck-${crypto.randomUUID()}`;
    expect((await ask(prompt)).status).toBe(200);
    await expect.poll(async () => env.CACHE.get(await kvKeyOf('anonymous', prompt))).not.toBeNull();
  });

  it('a request follows a flight led elsewhere and answers from it without calling upstream', async () => {
    const prompt = `remote-${crypto.randomUUID()}`;
    const kvKey = await kvKeyOf('anonymous', prompt);
    const lease = await remoteCallLeader(kvKey);
    const pending = ask(prompt);
    // Settled only once the request waits in the flight, so it is the waiting follower that is tested.
    await untilFlight('complete', kvKey, { waiting: 1 });
    const answer = {
      t: 'result',
      provider: 'openai',
      model: MODEL,
      attempts: 1,
      result: { text: 'answered by another isolate', model: MODEL, finishReason: 'stop', usage },
    };
    const { stub, key } = flightOf('complete', kvKey);
    await stub.settle(key, lease, JSON.stringify(answer), true);
    const res = await pending;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe('answered by another isolate');
    expect(await mockRequests(prompt)).toHaveLength(0);
  });

  it('a stream follows a remote leader event by event, and a leader lost mid-answer ends it in-band', async () => {
    const prompt = `remote-stream-${crypto.randomUUID()}`;
    const kvKey = await kvKeyOf('anonymous', prompt);
    const leader = await remoteStreamLeader(kvKey);
    const pending = ask(prompt, { stream: true });
    await leader.writer.write(line({ t: 'start', provider: 'openai', model: MODEL, attempts: 1 }));
    for (const w of ['Shared', ' from', ' afar']) await leader.writer.write(line({ t: 'delta', text: w }));
    await leader.writer.write(line({ t: 'done', model: MODEL, finishReason: 'stop', usage }));
    // The answer's headers mean the follower has joined; only then may the flight end.
    const res = await pending;
    await leader.writer.write(line({ t: 'end', linger: false }));
    await leader.writer.close();
    const body = await res.text();
    expect(text(body)).toBe('Shared from afar');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);

    const cut = `remote-cut-${crypto.randomUUID()}`;
    const second = await remoteStreamLeader(await kvKeyOf('anonymous', cut));
    const cutRes = ask(cut, { stream: true });
    await second.writer.write(line({ t: 'start', provider: 'openai', model: MODEL, attempts: 1 }));
    await second.writer.write(line({ t: 'delta', text: 'Half an' }));
    const cutAnswer = await cutRes;
    // The leader's isolate dies: its stream ends with neither `done` nor `end`.
    await second.writer.close();
    const frames = dataFrames(parseSse(await cutAnswer.text())) as Json[];
    expect(frames.at(-1)).toMatchObject({ error: { code: 'provider_error' } });
    expect(await mockRequests(cut)).toHaveLength(0);
  });

  it('followers of a leader that never answers take over: one of them calls upstream, once', async () => {
    const prompt = `orphan-${crypto.randomUUID()}`;
    // Claimed but never published (its isolate died right after claiming): written off after 200 ms.
    await remoteCallLeader(await kvKeyOf('anonymous', prompt), 200);
    const results = await Promise.all(Array.from({ length: 5 }, () => ask(prompt)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const answers = await Promise.all(results.map(async (r) => ((await r.json()) as Json).choices));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(await mockRequests(prompt)).toHaveLength(1);

    // Published, then gone before a result: the follower goes upstream itself.
    const gone = `gone-${crypto.randomUUID()}`;
    const goneKey = await kvKeyOf('anonymous', gone);
    const leader = await remoteStreamLeader(goneKey);
    const pending = ask(gone, { stream: true });
    await untilFlight('stream', goneKey, { published: true, followers: 1 });
    await leader.writer.close();
    const body = await (await pending).text();
    expect(text(body)).toContain(gone);
    expect(await mockRequests(gone)).toHaveLength(1);
  });

  it('keeps streaming to followers when the leader’s client leaves', async () => {
    const prompt = `leader-leaves-${crypto.randomUUID()} [[fault:slow]]`;
    const abortLeader = new AbortController();
    const leaderRes = await ask(prompt, { stream: true }, {}, { signal: abortLeader.signal });
    const follower = ask(prompt, { stream: true });
    // The leader leaves while its upstream call is under way and the follower is reading the flight.
    await untilUpstreamCalled(prompt);
    await untilFlight('stream', await kvKeyOf('anonymous', prompt), { followers: 1 });
    await leaderRes.body?.cancel();
    abortLeader.abort();
    const body = await (await follower).text();
    expect(text(body)).toContain('leader-leaves');
    const seen = await mockRequests(prompt);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.aborted).toBe(false);
  });

  it('stops the upstream call once the leader and every follower have left', async () => {
    const lonely = `all-leave-${crypto.randomUUID()} [[fault:slow]]`;
    const a = new AbortController();
    const b = new AbortController();
    const first = await ask(lonely, { stream: true }, {}, { signal: a.signal });
    const second = await ask(lonely, { stream: true }, {}, { signal: b.signal });
    await untilUpstreamCalled(lonely);
    await untilFlight('stream', await kvKeyOf('anonymous', lonely), { followers: 1 });
    await first.body?.cancel();
    a.abort();
    await second.body?.cancel();
    b.abort();
    await expectOneAbortedCall(lonely);
  });

  it('a call nobody waits for any more is stopped upstream', async () => {
    const prompt = `call-all-leave-${crypto.randomUUID()} [[fault:hang]]`;
    const a = new AbortController();
    const b = new AbortController();
    const kvKey = await kvKeyOf('anonymous', prompt);
    const first = ask(prompt, {}, {}, { signal: a.signal }).catch((e: unknown) => e);
    await untilUpstreamCalled(prompt);
    const second = ask(prompt, {}, {}, { signal: b.signal }).catch((e: unknown) => e);
    await untilFlight('complete', kvKey, { waiting: 1 });
    a.abort();
    // The object has heard that the leader's client left, and the follower still waits: the
    // upstream call must go on.
    await untilFlight('complete', kvKey, { leaderLeft: true, waiting: 1 });
    expect((await mockRequests(prompt))[0]?.aborted).toBe(false);
    b.abort();
    await Promise.all([first, second]);
    await expectOneAbortedCall(prompt);
  });

  it('followers share the leader’s failure instead of each calling a failing upstream', async () => {
    // A hung upstream (not retried) keeps the flight open until all five have joined it.
    const prompt = `fail-${crypto.randomUUID()} [[fault:hang]]`;
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        postJson(
          '/api/v1/chat/completion',
          { message: prompt, model: MODEL },
          openaiEnv({ PROVIDER_TIMEOUT_MS: '400' }),
        ),
      ),
    );
    for (const r of results) await expectEnvelope(r, 504, 'PROVIDER_TIMEOUT');
    expect(await mockRequests(prompt)).toHaveLength(1);
  });

  it('flights never cross tenants; members of one organization share one', async () => {
    const a = await register();
    const b = await register();
    const prompt = `tenants-${crypto.randomUUID()} [[fault:slow]]`;
    const asOrg = (auth: Record<string, string>) =>
      postJson('/api/v1/chat/stream', { message: prompt, model: MODEL }, openaiEnv({ STREAM_HOLD_MS: '20' }), auth);
    const results = await Promise.all([asOrg(a.auth), asOrg(a.auth), asOrg(b.auth), asOrg(b.auth)]);
    await Promise.all(results.map((r) => r.text()));
    expect(await mockRequests(prompt)).toHaveLength(2);
  });

  it('a cache clear forgets a lingering flight, so the next ask goes upstream', async () => {
    const owner = await register();
    const prompt = `linger-${crypto.randomUUID()}`;
    const asOwner = () =>
      postJson('/api/v1/chat/completion', { message: prompt, model: MODEL }, openaiEnv(), owner.auth);
    expect((await asOwner()).headers.get('x-cache-status')).toBe('MISS');
    await expect.poll(async () => (await asOwner()).headers.get('x-cache-status')).toBe('HIT');
    const cleared = await call('/api/v1/cache/clear', { method: 'DELETE', headers: owner.auth }, openaiEnv());
    expect(((await cleared.json()) as Json).cleared).toBe(1);
    expect((await asOwner()).headers.get('x-cache-status')).toBe('MISS');
    expect(await mockRequests(prompt)).toHaveLength(2);
  });

  it('fails open when the flight object cannot be reached: every request is still answered', async () => {
    const broken = {
      idFromName: () => {
        throw new Error('durable object unavailable');
      },
      get: () => {
        throw new Error('durable object unavailable');
      },
    };
    const prompt = `no-flight-${crypto.randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        postJson(
          '/v1/chat/completions',
          { model: MODEL, stream: i === 2, messages: user(prompt) },
          openaiEnv({ CACHE_FLIGHT: broken }),
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const streamed = await results[2]?.text();
    expect(text(streamed ?? '')).toContain(prompt);
    // Without the meeting point each miss goes upstream on its own (a duplicate, never a failure).
    expect((await mockRequests(prompt)).length).toBeGreaterThanOrEqual(2);
  });
});
