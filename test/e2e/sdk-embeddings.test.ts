// The official `openai` SDK's embeddings.create, unmodified, against Edgeway under wrangler dev. The SDK asks
// for base64 by default and decodes it itself; Edgeway reaches OpenAI at the mock upstream, or embeds locally.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../mock-upstream/server';
import { type DevServer, postJson, startDevServer } from './helpers/dev-server';

let mock: MockUpstream;
let server: DevServer;
let apiKey = '';

beforeAll(async () => {
  mock = await startMockUpstream();
  server = await startDevServer({
    vars: {
      OPENAI_API_KEY: 'sk-e2e-upstream-canary',
      OPENAI_BASE_URL: `${mock.url}/v1`,
      ALLOW_ANONYMOUS: 'false',
    },
  });
  const account = await postJson(server, '/api/v1/auth/register', {
    email: 'sdk-embeddings@example.com',
    password: 'sdk-password-123',
  });
  const created = await postJson(
    server,
    '/api/v1/auth/api-keys',
    { name: 'sdk-embeddings' },
    { authorization: `Bearer ${String(account.access_token)}` },
  );
  apiKey = String(created.key);
});

afterAll(async () => {
  await server?.stop();
  await mock?.close();
});

const openai = (key = apiKey) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const upstream = (text: string) =>
  mock.requests.filter((r) => r.path === '/v1/embeddings' && r.body.includes(text)).map((r) => JSON.parse(r.body));

describe('openai SDK embeddings.create', () => {
  it('default encoding (the SDK asks for base64 and decodes it) equals explicit floats', async () => {
    const decoded = await openai().embeddings.create({ model: 'text-embedding-3-small', input: 'sdk embed one' });
    const plain = await openai().embeddings.create({
      model: 'text-embedding-3-small',
      input: 'sdk embed one',
      encoding_format: 'float',
    });
    expect(decoded.object).toBe('list');
    expect(decoded.model).toBe('text-embedding-3-small');
    const [a] = decoded.data;
    const [b] = plain.data;
    expect(Array.isArray(a?.embedding)).toBe(true);
    expect(a?.embedding).toHaveLength(64);
    expect(a?.embedding).toEqual(b?.embedding);
    expect(decoded.usage.prompt_tokens).toBeGreaterThan(0);
    expect(decoded.usage.total_tokens).toBe(decoded.usage.prompt_tokens);
    // On the wire Edgeway answered the SDK's default request in base64 (the SDK decoded it above).
    const raw = await openai()
      .embeddings.create({ model: 'text-embedding-3-small', input: 'sdk embed one' })
      .asResponse();
    const wire = (await raw.json()) as { data: { embedding: unknown }[] };
    expect(typeof wire.data[0]?.embedding).toBe('string');
    // Edgeway asked upstream in floats with its own key, whatever the client's encoding.
    const seen = mock.requests.filter((r) => r.path === '/v1/embeddings' && r.body.includes('sdk embed one'));
    expect(seen).toHaveLength(3);
    for (const r of seen) {
      expect(JSON.parse(r.body)).toMatchObject({ encoding_format: 'float' });
      expect(r.headers.authorization).toBe('Bearer sk-e2e-upstream-canary');
    }
  });

  it('an array input: one vector per input, in order', async () => {
    const res = await openai().embeddings.create({
      model: 'text-embedding-3-small',
      input: ['sdk batch first', 'sdk batch second', 'sdk batch third'],
    });
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const alone = await openai().embeddings.create({ model: 'text-embedding-3-small', input: 'sdk batch second' });
    expect(res.data[1]?.embedding).toEqual(alone.data[0]?.embedding);
    expect(upstream('sdk batch first')[0]).toMatchObject({
      input: ['sdk batch first', 'sdk batch second', 'sdk batch third'],
    });
  });

  it('dimensions: through OpenAI and through the local embedder, unit length, base64 and float alike', async () => {
    const short = await openai().embeddings.create({
      model: 'text-embedding-3-small',
      input: 'sdk short vector',
      dimensions: 16,
    });
    expect(short.data[0]?.embedding).toHaveLength(16);
    expect(norm(short.data[0]?.embedding ?? [])).toBeCloseTo(1, 5);

    const local = await openai().embeddings.create({
      model: 'edgeway-embed',
      input: ['local one', 'local two'],
      dimensions: 256,
    });
    const localFloats = await openai().embeddings.create({
      model: 'edgeway-embed',
      input: ['local one', 'local two'],
      dimensions: 256,
      encoding_format: 'float',
    });
    expect(local.model).toBe('edgeway-embed');
    expect(local.data.map((d) => d.embedding.length)).toEqual([256, 256]);
    for (const d of local.data) expect(norm(d.embedding)).toBeCloseTo(1, 5);
    expect(local.data.map((d) => d.embedding)).toEqual(localFloats.data.map((d) => d.embedding));
  });

  it('errors reach the SDK as its own error classes', async () => {
    const bad = openai('ew_not_a_key').embeddings.create({ model: 'edgeway-embed', input: 'x' });
    await expect(bad).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const chatModel = openai().embeddings.create({ model: 'gpt-4o-mini', input: 'x' });
    await expect(chatModel).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(chatModel).rejects.toMatchObject({ status: 400, code: 'validation_error', param: 'model' });
    const tokens = openai().embeddings.create({ model: 'edgeway-embed', input: [1, 2, 3] });
    await expect(tokens).rejects.toMatchObject({ status: 400, param: 'input' });
  });
});
