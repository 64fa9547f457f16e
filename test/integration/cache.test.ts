import { env } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { memberOf, register } from '../helpers/auth';
import { call, expectEnvelope, mockRequests, openaiEnv, postJson } from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

type Json = Record<string, unknown>;
const chat = (message: string, overrides = openaiEnv(), headers: Record<string, string> = {}, extra: Json = {}) =>
  postJson('/api/v1/chat/completion', { message, model: 'gpt-4o-mini', ...extra }, overrides, headers);

// Seed 002's chat completion answer (/work/shared seeds/002, "Chat Completion"): every field, with its
// type; request_id is this request's own (the X-Request-ID header), timestamps ISO 8601 with ms (API.md).
async function seed002Answer(res: Response): Promise<Json> {
  const body = (await res.json()) as Json;
  expect(body).toEqual({
    ...body,
    response: expect.any(String),
    model: expect.any(String),
    request_id: res.headers.get('x-request-id'),
    timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    cached: expect.any(Boolean),
    cache_key: expect.any(String),
    similarity_score: body.similarity_score === null ? null : expect.any(Number),
    usage: {
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
      total_tokens: expect.any(Number),
    },
  });
  const usage = body.usage as Record<string, number>;
  expect(usage.total_tokens).toBe((usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0));
  return body;
}

describe('exact cache', () => {
  it('answers a repeated request from KV without calling upstream, with seed 002 fields', async () => {
    const nonce = `exact-${crypto.randomUUID()}`;
    const first = await chat(nonce);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const a = await seed002Answer(first);
    expect(a).toMatchObject({ response: `Mock answer to: ${nonce}`, cached: false, similarity_score: null });
    // The store happens after the answer (waitUntil); wait for it to land.
    await expect.poll(async () => (await chat(nonce)).headers.get('x-cache-status')).toBe('HIT');
    const hit = await chat(nonce);
    const b = await seed002Answer(hit);
    expect(b).toMatchObject({
      response: a.response,
      model: a.model,
      cached: true,
      cache_key: a.cache_key,
      similarity_score: 1,
    });
    expect(await mockRequests(nonce)).toHaveLength(1);
    await expect
      .poll(async () =>
        env.DB.prepare('SELECT cache_status FROM requests WHERE request_id = ?')
          .bind(hit.headers.get('x-request-id'))
          .first(),
      )
      .toEqual({ cache_status: 'HIT' });
  });

  it('never crosses tenants: another organization and anonymous callers miss', async () => {
    const nonce = `tenant-${crypto.randomUUID()}`;
    const a = await register();
    const b = await register();
    expect((await chat(nonce, openaiEnv(), a.auth)).headers.get('x-cache-status')).toBe('MISS');
    await expect.poll(async () => (await chat(nonce, openaiEnv(), a.auth)).headers.get('x-cache-status')).toBe('HIT');
    expect((await chat(nonce, openaiEnv(), b.auth)).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(nonce)).headers.get('x-cache-status')).toBe('MISS');
    // Members of the same organization share its cache.
    const colleague = await memberOf(a, 'member');
    expect((await chat(nonce, openaiEnv(), colleague.auth)).headers.get('x-cache-status')).toBe('HIT');
  });

  it('honours Cache-Control: no-cache (bypass the read) and no-store (do not keep)', async () => {
    const nonce = `cc-${crypto.randomUUID()}`;
    await chat(nonce);
    await expect.poll(async () => (await chat(nonce)).headers.get('x-cache-status')).toBe('HIT');
    const bypass = await chat(nonce, openaiEnv(), { 'cache-control': 'no-cache' });
    expect(bypass.headers.get('x-cache-status')).toBe('BYPASS');
    expect(((await bypass.json()) as Json).cached).toBe(false);
    const upstreamCalls = (await mockRequests(nonce)).length;
    expect(upstreamCalls).toBe(2);

    const other = `nostore-${crypto.randomUUID()}`;
    expect((await chat(other, openaiEnv(), { 'cache-control': 'no-store' })).headers.get('x-cache-status')).toBe(
      'MISS',
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await chat(other, openaiEnv(), { 'cache-control': 'no-store' })).headers.get('x-cache-status')).toBe(
      'MISS',
    );
    expect(await mockRequests(other)).toHaveLength(2);
  });

  it('sets the configured TTL on stored answers', async () => {
    const owner = await register();
    const prefix = `rc:org:${owner.organizationId}:`;
    await chat(`ttl-${crypto.randomUUID()}`, openaiEnv({ CACHE_TTL_SECONDS: '120' }), owner.auth);
    await expect.poll(async () => (await env.CACHE.list({ prefix })).keys.length).toBeGreaterThan(0);
    const { keys } = await env.CACHE.list({ prefix });
    const now = Date.now() / 1000;
    for (const k of keys) {
      expect(k.expiration).toBeGreaterThan(now + 100);
      expect(k.expiration).toBeLessThanOrEqual(now + 121);
    }
  });
});

describe('cache expiry', () => {
  it('stops answering from an entry once its TTL has passed', async () => {
    const nonce = `expire-${crypto.randomUUID()}`;
    const ttl = openaiEnv({ CACHE_TTL_SECONDS: '60' });
    await chat(nonce, ttl);
    await expect.poll(async () => (await chat(nonce, ttl)).headers.get('x-cache-status')).toBe('HIT');
    // The worker and its Durable Objects run in this isolate: moving Date moves their clock.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 61_000);
      expect((await chat(nonce, ttl)).headers.get('x-cache-status')).toBe('MISS');
    } finally {
      vi.useRealTimers();
    }
    expect(await mockRequests(nonce)).toHaveLength(2);
  });
});

describe('semantic cache', () => {
  it('answers a rephrased prompt with its similarity score, within the same tenant and model', async () => {
    const first = await chat('What is the capital city of France?');
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    await expect
      .poll(async () => (await chat('What is the capital city of France?')).headers.get('x-cache-status'))
      .toBe('HIT');
    const near = await chat('Tell me the capital city of France');
    expect(near.headers.get('x-cache-status')).toBe('HIT');
    const score = Number(near.headers.get('x-cache-similarity'));
    expect(score).toBeGreaterThanOrEqual(0.92);
    expect(score).toBeLessThan(1);
    expect((await near.json()) as Json).toMatchObject({ cached: true, similarity_score: score });
    // A different question, a stricter threshold, another model or a hot temperature: no semantic hit.
    expect((await chat('What is the capital city of Germany?')).headers.get('x-cache-status')).toBe('MISS');
    expect(
      (
        await chat('Tell me the capital city of France', openaiEnv(), { 'x-cache-similarity-threshold': '0.999' })
      ).headers.get('x-cache-status'),
    ).toBe('MISS');
    expect(
      (await chat('Tell me the capital city of France', openaiEnv(), {}, { model: 'gpt-4o' })).headers.get(
        'x-cache-status',
      ),
    ).toBe('MISS');
    expect(
      (
        await chat(
          'Tell me the capital city of France',
          openaiEnv({ SEMANTIC_CACHE_MAX_TEMPERATURE: '0.5' }),
          {},
          { temperature: 0.9 },
        )
      ).headers.get('x-cache-status'),
    ).toBe('MISS');
  });

  it('rejects a malformed threshold', async () => {
    await expectEnvelope(
      await chat('x', openaiEnv(), { 'x-cache-similarity-threshold': '2' }),
      400,
      'VALIDATION_ERROR',
    );
  });
});

describe('streams and the cache', () => {
  it('caches a streamed answer and replays a hit as a stream in the asking dialect', async () => {
    const nonce = `stream-${crypto.randomUUID()}`;
    const first = await postJson(
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: nonce }] },
      openaiEnv(),
    );
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const text = (frames: unknown[]) =>
      (frames as { choices?: { delta?: { content?: string } }[] }[])
        .map((c) => c.choices?.[0]?.delta?.content ?? '')
        .join('');
    const original = text(dataFrames(parseSse(await first.text())));
    await expect.poll(async () => (await chat(nonce)).headers.get('x-cache-status')).toBe('HIT');
    const replay = await postJson(
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: nonce }] },
      openaiEnv(),
    );
    expect(replay.headers.get('x-cache-status')).toBe('HIT');
    const body = await replay.text();
    expect(text(dataFrames(parseSse(body)))).toBe(original);
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await mockRequests(nonce)).toHaveLength(1);
  });
});

describe('single-flight', () => {
  it('20 concurrent identical requests make one upstream call', async () => {
    const nonce = `flight-${crypto.randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => chat(nonce)));
    const bodies = (await Promise.all(results.map((r) => r.json()))) as Json[];
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(bodies.map((b) => b.response)).size).toBe(1);
    expect(await mockRequests(nonce)).toHaveLength(1);
  });

  it('20 concurrent identical streams make one upstream call and all get the whole stream', async () => {
    const nonce = `sflight-${crypto.randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        postJson(
          '/api/v1/chat/stream',
          { message: `${nonce} [[fault:slow]]`, model: 'gpt-4o-mini' },
          openaiEnv({ STREAM_HOLD_MS: '50' }),
        ),
      ),
    );
    const texts = await Promise.all(
      results.map(async (r) => (dataFrames(parseSse(await r.text())) as Json[]).map((f) => f.chunk ?? '').join('')),
    );
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toContain(nonce);
    expect(await mockRequests(nonce)).toHaveLength(1);
  });
});

describe('cache administration', () => {
  it('reports stats that add up, evicts beyond the budget, warms and clears by pattern', async () => {
    const owner = await register();
    const env2 = openaiEnv({ CACHE_MAX_BYTES: '2500', SEMANTIC_CACHE_ENABLED: 'false' });
    for (let i = 0; i < 6; i++) await chat(`budget prompt number ${i} ${'x'.repeat(200)}`, env2, owner.auth);
    await expect
      .poll(
        async () =>
          ((await (await call('/api/v1/cache/stats', { headers: owner.auth }, env2)).json()) as Json)
            .evictions as number,
      )
      .toBeGreaterThan(0);
    const stats = (await (await call('/api/v1/cache/stats', { headers: owner.auth }, env2)).json()) as Json;
    expect(stats).toMatchObject({ hits: 0, misses: 6, total_requests: 6, hit_rate: 0 });
    expect(stats.cache_size_bytes as number).toBeLessThanOrEqual(2500);
    expect(stats.memory_usage_percent as number).toBeLessThanOrEqual(100);
    expect(stats.last_eviction).toEqual(expect.any(String));
    expect(stats.cache_size_human).toMatch(/B$/);

    // Clear by pattern removes only matching answers.
    const env3 = openaiEnv({ SEMANTIC_CACHE_ENABLED: 'false' });
    await chat('greeting: hello there', env3, owner.auth);
    await chat('farewell: goodbye now', env3, owner.auth);
    await expect
      .poll(async () => (await chat('greeting: hello there', env3, owner.auth)).headers.get('x-cache-status'))
      .toBe('HIT');
    await expect
      .poll(async () => (await chat('farewell: goodbye now', env3, owner.auth)).headers.get('x-cache-status'))
      .toBe('HIT');
    const cleared = (await (
      await call('/api/v1/cache/clear?pattern=greeting', { method: 'DELETE', headers: owner.auth }, env3)
    ).json()) as Json;
    expect(cleared).toEqual({ cleared: 1, pattern: 'greeting' });
    expect((await chat('farewell: goodbye now', env3, owner.auth)).headers.get('x-cache-status')).toBe('HIT');

    // Warm: the most frequent past prompts that match are answered into the cache again.
    await call('/api/v1/cache/clear', { method: 'DELETE', headers: owner.auth }, env3);
    const warmed = (await (
      await postJson(
        '/api/v1/cache/warm',
        { patterns: ['greeting'], models: ['gpt-4o-mini'], limit: 5 },
        env3,
        owner.auth,
      )
    ).json()) as Json;
    expect(warmed).toMatchObject({ warmed: 1, already_cached: 0, failed: 0, prompts: ['greeting: hello there'] });
    await expect
      .poll(async () => (await chat('greeting: hello there', env3, owner.auth)).headers.get('x-cache-status'))
      .toBe('HIT');
    expect((await chat('farewell: goodbye now', env3, owner.auth)).headers.get('x-cache-status')).toBe('MISS');
  });

  it('needs manager or above to warm or clear', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    await expectEnvelope(
      await postJson('/api/v1/cache/warm', { patterns: ['x'] }, undefined, member.auth),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    await expectEnvelope(
      await call('/api/v1/cache/clear', { method: 'DELETE', headers: member.auth }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    expect((await call('/api/v1/cache/stats', { headers: member.auth })).status).toBe(200);
  });
});
