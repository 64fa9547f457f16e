import { describe, expect, it } from 'vitest';
import { waitForRequestRow } from '../helpers/db';
import { call, expectEnvelope, mockRequests, openaiEnv, postJson } from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

type Json = Record<string, unknown>;

describe('seed 002: POST /api/v1/chat/completion', () => {
  it('answers in seed 002 shape from the local provider and records the call', async () => {
    const res = await postJson('/api/v1/chat/completion', {
      message: 'Hello, how are you?',
      system_prompt: 'You are helpful',
      conversation_history: [
        { role: 'user', content: 'Previous message' },
        { role: 'assistant', content: 'Previous response' },
      ],
      temperature: 0.7,
      max_tokens: 1000,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache-status')).toBe('MISS');
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ model: 'edgeway-local', provider: 'local', cached: false, similarity_score: null });
    expect(body.response).toContain('Hello, how are you?');
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    expect(body.cache_key).toMatch(/^ck_[0-9a-f]{64}$/);
    expect(body.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    const r = await waitForRequestRow(String(body.request_id));
    expect(r).toMatchObject({
      dialect: 'chat-completion',
      provider: 'local',
      status: 'completed',
      stream: 0,
      attempts: 1,
    });
  });

  it('routes provider:model and bare catalogue ids through the openai provider', async () => {
    for (const model of ['openai:gpt-4o-mini', 'gpt-4o-mini']) {
      const nonce = `route-${crypto.randomUUID()}`;
      const res = await postJson('/api/v1/chat/completion', { message: nonce, model }, openaiEnv());
      const body = (await res.json()) as Json;
      expect(body).toMatchObject({ response: `Mock answer to: ${nonce}`, provider: 'openai', model: 'gpt-4o-mini' });
      const r = await waitForRequestRow(String(body.request_id));
      expect(r.cost_usd).toBeGreaterThan(0);
    }
  });

  it('gives the same cache_key for the same request and a different one for another', async () => {
    const a = (await (await postJson('/api/v1/chat/completion', { message: 'key me' })).json()) as Json;
    const b = (await (await postJson('/api/v1/chat/completion', { message: 'key me' })).json()) as Json;
    const c = (await (await postJson('/api/v1/chat/completion', { message: 'key me', temperature: 1 })).json()) as Json;
    expect(a.cache_key).toBe(b.cache_key);
    expect(c.cache_key).not.toBe(a.cache_key);
  });

  it('names an unknown model in a 400 and refuses an unconfigured provider with 503', async () => {
    const bad = await expectEnvelope(
      await postJson('/api/v1/chat/completion', { message: 'x', model: 'gpt-9-ultra' }),
      400,
      'VALIDATION_ERROR',
    );
    expect(bad.error.message).toContain('gpt-9-ultra');
    expect(bad.error.details?.[0]?.field).toBe('model');
    const fb = await expectEnvelope(
      await postJson('/api/v1/chat/completion', { message: 'x', fallbacks: ['nope-model'] }),
      400,
      'VALIDATION_ERROR',
    );
    expect(fb.error.details?.[0]?.field).toBe('fallbacks.0');
    const un = await expectEnvelope(
      await postJson('/api/v1/chat/completion', { message: 'x', model: 'claude-3-5-haiku-latest' }),
      503,
      'SERVICE_UNAVAILABLE',
    );
    expect(un.error.message).toContain('anthropic');
  });

  it.each([
    [{}, 'message'],
    [{ message: '' }, 'message'],
    [{ message: 'x', temperature: 3 }, 'temperature'],
    [{ message: 'x', max_tokens: 0 }, 'max_tokens'],
    [{ message: 'x', conversation_history: [{ role: 'robot', content: 'x' }] }, 'conversation_history.0.role'],
  ])('rejects %o naming %s', async (payload, field) => {
    const body = await expectEnvelope(await postJson('/api/v1/chat/completion', payload), 400, 'VALIDATION_ERROR');
    expect(body.error.details?.map((d) => d.field)).toContain(field);
  });
});

describe('seed 002: POST /api/v1/chat/stream', () => {
  it('streams {"chunk","index"} frames and ends with {"finished": true, "usage"}', async () => {
    const res = await postJson('/api/v1/chat/stream', { message: 'stream to me please' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const frames = dataFrames(parseSse(await res.text())) as Json[];
    const chunks = frames.filter((f) => 'chunk' in f);
    expect(chunks.length).toBeGreaterThan(3);
    chunks.forEach((f, i) => expect(f.index).toBe(i));
    const last = frames.at(-1) as Json;
    expect(last).toMatchObject({ finished: true, usage: { total_tokens: expect.any(Number) } });
    const requestId = res.headers.get('x-request-id') ?? '';
    const r = await waitForRequestRow(requestId);
    expect(r).toMatchObject({ dialect: 'chat-stream', status: 'completed', stream: 1 });
    expect(r.response).toBe(chunks.map((f) => f.chunk).join(''));
    expect(r.ttft_ms).not.toBeNull();
  });

  it('answers /chat/completion with "stream": true as a stream too', async () => {
    const res = await postJson('/api/v1/chat/completion', { message: 'hi', stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect((dataFrames(parseSse(await res.text())).at(-1) as Json).finished).toBe(true);
  });
});

describe('seed 004: POST /api/v1/aisuite/chat', () => {
  it('answers an OpenAI-format completion for provider:model', async () => {
    const nonce = `aisuite-${crypto.randomUUID()}`;
    const res = await postJson(
      '/api/v1/aisuite/chat',
      { messages: [{ role: 'user', content: nonce }], model: 'openai:gpt-4o-mini', temperature: 0.7 },
      openaiEnv(),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; choices: { message: { content: string } }[] };
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]?.message.content).toBe(`Mock answer to: ${nonce}`);
    const seen = await mockRequests(nonce);
    expect(JSON.parse(seen[0]?.body ?? '{}')).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.7 });
  });

  it('accepts the local provider and rejects an unknown provider:model', async () => {
    const ok = await postJson('/api/v1/aisuite/chat', {
      messages: [{ role: 'user', content: 'hi' }],
      model: 'local:edgeway-local',
    });
    expect(ok.status).toBe(200);
    const bad = await postJson('/api/v1/aisuite/chat', {
      messages: [{ role: 'user', content: 'hi' }],
      model: 'nosuch:model',
    });
    await expectEnvelope(bad, 400, 'VALIDATION_ERROR');
  });
});

describe('models', () => {
  it('lists the catalogue as an array (seed 002) with availability from configuration', async () => {
    const list = (await (await call('/api/v1/models')).json()) as Json[];
    const gpt4 = list.find((m) => m.id === 'gpt-4');
    expect(gpt4).toMatchObject({
      name: 'GPT-4',
      provider: 'openai',
      context_length: 8192,
      available: false,
      cost_per_token: { input: 0.03, output: 0.06 },
    });
    expect(list.find((m) => m.id === 'edgeway-local')?.available).toBe(true);
    const keyed = (await (await call('/api/v1/models', {}, openaiEnv())).json()) as Json[];
    expect(keyed.find((m) => m.id === 'gpt-4')?.available).toBe(true);
  });

  it('gets one model, 404 for an unknown one', async () => {
    expect(((await (await call('/api/v1/models/gpt-4o')).json()) as Json).id).toBe('gpt-4o');
    expect((await call('/api/v1/models/anthropic.claude-3-haiku-20240307-v1:0')).status).toBe(200);
    await expectEnvelope(await call('/api/v1/models/nope'), 404, 'RESOURCE_NOT_FOUND');
  });

  it('paginates /api/v1/model (seed 004) with limit, offset, page and cursor', async () => {
    const first = (await (await call('/api/v1/model?limit=5')).json()) as { data: Json[]; pagination: Json };
    expect(first.data).toHaveLength(5);
    expect(first.pagination).toMatchObject({ limit: 5, offset: 0, page: 1, has_prev: false, has_next: true });
    const total = Number(first.pagination.total);
    const next = (await (
      await call(`/api/v1/model?limit=5&cursor=${String(first.pagination.next_cursor)}`)
    ).json()) as { data: Json[] };
    const page2 = (await (await call('/api/v1/model?limit=5&page=2')).json()) as { data: Json[] };
    expect(next.data.map((m) => m.id)).toEqual(page2.data.map((m) => m.id));
    expect(next.data[0]?.id).not.toBe(first.data[0]?.id);
    const last = (await (await call(`/api/v1/model?limit=5&offset=${total - 1}`)).json()) as {
      data: Json[];
      pagination: Json;
    };
    expect(last.data).toHaveLength(1);
    expect(last.pagination.has_next).toBe(false);
    const local = (await (await call('/api/v1/model?provider=local')).json()) as { data: Json[] };
    expect(local.data.map((m) => m.id)).toEqual(['edgeway-local', 'edgeway-embed']);
  });

  it.each(['limit=0', 'limit=101', 'offset=-1', 'page=0', 'cursor=%%%', 'offset=1&page=2'])(
    'rejects ?%s with 400',
    async (q) => {
      await expectEnvelope(await call(`/api/v1/model?${q}`), 400, 'VALIDATION_ERROR');
    },
  );

  it('lists models in OpenAI format at /v1/models', async () => {
    const body = (await (await call('/v1/models')).json()) as { object: string; data: Json[] };
    expect(body.object).toBe('list');
    expect(body.data[0]).toMatchObject({ object: 'model', id: expect.any(String), owned_by: expect.any(String) });
  });
});
