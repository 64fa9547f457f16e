import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { ApiError } from '../../lib/errors';
import { mockRequests } from '../../../test/helpers/http';
import { anthropicProvider } from './anthropic';
import { toAnthropicConversation } from './anthropic/wire';
import { bedrockProvider } from './bedrock';
import { converseBody } from './bedrock/wire';
import { groqProvider } from './groq';
import { localProvider } from './local';
import { openaiProvider } from './openai';
import { structuredAnswer, structuredTool } from './tools';
import type { ChatRequest, Provider, ProviderContext, StreamEvent, ToolCall, ToolDefinition } from './types';

// Tools and structured output in every provider, against the mock upstream in each vendor's wire
// (markers: test/mock-upstream/common.ts) and the local provider's own rules.

const config = loadConfig({
  ENVIRONMENT: 'test',
  OPENAI_API_KEY: 'sk-tools-unit',
  OPENAI_BASE_URL: `${env.MOCK_UPSTREAM_URL}/v1`,
  GROQ_API_KEY: 'gsk-tools-unit',
  GROQ_BASE_URL: `${env.MOCK_UPSTREAM_URL}/groq/v1`,
  ANTHROPIC_API_KEY: 'sk-ant-tools-unit',
  ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL,
  AWS_ACCESS_KEY_ID: 'AKIDTOOLSUNIT',
  AWS_SECRET_ACCESS_KEY: 'tools-unit-secret',
  AWS_REGION: 'us-east-1',
  BEDROCK_BASE_URL: env.MOCK_UPSTREAM_URL,
  RETRY_MAX_RETRIES: '0',
});
const ctx = (): ProviderContext => ({ config, signal: new AbortController().signal });

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'Weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const providers: [string, Provider, string][] = [
  ['openai', openaiProvider, 'gpt-4o-mini'],
  ['groq', groqProvider, 'llama-3.3-70b-versatile'],
  ['anthropic', anthropicProvider, 'claude-3-5-haiku-latest'],
  ['bedrock', bedrockProvider, 'anthropic.claude-3-haiku-20240307-v1:0'],
];

// Tool calls put together from stream pieces, as a consumer would.
function assemble(events: StreamEvent[]): { text: string; calls: ToolCall[]; finish: string | undefined } {
  const calls: ToolCall[] = [];
  let text = '';
  let finish: string | undefined;
  for (const e of events) {
    if (e.type === 'delta') text += e.text;
    if (e.type === 'tool_call') {
      const c = (calls[e.index] ??= { id: '', name: '', arguments: '' });
      if (e.id) c.id = e.id;
      if (e.name) c.name = e.name;
      c.arguments += e.argumentsDelta;
    }
    if (e.type === 'done') finish = e.finishReason;
  }
  return { text, calls, finish };
}

async function collect(provider: Provider, request: ChatRequest): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of provider.stream(request, ctx())) events.push(e);
  return events;
}

describe.each(providers)('%s provider: tools', (_name, provider, model) => {
  const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model,
    messages: [{ role: 'user', content }],
    tools: [weather],
    ...extra,
  });

  it('parses tool calls from an answer and from a stream, the first piece naming each call', async () => {
    const prompt = `x [[tool:get_weather {"city":"Oslo"}]] [[tool:get_weather {"city":"Bern"}]] ${crypto.randomUUID()}`;
    const done = await provider.complete(ask(prompt), ctx());
    expect(done.finishReason).toBe('tool_calls');
    expect(done.toolCalls?.map((c) => [c.name, JSON.parse(c.arguments) as unknown])).toEqual([
      ['get_weather', { city: 'Oslo' }],
      ['get_weather', { city: 'Bern' }],
    ]);
    const events = await collect(provider, ask(prompt));
    const firsts = events.filter((e) => e.type === 'tool_call' && e.id !== undefined);
    expect(firsts.map((e) => e.type === 'tool_call' && [e.index, e.name])).toEqual([
      [0, 'get_weather'],
      [1, 'get_weather'],
    ]);
    const { calls, finish } = assemble(events);
    expect(finish).toBe('tool_calls');
    expect(calls.map((c) => JSON.parse(c.arguments) as unknown)).toEqual([{ city: 'Oslo' }, { city: 'Bern' }]);
  });

  it('sends assistant tool calls and tool results back, and reads the answer', async () => {
    const n = crypto.randomUUID();
    const request: ChatRequest = {
      model,
      tools: [weather],
      messages: [
        { role: 'user', content: `weather ${n}` },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"A"}' }] },
        { role: 'tool', toolCallId: 'c1', content: 'hot' },
      ],
    };
    const done = await provider.complete(request, ctx());
    expect(done).toMatchObject({ text: 'Mock answer after tools: hot', finishReason: 'stop' });
    expect(done.toolCalls).toBeUndefined();
    expect((await mockRequests(n)).length).toBe(1);
  });

  it('refuses a malformed tool-call answer as a provider failure (502), JSON and stream', async () => {
    const prompt = `[[fault:badtool]] ${crypto.randomUUID()}`;
    for (const attempt of [provider.complete(ask(prompt), ctx()), collect(provider, ask(prompt))]) {
      const err = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(502);
    }
  });

  it('answers structured output as the JSON text, wrapping a non-object schema', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer', minimum: 4 } }, required: ['n'] };
    const format = { type: 'json_schema' as const, name: 'count', schema };
    const done = await provider.complete(
      ask(`count ${crypto.randomUUID()}`, { tools: undefined, responseFormat: format }),
      ctx(),
    );
    expect(JSON.parse(done.text)).toEqual({ n: 4 });
    expect(done.finishReason).toBe('stop');
    const streamed = assemble(
      await collect(provider, ask(`count ${crypto.randomUUID()}`, { tools: undefined, responseFormat: format })),
    );
    expect(JSON.parse(streamed.text)).toEqual({ n: 4 });
    const list = {
      type: 'json_schema' as const,
      name: 'list',
      schema: { type: 'array', items: { type: 'string' }, minItems: 1 },
    };
    const listed = await provider.complete(
      ask(`list ${crypto.randomUUID()}`, { tools: undefined, responseFormat: list }),
      ctx(),
    );
    expect(JSON.parse(listed.text)).toEqual(['text']);
  });

  it('passes invalid structured output on for the caller to judge', async () => {
    const format = { type: 'json_schema' as const, name: 'count', schema: { type: 'object' } };
    const done = await provider.complete(
      ask(`[[json:{not json]] ${crypto.randomUUID()}`, { tools: undefined, responseFormat: format }),
      ctx(),
    );
    expect(done.text).toBe('{not json');
  });
});

describe('local provider: tools', () => {
  const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: 'edgeway-local',
    messages: [{ role: 'user', content }],
    ...extra,
  });
  const free: ToolDefinition = { name: 'get_time', parameters: { type: 'object', properties: {} } };

  it('calls by marker, by a named tool that needs nothing, and when forced; never with toolChoice none', async () => {
    const marked = await localProvider.complete(ask('[[tool:get_weather {"city":"X"}]]', { tools: [weather] }), ctx());
    expect(marked.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_/), name: 'get_weather', arguments: '{"city":"X"}' },
    ]);
    const named = await localProvider.complete(ask('what does get_time say', { tools: [weather, free] }), ctx());
    expect(named.toolCalls?.map((c) => c.name)).toEqual(['get_time']);
    // get_weather needs a city, so naming it is not enough.
    const needs = await localProvider.complete(ask('what does get_weather say', { tools: [weather] }), ctx());
    expect(needs.toolCalls).toBeUndefined();
    const forced = await localProvider.complete(ask('hi', { tools: [weather], toolChoice: 'required' }), ctx());
    expect(forced.toolCalls?.[0]).toMatchObject({ name: 'get_weather', arguments: '{"city":"text"}' });
    const none = await localProvider.complete(
      ask('get_time [[tool:get_time]]', { tools: [free], toolChoice: 'none' }),
      ctx(),
    );
    expect(none.toolCalls).toBeUndefined();
    const streamed = assemble(
      await collect(localProvider, ask('[[tool:get_weather {"city":"Y"}]]', { tools: [weather] })),
    );
    expect(streamed).toMatchObject({
      finish: 'tool_calls',
      calls: [{ name: 'get_weather', arguments: '{"city":"Y"}' }],
    });
  });

  it('quotes every tool result after tools and gives a schema instance for structured output', async () => {
    const after = await localProvider.complete(
      {
        model: 'edgeway-local',
        tools: [free],
        messages: [
          { role: 'user', content: 'get_time' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'get_time', arguments: '{}' }] },
          { role: 'tool', toolCallId: 'a', content: '12:00' },
        ],
      },
      ctx(),
    );
    expect(after.text).toBe('Local answer after tools: "12:00"');
    const structured = await localProvider.complete(
      ask('x', {
        responseFormat: {
          type: 'json_schema',
          name: 's',
          schema: { type: 'object', required: ['a'], properties: { a: { enum: [7] } } },
        },
      }),
      ctx(),
    );
    expect(JSON.parse(structured.text)).toEqual({ a: 7 });
  });
});

describe('wire mapping of tool turns', () => {
  const history: ChatRequest['messages'] = [
    { role: 'user', content: 'q' },
    {
      role: 'assistant',
      content: 'looking',
      toolCalls: [
        { id: 't1', name: 'get_weather', arguments: '{"city":"A"}' },
        { id: 't2', name: 'get_weather', arguments: 'not json' },
      ],
    },
    { role: 'tool', toolCallId: 't1', content: 'r1' },
    { role: 'tool', toolCallId: 't2', content: 'r2' },
  ];

  it('Anthropic: tool_use blocks in the assistant turn, consecutive results merged into one user turn', () => {
    const { turns } = toAnthropicConversation(history);
    expect(turns).toEqual([
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'looking' },
          { type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'A' } },
          { type: 'tool_use', id: 't2', name: 'get_weather', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'r1' },
          { type: 'tool_result', tool_use_id: 't2', content: 'r2' },
        ],
      },
    ]);
  });

  it('Bedrock: toolUse and toolResult blocks, results merged into one user turn, tools defined', () => {
    const body = converseBody({ model: 'm', messages: history, tools: [weather], toolChoice: 'required' });
    expect(body.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { toolResult: { toolUseId: 't1', content: [{ text: 'r1' }] } },
        { toolResult: { toolUseId: 't2', content: [{ text: 'r2' }] } },
      ],
    });
    expect(body.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'get_weather', description: 'Weather', inputSchema: { json: weather.parameters } } }],
      toolChoice: { any: {} },
    });
  });

  it('structured output as a forced tool: object schemas as they are, others wrapped and unwrapped', () => {
    const plain = structuredTool({ type: 'json_schema', name: 'obj', schema: { type: 'object' } });
    expect(plain).toMatchObject({ wrapped: false, tool: { name: 'obj', parameters: { type: 'object' } } });
    const wrapped = structuredTool({
      type: 'json_schema',
      name: 'bad name!',
      schema: { type: 'array', items: { $ref: '#/$defs/x' }, $defs: { x: { type: 'string' } } },
    });
    expect(wrapped.wrapped).toBe(true);
    expect(wrapped.tool.name).toBe('structured_output');
    expect(wrapped.tool.parameters).toEqual({
      type: 'object',
      properties: { value: { type: 'array', items: { $ref: '#/$defs/x' } } },
      required: ['value'],
      $defs: { x: { type: 'string' } },
    });
    expect(structuredAnswer({ value: ['a'] }, true)).toBe('["a"]');
    expect(structuredAnswer({ a: 1 }, false)).toBe('{"a":1}');
  });
});
