import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { hashEmbed } from '../../src/features/embeddings';
import { createApiKey, register } from '../helpers/auth';
import { waitForRequestRow } from '../helpers/db';
import { call, type EnvOverrides, mockRequests, OPENAI_CANARY_KEY, openaiEnv, postJson } from '../helpers/http';

// POST /v1/embeddings (docs/design/embeddings.md): the OpenAI wire, routed like chat to the local hashing
// embedder, OpenAI and OpenAI-compatible servers (the mock upstream), admitted, limited and logged like chat.

type Json = Record<string, unknown>;
interface EmbeddingsAnswer {
  object: string;
  data: { object: string; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

const embed = (body: unknown, overrides?: EnvOverrides, headers: Record<string, string> = {}) =>
  postJson('/v1/embeddings', body, overrides, headers);

const nonce = () => `n${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;

async function ok(res: Response): Promise<EmbeddingsAnswer> {
  const text = await res.text();
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status} ${text}`);
  return JSON.parse(text) as EmbeddingsAnswer;
}

// The OpenAI SDK's error shape (what the /v1 surface answers), never the platform envelope, never a 500.
async function openaiError(res: Response, status: number, code: string): Promise<OpenAIErrorBody['error']> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status} ${text}`);
  const body = JSON.parse(text) as OpenAIErrorBody;
  expect(body.error).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  return body.error;
}

const floats = (e: number[] | string): number[] => {
  if (typeof e !== 'string') return e;
  const bytes = Uint8Array.from(atob(e), (ch) => ch.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  return Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
};
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const vectors = (a: EmbeddingsAnswer) => a.data.map((d) => floats(d.embedding));

describe('local embedder (edgeway-embed)', () => {
  it('is deterministic, 512 unit-length dimensions by default, the same vectors as the semantic cache', async () => {
    const text = `A deterministic sentence about trains ${nonce()}`;
    const a = await ok(await embed({ model: 'edgeway-embed', input: text }));
    const b = await ok(await embed({ model: 'local:edgeway-embed', input: text }));
    expect(a).toMatchObject({ object: 'list', model: 'edgeway-embed' });
    expect(a.data).toHaveLength(1);
    expect(a.data[0]).toMatchObject({ object: 'embedding', index: 0 });
    const [v] = vectors(a);
    expect(v).toHaveLength(512);
    expect(norm(v ?? [])).toBeCloseTo(1, 5);
    expect(vectors(b)).toEqual(vectors(a));
    // The float32 values the hashing embedder computes, exactly (the cache's local embedder at 512).
    expect(v).toEqual(Array.from(hashEmbed(text, 512)));
    expect(a.usage.prompt_tokens).toBeGreaterThan(0);
    expect(a.usage.total_tokens).toBe(a.usage.prompt_tokens);
    const other = vectors(await ok(await embed({ model: 'edgeway-embed', input: `Something else ${nonce()}` })));
    expect(other[0]).not.toEqual(v);
  });

  it('honours dimensions: a normalized vector of exactly that size', async () => {
    for (const dimensions of [1, 64, 3072]) {
      const answer = await ok(await embed({ model: 'edgeway-embed', input: 'size me', dimensions }));
      const [v] = vectors(answer);
      expect(v).toHaveLength(dimensions);
      expect(norm(v ?? [])).toBeCloseTo(1, 5);
    }
    const err = await openaiError(
      await embed({ model: 'edgeway-embed', input: 'too big', dimensions: 3073 }),
      400,
      'validation_error',
    );
    expect(err.param).toBe('dimensions');
  });

  it('answers base64 (little-endian float32) that decodes to the same floats, one per input in order', async () => {
    const input = ['first text', 'second text', 'third text'];
    const asFloats = await ok(await embed({ model: 'edgeway-embed', input, encoding_format: 'float' }));
    const asBase64 = await ok(
      await embed({ model: 'edgeway-embed', input, encoding_format: 'base64', dimensions: 512 }),
    );
    expect(asFloats.data.map((d) => d.index)).toEqual([0, 1, 2]);
    for (const d of asBase64.data) expect(typeof d.embedding).toBe('string');
    expect(vectors(asBase64)).toEqual(vectors(asFloats));
    // Each input's vector is its own: the same as embedding it alone.
    const alone = await ok(await embed({ model: 'edgeway-embed', input: 'second text' }));
    expect(vectors(asFloats)[1]).toEqual(vectors(alone)[0]);
  });
});

describe('OpenAI and OpenAI-compatible upstreams (mock, OpenAI wire)', () => {
  it('embeds through OpenAI with the configured key, in floats, the vectors as the model sent them', async () => {
    const n = nonce();
    const single = await ok(await embed({ model: 'text-embedding-3-small', input: `car ${n}` }, openaiEnv()));
    const batch = await ok(
      await embed({ model: 'openai:text-embedding-3-small', input: [`big ${n}`, `car ${n}`] }, openaiEnv()),
    );
    expect(single.model).toBe('text-embedding-3-small');
    expect(vectors(single)[0]).toHaveLength(64);
    expect(batch.data.map((d) => d.index)).toEqual([0, 1]);
    expect(vectors(batch)[1]).toEqual(vectors(single)[0]);
    const seen = (await mockRequests(n)).filter((r) => r.path === '/v1/embeddings');
    expect(seen.map((r) => JSON.parse(r.body) as Json)).toEqual([
      { model: 'text-embedding-3-small', input: `car ${n}`, encoding_format: 'float' },
      { model: 'text-embedding-3-small', input: [`big ${n}`, `car ${n}`], encoding_format: 'float' },
    ]);
    for (const r of seen) expect(r.headers.authorization).toBe(`Bearer ${OPENAI_CANARY_KEY}`);
    const base64 = await ok(
      await embed({ model: 'text-embedding-3-small', input: `car ${n}`, encoding_format: 'base64' }, openaiEnv()),
    );
    expect(vectors(base64)).toEqual(vectors(single));
  });

  it('answers `dimensions` shorter than the model gives: the first values, back at unit length', async () => {
    // Many words, so that the mock model's first 16 values are not all zero (its vectors are sparse).
    const text =
      'the quick brown fox jumps over seven lazy dogs while wizards quietly hex bold jackals near twelve purple mountains under silver rain';
    const full = vectors(await ok(await embed({ model: 'text-embedding-3-small', input: text }, openaiEnv())))[0];
    const head = (full ?? []).slice(0, 16);
    const scale = norm(head);
    expect(scale).toBeGreaterThan(0);
    expect(Math.abs(scale - 1)).toBeGreaterThan(0.01);
    const short = vectors(
      await ok(await embed({ model: 'text-embedding-3-small', input: text, dimensions: 16 }, openaiEnv())),
    )[0];
    expect(short).toHaveLength(16);
    expect(norm(short ?? [])).toBeCloseTo(1, 5);
    short?.forEach((x, i) => expect(x).toBeCloseTo((head[i] ?? 0) / scale, 5));
    // More than the model has cannot be made up: refused when the catalogue knows its size (1,536)...
    await openaiError(
      await embed({ model: 'text-embedding-3-small', input: 'x', dimensions: 1537 }, openaiEnv()),
      400,
      'validation_error',
    );
    // ...and an upstream answer shorter than asked (the mock model has 64) is the upstream's failure.
    await openaiError(
      await embed({ model: 'text-embedding-3-small', input: 'x', dimensions: 100 }, openaiEnv()),
      502,
      'provider_error',
    );
  });

  it('embeds through an OpenAI-compatible server at its own base URL, without the OpenAI key', async () => {
    const n = nonce();
    const compat = openaiEnv({ OPENAI_COMPATIBLE_BASE_URL: `${env.MOCK_UPSTREAM_URL}/compat/v1` });
    const answer = await ok(
      await embed({ model: 'openai-compatible:nomic-embed-text', input: [`one ${n}`, `two ${n}`] }, compat),
    );
    expect(answer.model).toBe('nomic-embed-text');
    expect(vectors(answer).map((v) => v.length)).toEqual([64, 64]);
    const seen = await mockRequests(n);
    expect(seen.map((r) => r.path)).toEqual(['/compat/v1/embeddings']);
    expect(seen[0]?.headers.authorization).toBeUndefined();
    // An uncatalogued model has no known way to be shortened: refused, not truncated blindly.
    const err = await openaiError(
      await embed({ model: 'openai-compatible:nomic-embed-text', input: 'x', dimensions: 8 }, compat),
      400,
      'validation_error',
    );
    expect(err.param).toBe('dimensions');
  });

  it.each([
    ['embed500', 502, 'provider_error'],
    ['embedmalformed', 502, 'provider_error'],
    ['embeddims', 502, 'provider_error'],
    ['embedinf', 502, 'provider_error'],
  ])('maps the upstream fault %s to %i %s', async (fault, status, code) => {
    const res = await embed(
      { model: 'text-embedding-3-small', input: [`ok ${nonce()}`, `[[fault:${fault}]]`] },
      openaiEnv(),
    );
    const err = await openaiError(res, status, code);
    expect(err.type).toBe('api_error');
  });

  it('gives up on a hung upstream at EMBEDDINGS_TIMEOUT_MS: 504', async () => {
    const started = Date.now();
    const res = await embed(
      { model: 'text-embedding-3-small', input: `[[fault:embedhang]] ${nonce()}` },
      openaiEnv({ EMBEDDINGS_TIMEOUT_MS: '300' }),
    );
    await openaiError(res, 504, 'provider_timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers 503 when the provider is not configured on this deployment', async () => {
    await openaiError(await embed({ model: 'text-embedding-3-small', input: 'x' }), 503, 'service_unavailable');
  });
});

describe('admission: auth, rate limit, quota, request log', () => {
  it('needs credentials where anonymous calls are off, and refuses a bad key, in the OpenAI shape', async () => {
    const off = { ALLOW_ANONYMOUS: 'false' };
    const missing = await openaiError(
      await embed({ model: 'edgeway-embed', input: 'x' }, off),
      401,
      'authentication_required',
    );
    expect(missing.type).toBe('authentication_error');
    await openaiError(
      await embed({ model: 'edgeway-embed', input: 'x' }, undefined, { authorization: 'Bearer ew_not_a_real_key' }),
      401,
      'authentication_required',
    );
    const owner = await register();
    const key = await createApiKey(owner);
    const res = await embed({ model: 'edgeway-embed', input: 'x' }, off, { authorization: `Bearer ${key.key}` });
    expect(res.status).toBe(200);
  });

  it("counts against the client's rate limit like any /v1 call", async () => {
    const limits = { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PER_MINUTE: '1', RATE_LIMIT_BURST: '3' };
    const headers = { 'cf-connecting-ip': `2001:db8:e:${crypto.randomUUID().slice(0, 4)}::1` };
    const statuses: number[] = [];
    const remaining: (string | null)[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await embed({ model: 'edgeway-embed', input: `limited ${i}` }, limits, headers);
      statuses.push(last.status);
      remaining.push(last.headers.get('x-ratelimit-remaining'));
      if (i < 3) await last.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(remaining.slice(0, 3)).toEqual(['2', '1', '0']);
    const err = await openaiError(last as Response, 429, 'rate_limit_exceeded');
    expect(err.type).toBe('rate_limit_error');
  });

  it("spends the organization's quota, and is refused once it is used up", async () => {
    const owner = await register();
    await env.DB.prepare(
      'UPDATE organizations SET api_quota_limit = 1, api_quota_used = 0, quota_period = ? WHERE id = ?',
    )
      .bind(new Date().toISOString().slice(0, 7), owner.organizationId)
      .run();
    expect((await embed({ model: 'edgeway-embed', input: 'one' }, undefined, owner.auth)).status).toBe(200);
    const err = await openaiError(
      await embed({ model: 'edgeway-embed', input: 'two' }, undefined, owner.auth),
      429,
      'quota_exceeded',
    );
    expect(err.type).toBe('insufficient_quota');
    const org = (await (await call('/api/v1/organizations/current', { headers: owner.auth })).json()) as Json;
    expect(org).toMatchObject({ api_quota_limit: 1, api_quota_used: 1 });
  });

  it('records each call in the request log with its own dialect, usage and cost; failures too', async () => {
    const owner = await register();
    const n = nonce();
    const res = await embed(
      { model: 'text-embedding-3-large', input: [`alpha ${n}`, `beta ${n}`] },
      openaiEnv(),
      owner.auth,
    );
    const answer = await ok(res);
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({
      dialect: 'openai-embeddings',
      user_id: owner.userId,
      organization_id: owner.organizationId,
      model: 'text-embedding-3-large',
      provider: 'openai',
      status: 'completed',
      error_code: null,
      prompt_tokens: answer.usage.prompt_tokens,
      completion_tokens: 0,
      total_tokens: answer.usage.prompt_tokens,
      stream: 0,
      text: `alpha ${n}\nbeta ${n}`,
      response: '2 embeddings of 64 dimensions',
    });
    expect(row.cost_usd).toBeCloseTo((answer.usage.prompt_tokens * 0.00013) / 1000, 12);

    const failed = await embed(
      { model: 'text-embedding-3-small', input: `[[fault:embed500]] ${n}` },
      openaiEnv(),
      owner.auth,
    );
    await openaiError(failed, 502, 'provider_error');
    expect(await waitForRequestRow(failed.headers.get('x-request-id') ?? '')).toMatchObject({
      dialect: 'openai-embeddings',
      status: 'failed',
      error_code: 'PROVIDER_ERROR',
      provider: 'openai',
      model: 'text-embedding-3-small',
      cost_usd: 0,
    });
  });
});

describe('input validation: 400/413 in the OpenAI shape, never 500', () => {
  const raw = (body: string, overrides?: EnvOverrides) =>
    call('/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body }, overrides);

  it.each([
    ['malformed JSON', '{"model": "edgeway-embed", "input": '],
    ['a JSON array body', '[1, 2]'],
    ['no model', '{"input": "x"}'],
    ['no input', '{"model": "edgeway-embed"}'],
    ['a number as input', '{"model": "edgeway-embed", "input": 5}'],
    ['an empty array', '{"model": "edgeway-embed", "input": []}'],
    ['an empty string', '{"model": "edgeway-embed", "input": ""}'],
    ['a blank item', '{"model": "edgeway-embed", "input": ["ok", "  "]}'],
    ['mixed items', '{"model": "edgeway-embed", "input": ["ok", {"text": "x"}]}'],
    ['an unknown encoding', '{"model": "edgeway-embed", "input": "x", "encoding_format": "hex"}'],
    ['zero dimensions', '{"model": "edgeway-embed", "input": "x", "dimensions": 0}'],
    ['fractional dimensions', '{"model": "edgeway-embed", "input": "x", "dimensions": 1.5}'],
  ])('refuses %s with 400', async (_name, body) => {
    await openaiError(await raw(body), 400, 'validation_error');
  });

  it('refuses token arrays with a clear 400: no embedder here has their tokenizer', async () => {
    for (const input of [
      [1, 2, 3],
      [
        [1, 2],
        [3, 4],
      ],
    ]) {
      const err = await openaiError(await embed({ model: 'edgeway-embed', input }), 400, 'validation_error');
      expect(err.message).toMatch(/token arrays are not supported/i);
      expect(err.param).toBe('input');
    }
  });

  it('holds the limits: inputs a request (400), tokens an input (400), tokens a request (413), body size (413)', async () => {
    const err = await openaiError(
      await embed({ model: 'edgeway-embed', input: ['a', 'b', 'c'] }, { EMBEDDINGS_MAX_INPUTS: '2' }),
      400,
      'validation_error',
    );
    expect(err.message).toMatch(/at most 2 inputs/i);
    const tooLong = await openaiError(
      await embed({ model: 'edgeway-embed', input: ['short', 'x'.repeat(100)] }, { EMBEDDINGS_MAX_INPUT_TOKENS: '10' }),
      400,
      'validation_error',
    );
    expect(tooLong.param).toBe('input.1');
    await openaiError(
      await embed(
        { model: 'edgeway-embed', input: ['x'.repeat(40), 'y'.repeat(40)] },
        { EMBEDDINGS_MAX_TOTAL_TOKENS: '15' },
      ),
      413,
      'payload_too_large',
    );
    await openaiError(
      await embed({ model: 'edgeway-embed', input: 'z'.repeat(4_000) }, { MAX_BODY_BYTES: '2048' }),
      413,
      'payload_too_large',
    );
    // OpenAI's own cap on inputs holds whatever the configuration says.
    await openaiError(
      await embed({ model: 'edgeway-embed', input: Array.from({ length: 2049 }, () => 'w') }),
      400,
      'validation_error',
    );
    // The local embedder's answer is bounded too: 2,048 inputs of 3,072 dimensions would be 6 M numbers.
    await openaiError(
      await embed({ model: 'edgeway-embed', input: Array.from({ length: 2048 }, () => 'w'), dimensions: 3072 }),
      413,
      'payload_too_large',
    );
  });
});

describe('models', () => {
  it.each([
    ['an unknown model', 'no-such-embedder', /unknown model/i],
    ['a chat model', 'gpt-4o-mini', /chat model, not an embedding model/i],
    ['a chat model by provider:model', 'anthropic:claude-3-5-haiku-latest', /chat model/i],
    ['a vendor without an embeddings API', 'groq:some-embedder', /no embeddings API/i],
    ['another local model', 'local:edgeway-local', /chat model/i],
    ['an unknown local model', 'local:other-embedder', /embeds only with 'edgeway-embed'/i],
  ])('refuses %s with 400', async (_name, model, message) => {
    const err = await openaiError(await embed({ model, input: 'x' }, openaiEnv()), 400, 'validation_error');
    expect(err.param).toBe('model');
    expect(err.message).toMatch(message);
  });

  it.each([
    ['/v1/chat/completions', 'text-embedding-3-small'],
    ['/v1/chat/completions', 'edgeway-embed'],
    ['/api/v1/chat/completion', 'local:edgeway-embed'],
  ])('a chat call (%s) to an embedding model (%s) is refused with 400 naming /v1/embeddings', async (path, model) => {
    const n = nonce();
    const body =
      path === '/api/v1/chat/completion' ? { message: n, model } : { model, messages: [{ role: 'user', content: n }] };
    const res = await postJson(path, body, openaiEnv());
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(text).toMatch(/embedding model: use POST \/v1\/embeddings/);
    expect(await mockRequests(n)).toEqual([]);
  });

  it('lists the embedding models in GET /v1/models and marks them in the catalogue', async () => {
    const list = (await (await call('/v1/models')).json()) as { data: { id: string; owned_by: string }[] };
    expect(list.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'text-embedding-3-small', owned_by: 'openai' }),
        expect.objectContaining({ id: 'text-embedding-3-large', owned_by: 'openai' }),
        expect.objectContaining({ id: 'edgeway-embed', owned_by: 'local' }),
      ]),
    );
    const models = (await (await call('/api/v1/models')).json()) as { id: string; capabilities: string[] }[];
    const embedders = models.filter((m) => m.capabilities.includes('embedding')).map((m) => m.id);
    expect(embedders.sort()).toEqual(['edgeway-embed', 'text-embedding-3-large', 'text-embedding-3-small']);
    for (const m of models.filter((x) => x.capabilities.includes('embedding'))) {
      expect(m.capabilities).not.toContain('chat');
    }
  });
});
