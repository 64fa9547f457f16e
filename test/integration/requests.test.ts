import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, expectEnvelope, mockRequests, OPENAI_CANARY_KEY, openaiEnv, postJson } from '../helpers/http';

interface Created {
  response: string;
  id: number;
}

describe('POST /api/v1/requests (seed 000)', () => {
  it('answers 201 {response, id} from the local provider and stores the request', async () => {
    const res = await postJson('/api/v1/requests', { text: 'hello edge' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Created;
    expect(body.response).toContain('hello edge');
    expect(Number.isInteger(body.id)).toBe(true);

    const row = await env.DB.prepare('SELECT * FROM requests WHERE id = ?')
      .bind(body.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      text: 'hello edge',
      response: body.response,
      provider: 'local',
      status: 'completed',
      dialect: 'requests',
    });
    expect(row?.total_tokens).toBeGreaterThan(0);
  });

  it('is deterministic for the same input and differs for another', async () => {
    const a = (await (await postJson('/api/v1/requests', { text: 'same words' })).json()) as Created;
    const b = (await (await postJson('/api/v1/requests', { text: 'same words' })).json()) as Created;
    const c = (await (await postJson('/api/v1/requests', { text: 'other words' })).json()) as Created;
    expect(a.response).toBe(b.response);
    expect(c.response).not.toBe(a.response);
    expect(b.id).toBeGreaterThan(a.id);
  });

  it.each([
    ['missing text', {}, 'text'],
    ['empty text', { text: '' }, 'text'],
    ['blank text', { text: '   ' }, 'text'],
    ['number text', { text: 42 }, 'text'],
    ['null text', { text: null }, 'text'],
    ['array body', [], 'body'],
  ])('rejects %s with 400 VALIDATION_ERROR naming the field', async (_name, payload, field) => {
    const res = await postJson('/api/v1/requests', payload);
    const body = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.map((d) => d.field)).toContain(field);
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await call('/api/v1/requests', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text": "hi"',
    });
    const body = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(body.error.message).toMatch(/JSON/);
  });

  it('rejects an empty body and a non-JSON content type with 400', async () => {
    await expectEnvelope(
      await call('/api/v1/requests', { method: 'POST', headers: { 'content-type': 'application/json' } }),
      400,
      'VALIDATION_ERROR',
    );
    const res = await call('/api/v1/requests', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'text=hi',
    });
    const body = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.[0]?.field).toBe('content-type');
  });

  it('rejects text over MAX_TEXT_CHARS with 400 and bodies over MAX_BODY_BYTES with 413', async () => {
    const long = await postJson('/api/v1/requests', { text: 'x'.repeat(50) }, { MAX_TEXT_CHARS: '10' });
    await expectEnvelope(long, 400, 'VALIDATION_ERROR');
    const big = await postJson('/api/v1/requests', { text: 'y'.repeat(4096) }, { MAX_BODY_BYTES: '2048' });
    await expectEnvelope(big, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('rejects an oversized chunked body (no Content-Length) with 413', async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode('z'.repeat(1024)));
        controller.close();
      },
    });
    const res = await call(
      '/api/v1/requests',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks, duplex: 'half' } as RequestInit,
      { MAX_BODY_BYTES: '2048' },
    );
    await expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses any attempt to choose the upstream from the request, and uses the configured key', async () => {
    const nonce = `nonce-${crypto.randomUUID()}`;
    const res = await postJson(
      '/api/v1/requests',
      { text: nonce, base_url: 'http://evil.example', api_key: 'sk-attacker' },
      openaiEnv(),
      { 'x-api-base': 'http://evil.example' },
    );
    const body = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.map((d) => d.field)).toEqual(['header.x-api-base', 'base_url', 'api_key']);
    expect(await mockRequests(nonce)).toHaveLength(0);

    const ok = await postJson('/api/v1/requests', { text: nonce }, openaiEnv());
    expect(ok.status).toBe(201);
    const seen = await mockRequests(nonce);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${OPENAI_CANARY_KEY}`);
  });
});

describe('POST /api/v1/requests through the openai provider', () => {
  it('relays the upstream answer and records tokens', async () => {
    const nonce = `ok-${crypto.randomUUID()}`;
    const res = await postJson('/api/v1/requests', { text: nonce }, openaiEnv());
    expect(res.status).toBe(201);
    const body = (await res.json()) as Created;
    expect(body.response).toBe(`Mock answer to: ${nonce}`);
    const row = await env.DB.prepare(
      'SELECT provider, model, status, prompt_tokens, completion_tokens FROM requests WHERE id = ?',
    )
      .bind(body.id)
      .first();
    expect(row).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', status: 'completed' });
  });

  it.each([
    ['500', 502, 'PROVIDER_ERROR'],
    ['429', 502, 'PROVIDER_ERROR'],
    ['malformed', 502, 'PROVIDER_ERROR'],
    ['redirect', 502, 'PROVIDER_ERROR'],
    ['hang', 504, 'PROVIDER_TIMEOUT'],
  ])('upstream fault %s → %i %s, recorded as failed, no secret in the body', async (fault, status, code) => {
    const nonce = `fault-${crypto.randomUUID()}`;
    const text = `${nonce} [[fault:${fault}]]`;
    const res = await postJson('/api/v1/requests', { text }, openaiEnv({ PROVIDER_TIMEOUT_MS: '300' }));
    const raw = await res.clone().text();
    await expectEnvelope(res, status, code);
    expect(raw).not.toContain(OPENAI_CANARY_KEY);
    expect(raw).not.toContain('evil.example');
    const row = await env.DB.prepare('SELECT status, error_code, response, provider FROM requests WHERE text = ?')
      .bind(text)
      .first();
    expect(row).toEqual({ status: 'failed', error_code: code, response: null, provider: 'openai' });
  });
});

describe('anonymous access', () => {
  it('is refused with 401 when ALLOW_ANONYMOUS is off', async () => {
    const off = { ALLOW_ANONYMOUS: 'false' };
    await expectEnvelope(await postJson('/api/v1/requests', { text: 'hi' }, off), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(await call('/api/v1/requests/1', {}, off), 401, 'AUTHENTICATION_REQUIRED');
  });
});

describe('GET /api/v1/requests/{id}', () => {
  it("returns seed 000's fields", async () => {
    const created = (await (await postJson('/api/v1/requests', { text: 'fetch me back' })).json()) as Created;
    const res = await call(`/api/v1/requests/${created.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: created.id, user_id: null, text: 'fetch me back', response: created.response });
    for (const key of ['created_at', 'updated_at'] as const) {
      expect(body[key]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  it.each(['999999', 'abc', '1.5', '-1', '0', '1e3', '99999999999999999999'])('answers 404 for id %s', async (id) => {
    await expectEnvelope(await call(`/api/v1/requests/${id}`), 404, 'RESOURCE_NOT_FOUND');
  });
});
