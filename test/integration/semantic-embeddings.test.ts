import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import type { SemanticIndex } from '../../src/features/cache/semantic-index';
import { register } from '../helpers/auth';
import {
  type EnvOverrides,
  call,
  expectEnvelope,
  mockRequests,
  OPENAI_CANARY_KEY,
  openaiEnv,
  postJson,
} from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

type Json = Record<string, unknown>;

const EMBEDDING_MODEL = 'openai:text-embedding-3-small';
const LOCAL_EMBEDDER = 'local-hash-512';
const providerEnv = (extra: EnvOverrides = {}) =>
  openaiEnv({ SEMANTIC_CACHE_EMBEDDING_MODEL: EMBEDDING_MODEL, ...extra });
const chat = (message: string, overrides: EnvOverrides = providerEnv(), headers: Record<string, string> = {}) =>
  postJson('/api/v1/chat/completion', { message, model: 'gpt-4o-mini' }, overrides, headers);

// One word, so it does not dominate either embedder's vector the way a whole UUID would.
const nonce = () => `n${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;

const ASKED = (n: string) => `Suggest a big car ${n}`;
const SYNONYM = (n: string) => `Recommend a large automobile ${n}`;

async function upstreamCalls(n: string) {
  const seen = await mockRequests(n);
  return {
    embeddings: seen.filter((r) => r.path.endsWith('/embeddings')),
    chats: seen.filter((r) => r.path.endsWith('/chat/completions')),
  };
}

// Everything a client can see of a response, to check that no key ever reaches it.
async function visible(res: Response): Promise<string> {
  return `${JSON.stringify([...res.headers])}\n${await res.clone().text()}`;
}

function warnings(spy: { mock: { calls: unknown[][] } }): string[] {
  return spy.mock.calls.map((args) => args.map(String).join(' ')).filter((l) => l.includes('embedding failed'));
}

function indexOf(tenant: string, embedder: string) {
  return env.SEMANTIC_INDEX.get(env.SEMANTIC_INDEX.idFromName(`${tenant}|openai:gpt-4o-mini|${embedder}`));
}

const vectorBytes = (tenant: string, embedder: string) =>
  runInDurableObject(indexOf(tenant, embedder), (_: SemanticIndex, state) =>
    state.storage.sql
      .exec<{ bytes: number }>('SELECT length(vector) AS bytes FROM vectors')
      .toArray()
      .map((r) => r.bytes),
  );

afterEach(() => {
  vi.restoreAllMocks();
});

describe('provider embedder', () => {
  it('matches a synonym rephrasing, calling the configured embedding model with the configured key', async () => {
    const n = nonce();
    const first = await chat(ASKED(n));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const a = (await first.clone().json()) as Json;

    const second = await chat(SYNONYM(n));
    expect(second.headers.get('x-cache-status')).toBe('HIT');
    const score = Number(second.headers.get('x-cache-similarity'));
    expect(score).toBeGreaterThanOrEqual(0.92);
    expect(score).toBeLessThan(1);
    expect((await second.clone().json()) as Json).toMatchObject({
      response: a.response,
      cached: true,
      similarity_score: score,
    });

    const { embeddings, chats } = await upstreamCalls(n);
    expect(chats).toHaveLength(1);
    // One per lookup; the store reused the first lookup's vector instead of embedding again.
    expect(embeddings).toHaveLength(2);
    expect(embeddings.map((r) => r.path)).toEqual(['/v1/embeddings', '/v1/embeddings']);
    expect(embeddings.map((r) => JSON.parse(r.body) as Json)).toEqual([
      { model: 'text-embedding-3-small', input: ASKED(n), encoding_format: 'float' },
      { model: 'text-embedding-3-small', input: SYNONYM(n), encoding_format: 'float' },
    ]);
    for (const r of embeddings) expect(r.headers.authorization).toBe(`Bearer ${OPENAI_CANARY_KEY}`);

    for (const res of [first, second]) expect(await visible(res)).not.toContain(OPENAI_CANARY_KEY);
  });

  it('the local embedder (default config) does not match the same pair', async () => {
    const n = nonce();
    expect((await chat(ASKED(n), openaiEnv())).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(SYNONYM(n), openaiEnv())).headers.get('x-cache-status')).toBe('MISS');
    const { embeddings, chats } = await upstreamCalls(n);
    expect(embeddings).toHaveLength(0);
    expect(chats).toHaveLength(2);
  });

  it('keeps one index per embedder: switching the configuration never compares across them', async () => {
    const owner = await register();
    const tenant = `org:${owner.organizationId}`;
    const n = nonce();
    const first = await chat(ASKED(n), providerEnv(), owner.auth);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const a = (await first.json()) as Json;

    // The local embedder scores these words as identical to the stored prompt, yet it only sees its
    // own (empty) index.
    const local = await chat(`${ASKED(n)}?`, openaiEnv(), owner.auth);
    expect(local.headers.get('x-cache-status')).toBe('MISS');
    const b = (await local.json()) as Json;
    // Its own index does work: the same words again (another exact key) match what it stored.
    const localAgain = await chat(`${ASKED(n)}!`, openaiEnv(), owner.auth);
    expect(localAgain.headers.get('x-cache-status')).toBe('HIT');
    expect(((await localAgain.json()) as Json).response).toBe(b.response);

    // And the provider embedder finds its own vector, not the local one.
    const back = await chat(SYNONYM(n), providerEnv(), owner.auth);
    expect(back.headers.get('x-cache-status')).toBe('HIT');
    expect(((await back.json()) as Json).response).toBe(a.response);

    // 64 float32 from the mock model, 512 from the local embedder, each in its own object.
    expect(await vectorBytes(tenant, EMBEDDING_MODEL)).toEqual([256]);
    expect(await vectorBytes(tenant, LOCAL_EMBEDDER)).toEqual([2048]);
    expect((await upstreamCalls(n)).chats).toHaveLength(2);
  });

  it('never crosses tenants: another organization or the anonymous scope misses the synonym', async () => {
    const a = await register();
    const b = await register();
    const n = nonce();
    expect((await chat(ASKED(n), providerEnv(), a.auth)).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(SYNONYM(n), providerEnv(), b.auth)).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(SYNONYM(n), providerEnv())).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(SYNONYM(n), providerEnv(), a.auth)).headers.get('x-cache-status')).toBe('HIT');
    expect((await upstreamCalls(n)).chats).toHaveLength(3);
  });

  it('embeds at store time when the read was bypassed (Cache-Control: no-cache)', async () => {
    const n = nonce();
    const bypass = await chat(ASKED(n), providerEnv(), { 'cache-control': 'no-cache' });
    expect(bypass.headers.get('x-cache-status')).toBe('BYPASS');
    expect((await upstreamCalls(n)).embeddings).toHaveLength(1);
    expect((await chat(SYNONYM(n))).headers.get('x-cache-status')).toBe('HIT');
  });

  it('stores a streamed answer under the provider vector', async () => {
    const n = nonce();
    const streamed = await postJson(
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: ASKED(n) }] },
      providerEnv(),
    );
    expect(streamed.headers.get('x-cache-status')).toBe('MISS');
    expect(dataFrames(parseSse(await streamed.text())).length).toBeGreaterThan(0);
    await expect.poll(async () => (await chat(SYNONYM(n))).headers.get('x-cache-status')).toBe('HIT');
    expect((await upstreamCalls(n)).chats).toHaveLength(1);
  });

  it('uses an OpenAI-compatible server with its own base URL, never the OpenAI key', async () => {
    const n = nonce();
    const compat = providerEnv({
      SEMANTIC_CACHE_EMBEDDING_MODEL: 'openai-compatible:nomic-embed-text',
      OPENAI_COMPATIBLE_BASE_URL: `${env.MOCK_UPSTREAM_URL}/compat/v1`,
    });
    expect((await chat(ASKED(n), compat)).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(SYNONYM(n), compat)).headers.get('x-cache-status')).toBe('HIT');
    const { embeddings } = await upstreamCalls(n);
    expect(embeddings.map((r) => r.path)).toEqual(['/compat/v1/embeddings', '/compat/v1/embeddings']);
    for (const r of embeddings) {
      expect((JSON.parse(r.body) as Json).model).toBe('nomic-embed-text');
      expect(JSON.stringify(r.headers)).not.toContain(OPENAI_CANARY_KEY);
    }
  });
});

describe('embedding failures', () => {
  it.each([
    ['embed500', 'status'],
    ['embedmalformed', 'malformed-response'],
    ['embeddims', 'malformed-response'],
    ['embedinf', 'malformed-response'],
    ['embedhang', 'timeout'],
  ])('%s: the request still answers 200 MISS, exact caching still works, one warning', async (fault, reason) => {
    const warn = vi.spyOn(console, 'warn');
    const n = nonce();
    const prompt = `${ASKED(n)} [[fault:${fault}]]`;
    const overrides = providerEnv({ SEMANTIC_CACHE_EMBEDDING_TIMEOUT_MS: '300' });
    const started = Date.now();
    const first = await chat(prompt, overrides);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    expect(Date.now() - started).toBeLessThan(5_000);

    const repeat = await chat(prompt, overrides);
    expect(repeat.headers.get('x-cache-status')).toBe('HIT');
    expect(((await repeat.clone().json()) as Json).similarity_score).toBe(1);

    const { embeddings, chats } = await upstreamCalls(n);
    expect(chats).toHaveLength(1);
    // The lookup's failed attempt only: the store adds no vector and does not try again, and the
    // exact hit needs none.
    expect(embeddings).toHaveLength(1);
    if (fault === 'embedhang')
      await expect.poll(async () => (await upstreamCalls(n)).embeddings[0]?.aborted).toBe(true);

    const lines = warnings(warn);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      level: 'warn',
      embedder: EMBEDDING_MODEL,
      reason,
    });
    for (const text of [...lines, await visible(first), await visible(repeat)]) {
      expect(text).not.toContain(OPENAI_CANARY_KEY);
    }
  });
});

describe('semantic index', () => {
  const unit = (dims: number, hot = 0) => Float32Array.from({ length: dims }, (_, i) => (i === hot ? 1 : 0));

  it('keeps vectors of any length and compares only those of the query length', async () => {
    const index = env.SEMANTIC_INDEX.get(env.SEMANTIC_INDEX.idFromName(`test|${crypto.randomUUID()}`));
    const expires = Date.now() + 60_000;
    await index.add('k64', 'ctx', unit(64), expires);
    await index.add('k512', 'ctx', unit(512), expires);
    await index.add('empty', 'ctx', new Float32Array(0), expires);
    expect(await index.nearest('ctx', unit(64))).toEqual({ key: 'k64', score: 1 });
    expect(await index.nearest('ctx', unit(512))).toEqual({ key: 'k512', score: 1 });
    expect(await index.nearest('ctx', unit(128))).toBeNull();
  });
});

describe('embedding configuration', () => {
  const withKey = { OPENAI_API_KEY: OPENAI_CANARY_KEY };

  it('defaults to the local embedder and a 2 s deadline; parses provider:model', () => {
    const defaults = loadConfig({});
    expect(defaults.SEMANTIC_CACHE_EMBEDDING_MODEL).toBeUndefined();
    expect(defaults.SEMANTIC_CACHE_EMBEDDING_TIMEOUT_MS).toBe(2_000);
    expect(loadConfig({ SEMANTIC_CACHE_EMBEDDING_MODEL: ' ' }).SEMANTIC_CACHE_EMBEDDING_MODEL).toBeUndefined();
    expect(
      loadConfig({ ...withKey, SEMANTIC_CACHE_EMBEDDING_MODEL: EMBEDDING_MODEL }).SEMANTIC_CACHE_EMBEDDING_MODEL,
    ).toEqual({
      provider: 'openai',
      model: 'text-embedding-3-small',
    });
    expect(
      loadConfig({
        SEMANTIC_CACHE_EMBEDDING_MODEL: 'ollama:nomic-embed-text:latest',
        OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:11434/v1',
      }).SEMANTIC_CACHE_EMBEDDING_MODEL,
    ).toEqual({ provider: 'openai-compatible', model: 'nomic-embed-text:latest' });
  });

  it.each([
    [
      { SEMANTIC_CACHE_EMBEDDING_MODEL: 'groq:nomic-embed-text', GROQ_API_KEY: 'gsk-test-key' },
      /groq, which has no embeddings API/,
    ],
    [
      { SEMANTIC_CACHE_EMBEDDING_MODEL: 'anthropic:claude-3-5-haiku-latest', ANTHROPIC_API_KEY: 'k' },
      /without an OpenAI-wire/,
    ],
    [{ SEMANTIC_CACHE_EMBEDDING_MODEL: 'bedrock:amazon.titan-embed-text-v2:0' }, /without an OpenAI-wire/],
    [{ SEMANTIC_CACHE_EMBEDDING_MODEL: 'local:hash' }, /without an OpenAI-wire/],
    [{ SEMANTIC_CACHE_EMBEDDING_MODEL: 'mystery:model-x' }, /unknown provider/],
    [{ SEMANTIC_CACHE_EMBEDDING_MODEL: 'text-embedding-3-small', ...withKey }, /must be provider:model/],
    [{ SEMANTIC_CACHE_EMBEDDING_MODEL: 'openai:', ...withKey }, /must be provider:model/],
    [{ SEMANTIC_CACHE_EMBEDDING_MODEL: 'openai:a|b', ...withKey }, /must be provider:model/],
    [{ SEMANTIC_CACHE_EMBEDDING_MODEL: EMBEDDING_MODEL }, /OPENAI_API_KEY is not set/],
    [{ SEMANTIC_CACHE_EMBEDDING_MODEL: 'openai-compatible:nomic-embed-text' }, /OPENAI_COMPATIBLE_BASE_URL is not set/],
  ])('refuses %o', async (vars, message) => {
    expect(() => loadConfig(vars)).toThrowError(ConfigError);
    try {
      loadConfig(vars);
    } catch (err) {
      expect((err as ConfigError).variables).toEqual(['SEMANTIC_CACHE_EMBEDDING_MODEL']);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('model-x');
    }
    const res = await call('/health', {}, vars);
    const body = await expectEnvelope(res, 503, 'SERVICE_UNAVAILABLE');
    expect(body.error.message).toContain('SEMANTIC_CACHE_EMBEDDING_MODEL');
  });

  it('bounds the embedding deadline', async () => {
    const res = await call('/health', {}, { SEMANTIC_CACHE_EMBEDDING_TIMEOUT_MS: '5' });
    expect((await expectEnvelope(res, 503, 'SERVICE_UNAVAILABLE')).error.message).toContain(
      'SEMANTIC_CACHE_EMBEDDING_TIMEOUT_MS',
    );
  });
});

describe('mock embeddings endpoint', () => {
  it('answers base64 (little-endian float32) with the same vector as floats', async () => {
    const ask = async (encoding: string) =>
      (await (
        await fetch(`${env.MOCK_UPSTREAM_URL}/v1/embeddings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', input: ['big car', 'large automobile'], encoding_format: encoding }),
        })
      ).json()) as { data: { index: number; embedding: number[] | string }[] };
    const floats = await ask('float');
    const b64 = await ask('base64');
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    for (const [i, d] of b64.data.entries()) {
      const bytes = Uint8Array.from(atob(d.embedding as string), (c) => c.charCodeAt(0));
      const decoded = [...new Float32Array(bytes.buffer)];
      const expected = floats.data[i]?.embedding as number[];
      expect(decoded).toHaveLength(expected.length);
      decoded.forEach((x, j) => expect(x).toBeCloseTo(expected[j] ?? NaN, 5));
    }
  });
});
