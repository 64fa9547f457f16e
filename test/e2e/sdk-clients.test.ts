// The official SDKs, unmodified, pointed at Edgeway (wrangler dev) by baseURL only. Edgeway in turn
// talks to the mock upstream, so nothing leaves the machine.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../mock-upstream/server';
import { type DevServer, postJson, startDevServer } from './helpers/dev-server';

let mock: MockUpstream;
let server: DevServer;
let apiKey = '';

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson(server, path, body, headers);

beforeAll(async () => {
  mock = await startMockUpstream();
  server = await startDevServer({
    vars: {
      OPENAI_API_KEY: 'sk-e2e-upstream-canary',
      OPENAI_BASE_URL: `${mock.url}/v1`,
      ANTHROPIC_API_KEY: 'sk-ant-e2e-upstream-canary',
      ANTHROPIC_BASE_URL: mock.url,
      // Accounts only: the SDKs authenticate with an Edgeway API key as their apiKey.
      ALLOW_ANONYMOUS: 'false',
    },
  });
  const account = await post('/api/v1/auth/register', { email: 'sdk@example.com', password: 'sdk-password-123' });
  const created = await post(
    '/api/v1/auth/api-keys',
    { name: 'sdk' },
    { authorization: `Bearer ${String(account.access_token)}` },
  );
  apiKey = String(created.key);
});

afterAll(async () => {
  await server?.stop();
  await mock?.close();
});

const openai = (key = apiKey) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
const anthropic = (key = apiKey) => new Anthropic({ baseURL: server.url, apiKey: key, maxRetries: 0 });

describe('openai SDK', () => {
  it('chat.completions.create', async () => {
    const res = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'sdk hello' }],
    });
    expect(res.choices[0]?.message.content).toBe('Mock answer to: sdk hello');
    expect(res.usage?.total_tokens).toBeGreaterThan(0);
    // Edgeway used its own configured key upstream, never the client's.
    const upstream = mock.requests.filter((r) => r.body.includes('sdk hello'));
    expect(upstream[0]?.headers.authorization).toBe('Bearer sk-e2e-upstream-canary');
  });

  it('chat.completions.create with stream and usage', async () => {
    const stream = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'sdk stream' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let total = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) total = chunk.usage.total_tokens;
    }
    expect(text).toBe('Mock answer to: sdk stream');
    expect(total).toBeGreaterThan(0);
  });

  it('models.list', async () => {
    const ids: string[] = [];
    for await (const m of openai().models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o-mini', 'claude-3-5-haiku-latest', 'edgeway-local']));
  });

  it('is refused with a wrong key, as the SDK authentication error', async () => {
    await expect(
      openai('ew_not-a-real-key').chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 401, type: 'authentication_error' });
    await expect(
      anthropic('ew_not-a-real-key').messages.create({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 401 });
  });

  it('surfaces an Edgeway error as the SDK error type', async () => {
    await expect(
      openai().chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
  });
});

// Tool calling through Edgeway: the mock answers a tool call when the prompt carries a
// [[tool:NAME {json}]] marker, and a text quoting the tool results once they come back.
const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('openai SDK with tools', () => {
  it('chat.completions.create with tools, then the tool result answered', async () => {
    const question = { role: 'user' as const, content: 'sdk tools [[tool:get_weather {"city":"Paris"}]]' };
    const res = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [question],
      tools: [weatherTool],
      tool_choice: 'auto',
      parallel_tool_calls: true,
    });
    const message = res.choices[0]?.message;
    expect(res.choices[0]?.finish_reason).toBe('tool_calls');
    expect(message?.content).toBeNull();
    const call = message?.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (!message || call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });

    const answer = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [question, message, { role: 'tool', tool_call_id: call.id, content: 'sunny 21C' }],
      tools: [weatherTool],
    });
    expect(answer.choices[0]?.message.content).toBe('Mock answer after tools: sunny 21C');
  });

  it('chat.completions.create with tools and stream: chunks carry delta.tool_calls', async () => {
    const stream = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        {
          role: 'user',
          content: 'sdk tool stream [[tool:get_weather {"city":"Rome"}]] [[tool:get_weather {"city":"Oslo"}]]',
        },
      ],
      tools: [weatherTool],
      stream: true,
    });
    const args: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const piece of chunk.choices[0]?.delta.tool_calls ?? []) {
        args[piece.index] = (args[piece.index] ?? '') + (piece.function?.arguments ?? '');
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(args.map((a) => JSON.parse(a) as unknown)).toEqual([{ city: 'Rome' }, { city: 'Oslo' }]);
  });

  it("the SDK's stream helper assembles the tool calls' arguments", async () => {
    const done: { name: string; arguments: string }[] = [];
    const stream = openai()
      .chat.completions.stream({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'sdk helper [[tool:get_weather {"city":"Lima"}]]' }],
        tools: [weatherTool],
      })
      .on('tool_calls.function.arguments.done', (e) => done.push({ name: e.name, arguments: e.arguments }));
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Lima"}' });
    expect(done).toEqual([{ name: 'get_weather', arguments: '{"city":"Lima"}' }]);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });
});

const anthropicWeather = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: {
    type: 'object' as const,
    properties: { city: { type: 'string' } },
    required: ['city'],
  },
};

describe('@anthropic-ai/sdk with tools', () => {
  it('messages.create with tools, then the tool_result answered', async () => {
    const question = { role: 'user' as const, content: 'anthropic tools [[tool:get_weather {"city":"Quito"}]]' };
    const msg = await anthropic().messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 200,
      messages: [question],
      tools: [anthropicWeather],
    });
    expect(msg.stop_reason).toBe('tool_use');
    const use = msg.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Quito' } });
    if (use?.type !== 'tool_use') throw new Error('expected tool_use');

    const answer = await anthropic().messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 200,
      messages: [
        question,
        { role: 'assistant', content: msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'fog 17C' }] },
      ],
      tools: [anthropicWeather],
    });
    expect(answer.content[0]).toMatchObject({ type: 'text', text: 'Mock answer after tools: fog 17C' });
  });

  it('messages.stream with tools: the SDK assembles the tool_use input', async () => {
    const stream = anthropic().messages.stream({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'anthropic tool stream [[tool:get_weather {"city":"Bogota"}]]' }],
      tools: [anthropicWeather],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.filter((b) => b.type === 'tool_use')).toEqual([
      expect.objectContaining({ name: 'get_weather', input: { city: 'Bogota' } }),
    ]);
  });

  it('messages.stream with tools from an OpenAI-wire provider, translated to tool_use blocks', async () => {
    const stream = anthropic().messages.stream({
      model: 'gpt-4o-mini',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'cross tools [[tool:get_weather {"city":"Lagos"}]]' }],
      tools: [anthropicWeather],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.filter((b) => b.type === 'tool_use')).toEqual([
      expect.objectContaining({ name: 'get_weather', input: { city: 'Lagos' } }),
    ]);
  });
});

describe('@anthropic-ai/sdk', () => {
  it('messages.create', async () => {
    const msg = await anthropic().messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 200,
      system: 'be brief',
      messages: [{ role: 'user', content: 'anthropic hello' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Mock answer to: anthropic hello' });
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
    const upstream = mock.requests.filter((r) => r.path === '/v1/messages' && r.body.includes('anthropic hello'));
    expect(upstream).toHaveLength(1);
  });

  it('messages.stream', async () => {
    const stream = anthropic().messages.stream({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'anthropic stream' }],
    });
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    const final = await stream.finalMessage();
    expect(text).toBe('Mock answer to: anthropic stream');
    expect(final.stop_reason).toBe('end_turn');
  });

  it('streams from another provider through the Anthropic dialect', async () => {
    const stream = anthropic().messages.stream({
      model: 'edgeway-local',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'cross dialect' }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]?.type === 'text' && final.content[0].text).toContain('cross dialect');
  });
});
