import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApiKey, register } from '../helpers/auth';
import { waitForRequestRow } from '../helpers/db';
import { type EnvOverrides, expectEnvelope, mockRequests, openaiEnv, postJson } from '../helpers/http';

type Json = Record<string, unknown>;

const BASE = '/api/v1/prompt_compiler';
const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

const anthropicEnv = (): EnvOverrides => ({
  ANTHROPIC_API_KEY: 'sk-ant-compiler-canary',
  ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL,
});

const bedrockEnv = (): EnvOverrides => ({
  AWS_ACCESS_KEY_ID: 'AKIDCOMPILER',
  AWS_SECRET_ACCESS_KEY: 'compiler-secret-key',
  AWS_REGION: 'us-east-1',
  BEDROCK_BASE_URL: env.MOCK_UPSTREAM_URL,
});

// The same tests in each vendor's wire: the model the prompt is compiled for also answers.
const WIRES = [
  { wire: 'openai', model: 'gpt-4o-mini', env: () => openaiEnv(), path: '/v1/chat/completions' },
  { wire: 'anthropic', model: 'claude-3-5-haiku-latest', env: anthropicEnv, path: '/v1/messages' },
  {
    wire: 'bedrock',
    model: 'anthropic.claude-3-haiku-20240307-v1:0',
    env: bedrockEnv,
    path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse',
  },
] as const;

const RESTAURANT_PARAMETERS = {
  parameters: [
    { name: 'location', title: 'Location', description: 'City or area', type: 'string', required: true },
    {
      name: 'cuisine',
      title: 'Cuisine',
      description: 'Kind of food',
      type: 'string',
      enum: ['italian', 'japanese', 'mexican'],
    },
    {
      name: 'price_range',
      title: 'Price range',
      description: 'How much to spend',
      type: 'string',
      enum: ['$', '$$', '$$$'],
      default: '$$',
    },
  ],
};

const nonce = (tag: string) => `${tag}-${crypto.randomUUID()}`;
const properties = (schema: unknown) => Object.keys((schema as { properties: Json }).properties);

// Rows of one request (a retried call has two); the queue consumer writes them in the background.
async function rowsOf(requestId: string, count: number): Promise<Json[]> {
  for (let i = 0; i < 250; i++) {
    const { results } = await env.DB.prepare('SELECT * FROM requests WHERE request_id = ? ORDER BY id')
      .bind(requestId)
      .all<Json>();
    if (results.length >= count) return results;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`fewer than ${count} request rows for ${requestId}`);
}

// A small checker for the forms' shape; their draft 2020-12 validity is checked by ajv in
// test/e2e/prompt-compiler-schema.test.ts (ajv cannot compile inside workerd).
function expectForm(body: Json, keys: string[]) {
  const schema = body.schema as Json;
  expect(schema).toMatchObject({ $schema: DRAFT, type: 'object', additionalProperties: false });
  expect(properties(schema)).toEqual(keys);
  for (const key of keys) {
    const p = (schema.properties as Record<string, Json>)[key] as Json;
    expect(p).toMatchObject({ title: expect.any(String), description: expect.any(String), type: expect.any(String) });
    expect((body.ui_schema as Record<string, Json>)[key]).toMatchObject({ 'ui:widget': expect.any(String) });
  }
  expect((body.ui_schema as Json)['ui:order']).toEqual(keys);
}

describe('prompt compiler with the local provider (no keys)', () => {
  it('compiles a prompt for gpt-4 with the rule-based rewrite and its reasons, and logs the call', async () => {
    const res = await postJson(`${BASE}/compile`, { prompt: 'find good restaurants', modelid: 'gpt-4' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      prompt: 'find good restaurants',
      target_model: 'gpt-4',
      model: { provider: 'local' },
      source: 'rules',
      placeholders: [],
      model_calls: 1,
    });
    const compiled = String(body.compiled_prompt);
    expect(compiled).toContain('### Task\nFind good restaurants.');
    expect(compiled).toMatch(/### Output format\nA numbered list/);
    const reasons = body.reasons as string[];
    expect(reasons.join('\n')).toMatch(/location, cuisine, price range/);
    expect(reasons.join('\n')).toMatch(/"good" is vague/);
    expect(reasons.join('\n')).toMatch(/Markdown/);
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({ dialect: 'prompt-compile', provider: 'local', status: 'completed' });
  });

  it('writes for Claude in XML tags and keeps every placeholder', async () => {
    const prompt = 'Write a {{tone}} reply to {{customer_name}} about their order {{ order_id }}';
    const res = await postJson(`${BASE}/compile`, { prompt, model: 'anthropic:claude-3-5-haiku-latest' });
    // The anthropic provider is not configured here: the default (local) model answers.
    const body = (await res.json()) as Json;
    expect(res.status).toBe(200);
    expect(body.model).toMatchObject({ provider: 'local' });
    expect(body.placeholders).toEqual([
      { name: 'tone', key: 'tone', occurrences: 1 },
      { name: 'customer_name', key: 'customer_name', occurrences: 1 },
      { name: 'order_id', key: 'order_id', occurrences: 1 },
    ]);
    const compiled = String(body.compiled_prompt);
    expect(compiled).toContain('<task>');
    for (const p of ['{{tone}}', '{{customer_name}}', '{{order_id}}']) expect(compiled).toContain(p);
  });

  it('turns "Find good restaurants" into a draft 2020-12 form: location, cuisine, price range', async () => {
    const res = await postJson(`${BASE}/compile/form`, { prompt: 'Find good restaurants', modelid: 'gpt-4' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expectForm(body, ['location', 'cuisine', 'price_range']);
    expect(body).toMatchObject({ model: { provider: 'local' }, model_calls: 1 });
    expect(body.fields).toEqual([
      { key: 'location', source: 'lexicon' },
      { key: 'cuisine', source: 'lexicon' },
      { key: 'price_range', source: 'lexicon' },
    ]);
    const price = (body.schema as { properties: Record<string, Json> }).properties.price_range as Json;
    expect(price).toMatchObject({ type: 'string', enum: expect.any(Array), default: 'moderate' });
    expect((body.ui_schema as Record<string, Json>).price_range).toMatchObject({ 'ui:widget': 'select' });
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({ dialect: 'prompt-compile-form', provider: 'local', status: 'completed' });
  });

  it('reads values out of a text that validate against the form it made', async () => {
    const form = (await (await postJson(`${BASE}/compile/form`, { prompt: 'Find good restaurants' })).json()) as Json;
    const res = await postJson(`${BASE}/update_parameters`, {
      prompt: 'Something cheap near Alfama, Lisbon please — cuisine: Portuguese',
      schema: form.schema,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.values).toEqual({ location: 'Alfama, Lisbon', cuisine: 'Portuguese', price_range: 'budget' });
    expect(body.sources).toEqual({ location: 'text', cuisine: 'text', price_range: 'text' });
    expect(body.model).toMatchObject({ provider: 'local' });
  });
});

describe('placeholders are found without a model', () => {
  it('answers a form of {{placeholders}} with no upstream call', async () => {
    const tag = nonce('placeholders');
    const prompt = `Write a {{tone}} email to {{recipientName}} about {{topic}} before {{date}} (${tag})`;
    const res = await postJson(`${BASE}/compile/form`, { prompt, modelid: 'gpt-4o-mini' }, openaiEnv());
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expectForm(body, ['tone', 'recipient_name', 'topic', 'date']);
    expect(body).toMatchObject({ model: null, model_calls: 0 });
    const props = (body.schema as { properties: Record<string, Json> }).properties;
    expect(props.tone).toMatchObject({ type: 'string', enum: expect.any(Array) });
    expect(props.date).toMatchObject({ type: 'string', format: 'date' });
    expect((body.schema as Json).required).toEqual(['tone', 'recipient_name', 'topic', 'date']);
    expect(await mockRequests(tag)).toHaveLength(0);
  });

  it('asks the model too when told to infer', async () => {
    const tag = nonce('infer');
    const res = await postJson(
      `${BASE}/compile/form`,
      { prompt: `Plan a trip to {{city}} ${tag}`, modelid: 'gpt-4o-mini', infer: true },
      openaiEnv(),
    );
    const body = (await res.json()) as Json;
    expect(res.status).toBe(200);
    expect(body.model).toMatchObject({ provider: 'openai' });
    expect(properties(body.schema)[0]).toBe('city');
    expect(await mockRequests(tag)).toHaveLength(1);
  });
});

describe.each(WIRES)(
  'prompt compiler through the mock upstream ($wire wire)',
  ({ wire, model, env: wireEnv, path }) => {
    it('builds the restaurant form from the model structured output', async () => {
      const tag = nonce(`form-${wire}`);
      const prompt = `Find good restaurants ${tag} [[json:${JSON.stringify(RESTAURANT_PARAMETERS)}]]`;
      const res = await postJson(`${BASE}/compile/form`, { prompt, modelid: model }, wireEnv());
      const body = (await res.json()) as Json;
      expect(res.status).toBe(200);
      expectForm(body, ['location', 'cuisine', 'price_range']);
      expect(body).toMatchObject({ model: { provider: wire }, model_calls: 1 });
      expect((body.fields as Json[]).every((f) => f.source === 'model')).toBe(true);
      const props = (body.schema as { properties: Record<string, Json> }).properties;
      expect(props.cuisine).toMatchObject({ enum: ['italian', 'japanese', 'mexican'] });
      expect(props.price_range).toMatchObject({ enum: ['$', '$$', '$$$'], default: '$$' });
      expect((body.schema as Json).required).toEqual(['location']);
      const seen = await mockRequests(tag);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.path).toBe(path);
      // The structured-output format went out in the vendor's own terms.
      const sent = JSON.parse(seen[0]?.body ?? '{}') as Json;
      if (wire === 'openai') expect(sent.response_format).toMatchObject({ type: 'json_schema' });
      else if (wire === 'anthropic') expect(sent.tool_choice).toMatchObject({ type: 'tool' });
      else expect(sent.toolConfig).toMatchObject({ toolChoice: { tool: { name: expect.any(String) } } });
      const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
      expect(row).toMatchObject({ dialect: 'prompt-compile-form', provider: wire, status: 'completed' });
    });

    it('retries invalid structured output once, telling the model what was wrong, then answers 502', async () => {
      const tag = nonce(`invalid-${wire}`);
      const prompt = `Find good restaurants ${tag} [[json:{"parameters": "none"}]]`;
      const res = await postJson(`${BASE}/compile/form`, { prompt, modelid: model }, wireEnv());
      const body = await expectEnvelope(res, 502, 'PROVIDER_ERROR');
      const fields = (body.error.details ?? []).map((d) => d.field);
      expect(fields).toContain('structured_output.attempt_1');
      expect(fields).toContain('structured_output.attempt_2');
      expect(body.error.details?.[0]?.message).toMatch(/parameters/);
      const seen = await mockRequests(tag);
      expect(seen).toHaveLength(2);
      expect(seen[0]?.body).not.toContain('previous answer was not valid');
      expect(seen[1]?.body).toContain('previous answer was not valid');
      const rows = await rowsOf(body.error.request_id, 2);
      expect(rows.map((r) => r.dialect)).toEqual(['prompt-compile-form', 'prompt-compile-form']);
      // Never cached: the same request again goes upstream twice more.
      await expectEnvelope(
        await postJson(`${BASE}/compile/form`, { prompt, modelid: model }, wireEnv()),
        502,
        'PROVIDER_ERROR',
      );
      expect(await mockRequests(tag)).toHaveLength(4);
    });

    it('answers 200 after exactly two upstream calls when only the first output is invalid', async () => {
      const tag = nonce(`once-${wire}`);
      const valid = { parameters: [{ name: 'city', title: 'City', description: 'Where', type: 'string' }] };
      const prompt = `Find good restaurants ${tag} [[jsononce:{not json ${tag}]] [[json:${JSON.stringify(valid)}]]`;
      const res = await postJson(`${BASE}/compile/form`, { prompt, modelid: model }, wireEnv());
      const body = (await res.json()) as Json;
      expect(res.status).toBe(200);
      expect(body.model_calls).toBe(2);
      expect(properties(body.schema)).toEqual(['city']);
      expect(await mockRequests(tag)).toHaveLength(2);
    });

    it('compiles with the model rewrite and reasons', async () => {
      const tag = nonce(`compile-${wire}`);
      const answer = {
        compiled_prompt: `List 5 restaurants in {{city}}, best first. ${tag}`,
        reasons: ['Asked for a ranked list'],
      };
      const prompt = `restaurants in {{city}} ${tag} [[json:${JSON.stringify(answer)}]]`;
      const res = await postJson(`${BASE}/compile`, { prompt, modelid: model }, wireEnv());
      const body = (await res.json()) as Json;
      expect(res.status).toBe(200);
      expect(body).toMatchObject({
        compiled_prompt: answer.compiled_prompt,
        reasons: answer.reasons,
        source: 'model',
        model: { provider: wire },
        // Twice: the marker's answer (part of this prompt) has {{city}} too.
        placeholders: [{ name: 'city', key: 'city', occurrences: 2 }],
      });
    });

    it('treats a rewrite that drops a placeholder as invalid: retried, then 502', async () => {
      const tag = nonce(`dropped-${wire}`);
      const answer = { compiled_prompt: `List restaurants. ${tag}`, reasons: ['Shorter'] };
      const prompt = `restaurants in {{city}} ${tag} [[json:${JSON.stringify(answer)}]]`;
      const res = await postJson(`${BASE}/compile`, { prompt, modelid: model }, wireEnv());
      const body = await expectEnvelope(res, 502, 'PROVIDER_ERROR');
      expect(body.error.details?.[0]?.message).toContain('drops the placeholders {{city}}');
      expect(await mockRequests(tag)).toHaveLength(2);
    });

    it('update_parameters: the model values, valid against the schema', async () => {
      const tag = nonce(`values-${wire}`);
      const schema = {
        $schema: DRAFT,
        type: 'object',
        properties: {
          location: { type: 'string' },
          party_size: { type: 'integer', minimum: 1, maximum: 20 },
          date: { type: 'string', format: 'date' },
        },
        required: ['location'],
        additionalProperties: false,
      };
      const said = { location: 'Porto', party_size: 4 };
      const res = await postJson(
        `${BASE}/update_parameters`,
        {
          prompt: `dinner for four in Porto on 2026-12-24 ${tag} [[json:${JSON.stringify(said)}]]`,
          schema,
          modelid: model,
        },
        wireEnv(),
      );
      const body = (await res.json()) as Json;
      expect(res.status).toBe(200);
      // The date is in the text; the model left it out.
      expect(body.values).toEqual({ location: 'Porto', party_size: 4, date: '2026-12-24' });
      expect(body.sources).toMatchObject({ party_size: 'model', date: 'text' });
      const seen = await mockRequests(tag);
      expect(seen).toHaveLength(1);
    });

    it('update_parameters: values that break the schema twice are a 502', async () => {
      const tag = nonce(`badvalues-${wire}`);
      const schema = { type: 'object', properties: { size: { type: 'integer', maximum: 3 } }, required: ['size'] };
      const res = await postJson(
        `${BASE}/update_parameters`,
        { prompt: `${tag} [[json:{"size": 99}]]`, schema, modelid: model },
        wireEnv(),
      );
      const body = await expectEnvelope(res, 502, 'PROVIDER_ERROR');
      expect(body.error.details?.[0]?.message).toMatch(/^\/size: .*3/);
      expect(await mockRequests(tag)).toHaveLength(2);
    });
  },
);

describe('prompt compiler caching', () => {
  it('serves a valid structured answer from the cache', async () => {
    const tag = nonce('cached');
    const prompt = `Find good restaurants ${tag} [[json:${JSON.stringify(RESTAURANT_PARAMETERS)}]]`;
    const first = await postJson(`${BASE}/compile/form`, { prompt, modelid: 'gpt-4o-mini' }, openaiEnv());
    expect(first.status).toBe(200);
    // With env overrides the helper waits for the request's background work: the answer is stored by now.
    const again = await postJson(`${BASE}/compile/form`, { prompt, modelid: 'gpt-4o-mini' }, openaiEnv());
    const body = (await again.json()) as Json;
    const row = await waitForRequestRow(again.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({ dialect: 'prompt-compile-form', cache_status: 'HIT' });
    expect(properties(body.schema)).toEqual(['location', 'cuisine', 'price_range']);
    expect(await mockRequests(tag)).toHaveLength(1);
  });

  it('does not cache with Cache-Control: no-store', async () => {
    const tag = nonce('nostore');
    const prompt = `Find good restaurants ${tag} [[json:${JSON.stringify(RESTAURANT_PARAMETERS)}]]`;
    for (let i = 0; i < 2; i++) {
      const res = await postJson(`${BASE}/compile/form`, { prompt, modelid: 'gpt-4o-mini' }, openaiEnv(), {
        'cache-control': 'no-store',
      });
      expect(res.status).toBe(200);
    }
    expect(await mockRequests(tag)).toHaveLength(2);
  });
});

describe('prompt compiler input checks', () => {
  const SCHEMA_OK = { type: 'object', properties: { a: { type: 'string' } } };

  it.each([
    ['not an object type', { type: 'objekt' }, 'schema'],
    ['another draft', { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' }, 'schema.$schema'],
    ['a negative minLength', { type: 'object', properties: { a: { type: 'string', minLength: -1 } } }, 'schema'],
    ['an invalid pattern', { type: 'object', properties: { a: { type: 'string', pattern: '([' } } }, 'schema'],
    ['required that is not a list', { type: 'object', required: 'a' }, 'schema'],
    ['a string schema', { type: 'string' }, 'schema.type'],
    ['an external $ref', { type: 'object', properties: { a: { $ref: 'https://example.com/s.json' } } }, 'schema'],
    ['a missing $ref target', { type: 'object', properties: { a: { $ref: '#/$defs/nope' } } }, 'schema'],
  ])('refuses %s with 400 before any model call', async (_name, schema, field) => {
    const tag = nonce('badschema');
    const res = await postJson(
      `${BASE}/update_parameters`,
      { prompt: `values ${tag}`, schema, modelid: 'gpt-4o-mini' },
      openaiEnv(),
    );
    const body = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.map((d) => d.field)).toContain(field);
    expect(await mockRequests(tag)).toHaveLength(0);
  });

  it('refuses a schema that is not JSON Schema at all (an array) with 400', async () => {
    await expectEnvelope(
      await postJson(`${BASE}/update_parameters`, { prompt: 'x', schema: [1, 2] }),
      400,
      'VALIDATION_ERROR',
    );
  });

  it.each([
    ['compile', { prompt: 'x'.repeat(20_001) }],
    ['compile/form', { prompt: 'x'.repeat(20_001) }],
    ['update_parameters', { prompt: 'x'.repeat(20_001), schema: SCHEMA_OK }],
  ])('answers 413 to an oversized prompt on %s', async (endpoint, payload) => {
    const body = await expectEnvelope(await postJson(`${BASE}/${endpoint}`, payload), 413, 'PAYLOAD_TOO_LARGE');
    expect(body.error.details?.[0]?.field).toBe('prompt');
  });

  it('answers 413 to an oversized schema', async () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`p${i}`, { type: 'string' }]));
    await expectEnvelope(
      await postJson(`${BASE}/update_parameters`, { prompt: 'x', schema: { type: 'object', properties: many } }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const big = { type: 'object', description: 'd'.repeat(40_000) };
    await expectEnvelope(
      await postJson(`${BASE}/update_parameters`, { prompt: 'x', schema: big }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it.each([
    ['compile', {}, 'prompt'],
    ['compile', { prompt: '   ' }, 'prompt'],
    ['compile/form', { prompt: 42 }, 'prompt'],
    ['update_parameters', { schema: { type: 'object' } }, 'prompt'],
    ['update_parameters', { prompt: 'x' }, 'schema'],
  ])('refuses a malformed %s body %o naming %s', async (endpoint, payload, field) => {
    const body = await expectEnvelope(await postJson(`${BASE}/${endpoint}`, payload), 400, 'VALIDATION_ERROR');
    expect(body.error.details?.map((d) => d.field)).toContain(field);
  });

  it('names an unknown model with 400', async () => {
    const body = await expectEnvelope(
      await postJson(`${BASE}/compile`, { prompt: 'hi', modelid: 'gpt-9-ultra' }),
      400,
      'VALIDATION_ERROR',
    );
    expect(body.error.message).toContain('gpt-9-ultra');
  });

  it('needs credentials when ALLOW_ANONYMOUS is off, and takes a member or an API key', async () => {
    const off = { ALLOW_ANONYMOUS: 'false' };
    for (const endpoint of ['compile', 'compile/form', 'update_parameters']) {
      await expectEnvelope(
        await postJson(`${BASE}/${endpoint}`, { prompt: 'Find good restaurants', schema: SCHEMA_OK }, off),
        401,
        'AUTHENTICATION_REQUIRED',
      );
    }
    const owner = await register(undefined, off);
    const res = await postJson(`${BASE}/compile/form`, { prompt: 'Find good restaurants' }, off, owner.auth);
    expect(res.status).toBe(200);
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({ user_id: owner.userId, organization_id: owner.organizationId });
    const { key } = await createApiKey(owner, { name: 'compiler' }, off);
    const viaKey = await postJson(`${BASE}/compile`, { prompt: 'Find good restaurants' }, off, { 'x-api-key': key });
    expect(viaKey.status).toBe(200);
  });
});
