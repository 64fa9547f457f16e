import { describe, expect, it } from 'vitest';
import { call, openaiEnv, postJson } from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

type Json = Record<string, unknown>;
const user = (content: string) => [{ role: 'user', content }];

describe('OpenAI surface: POST /v1/chat/completions', () => {
  it('answers a chat.completion', async () => {
    const nonce = `oa-${crypto.randomUUID()}`;
    const res = await postJson('/v1/chat/completions', { model: 'gpt-4o-mini', messages: user(nonce) }, openaiEnv());
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [
        { index: 0, message: { role: 'assistant', content: `Mock answer to: ${nonce}` }, finish_reason: 'stop' },
      ],
      usage: {
        prompt_tokens: expect.any(Number),
        completion_tokens: expect.any(Number),
        total_tokens: expect.any(Number),
      },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
  });

  it('streams chat.completion.chunk frames, usage last when asked, then [DONE]', async () => {
    const res = await postJson('/v1/chat/completions', {
      model: 'edgeway-local',
      messages: [{ role: 'system', content: 'be brief' }, ...user('stream please')],
      stream: true,
      stream_options: { include_usage: true },
    });
    const text = await res.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const chunks = dataFrames(parseSse(text)) as {
      object: string;
      choices: { delta: Json; finish_reason: string | null }[];
      usage?: Json;
    }[];
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject({ total_tokens: expect.any(Number) });
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toContain('stream please');
  });

  it('sends no usage chunk without stream_options.include_usage', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'edgeway-local', messages: user('x'), stream: true });
    const chunks = dataFrames(parseSse(await res.text())) as { usage?: unknown }[];
    expect(chunks.some((c) => c.usage !== undefined)).toBe(false);
  });

  it('answers errors in the OpenAI error shape', async () => {
    const res = await postJson('/v1/chat/completions', { model: 'gpt-4o-mini' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: Json };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'validation_error', param: 'messages' });
    const unknown = (await (await postJson('/v1/chat/completions', { model: 'nope', messages: user('x') })).json()) as {
      error: Json;
    };
    expect(unknown.error.message).toContain("'nope'");
    const missing = await call('/v1/nothing-here');
    expect(((await missing.json()) as { error: Json }).error.type).toBe('not_found_error');
    const n2 = await postJson('/v1/chat/completions', { model: 'edgeway-local', messages: user('x'), n: 2 });
    expect(n2.status).toBe(400);
    // Tools are relayed now (gateway-tools.test.ts); a tool with an invalid name is still refused.
    const tools = await postJson('/v1/chat/completions', {
      model: 'edgeway-local',
      messages: user('x'),
      tools: [{ type: 'function', function: { name: 'not a name', parameters: {} } }],
    });
    expect(tools.status).toBe(400);
    expect(((await tools.json()) as { error: Json }).error.param).toBe('tools.0.function.name');
  });

  it('answers upstream failures as OpenAI-shaped 5xx', async () => {
    const res = await postJson(
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', messages: user('[[fault:500]]') },
      openaiEnv({ RETRY_MAX_RETRIES: '0' }),
    );
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: Json }).error).toMatchObject({ type: 'api_error', code: 'provider_error' });
  });
});

describe('Anthropic surface: POST /v1/messages', () => {
  it('answers a message', async () => {
    const nonce = `an-${crypto.randomUUID()}`;
    const res = await postJson(
      '/v1/messages',
      { model: 'openai:gpt-4o-mini', max_tokens: 100, system: 'be kind', messages: user(nonce) },
      openaiEnv(),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: `Mock answer to: ${nonce}` }],
      stop_reason: 'end_turn',
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    });
  });

  it('streams the Messages event sequence', async () => {
    const res = await postJson('/v1/messages', {
      model: 'edgeway-local',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'stream blocks' }] }],
      stream: true,
    });
    const frames = parseSse(await res.text()).filter((f) => f.event);
    const events = frames.map((f) => f.event);
    expect(events.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(events.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(events.filter((e) => e === 'content_block_delta').length).toBeGreaterThan(2);
    const delta = JSON.parse(frames.at(-2)?.data ?? '{}') as Json;
    expect(delta).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: expect.any(Number) } });
  });

  it('answers errors in the Anthropic error shape', async () => {
    const res = await postJson('/v1/messages', { model: 'edgeway-local', messages: user('x') });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; error: Json };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(String(body.error.message)).toContain('max_tokens');
  });

  it('refuses an invalid tool definition (tools themselves are relayed: gateway-tools.test.ts)', async () => {
    const res = await postJson('/v1/messages', {
      model: 'edgeway-local',
      max_tokens: 50,
      messages: user('x'),
      tools: [{ name: 'f', input_schema: { type: 'string' } }],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; error: Json };
    expect(body.error.type).toBe('invalid_request_error');
    expect(String(body.error.message)).toContain('tools');
  });
});

describe('multi-provider chat: POST /api/v1/aisuite/chat', () => {
  it('refuses tool calling rather than answering without the tools', async () => {
    const res = await postJson('/api/v1/aisuite/chat', {
      model: 'local:edgeway-local',
      messages: user('x'),
      tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { field: string }[] } };
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(body.error.details.map((d) => d.field)).toContain('tools');
  });
});

describe('requests cannot pick the upstream', () => {
  const bodies: Json[] = [
    { api_base: 'http://evil.example' },
    { base_url: 'http://evil.example' },
    { baseURL: 'http://evil.example' },
    { apiKey: 'sk-x' },
    { api_key: 'sk-x' },
    { custom_host: 'http://evil.example' },
  ];
  const headers = [
    'x-api-base',
    'x-base-url',
    'x-custom-host',
    'x-portkey-custom-host',
    'x-upstream-url',
    'x-openai-api-key',
  ];
  const endpoints: [string, Json][] = [
    ['/v1/chat/completions', { model: 'edgeway-local', messages: user('x') }],
    ['/v1/messages', { model: 'edgeway-local', max_tokens: 10, messages: user('x') }],
    ['/api/v1/chat/completion', { message: 'x' }],
    ['/api/v1/chat/stream', { message: 'x' }],
    ['/api/v1/aisuite/chat', { model: 'local:edgeway-local', messages: user('x') }],
    ['/api/v1/requests', { text: 'x' }],
  ];

  it.each(endpoints)('%s refuses each body field and header with 400', async (path, base) => {
    for (const extra of bodies) {
      const res = await postJson(path, { ...base, ...extra });
      expect(res.status, `${path} ${Object.keys(extra)[0]}`).toBe(400);
    }
    for (const name of headers) {
      const res = await postJson(path, base, undefined, { [name]: 'http://evil.example' });
      expect(res.status, `${path} ${name}`).toBe(400);
    }
    expect((await postJson(path, base)).status).toBeLessThan(300);
  });
});
