import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { waitForRequestRow } from '../helpers/db';
import { type EnvOverrides, mockRequests, postJson } from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

// Tool calling and structured output through the OpenAI and Anthropic dialects, against the mock upstream
// in each vendor's wire format (markers: test/mock-upstream/common.ts) and the local provider.
type Json = Record<string, unknown>;

interface Vendor {
  name: string;
  model: string;
  env: () => EnvOverrides;
}

const settings = { RETRY_MAX_RETRIES: '0', CACHE_ENABLED: 'false' };

const vendors: Vendor[] = [
  {
    name: 'openai',
    model: 'openai:gpt-4o-mini',
    env: () => ({ OPENAI_API_KEY: 'sk-tools', OPENAI_BASE_URL: `${env.MOCK_UPSTREAM_URL}/v1` }),
  },
  {
    name: 'groq',
    model: 'groq:llama-3.3-70b-versatile',
    env: () => ({ GROQ_API_KEY: 'gsk-tools', GROQ_BASE_URL: `${env.MOCK_UPSTREAM_URL}/groq/v1` }),
  },
  {
    name: 'anthropic',
    model: 'anthropic:claude-3-5-haiku-latest',
    env: () => ({ ANTHROPIC_API_KEY: 'sk-ant-tools', ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL }),
  },
  {
    name: 'bedrock',
    model: 'bedrock:anthropic.claude-3-haiku-20240307-v1:0',
    env: () => ({
      AWS_ACCESS_KEY_ID: 'AKIDTOOLS',
      AWS_SECRET_ACCESS_KEY: 'tools-secret-key',
      AWS_REGION: 'us-east-1',
      BEDROCK_BASE_URL: env.MOCK_UPSTREAM_URL,
    }),
  },
];

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const time = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } },
};
const anthropicWeather = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

interface OpenAIToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

// Tool calls assembled from OpenAI chunk deltas, as the SDK does.
function assembleOpenAI(frames: unknown[]): { calls: OpenAIToolCall[]; finish: string | null; content: string } {
  const calls: OpenAIToolCall[] = [];
  let finish: string | null = null;
  let content = '';
  for (const f of frames as {
    choices?: {
      delta?: { content?: string | null; tool_calls?: (Partial<OpenAIToolCall> & { index: number })[] };
      finish_reason?: string | null;
    }[];
  }[]) {
    for (const c of f.choices ?? []) {
      content += c.delta?.content ?? '';
      for (const piece of c.delta?.tool_calls ?? []) {
        const call = (calls[piece.index] ??= { id: '', type: '', function: { name: '', arguments: '' } });
        if (piece.id) call.id = piece.id;
        if (piece.type) call.type = piece.type;
        if (piece.function?.name) call.function.name = piece.function.name;
        call.function.arguments += piece.function?.arguments ?? '';
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return { calls, finish, content };
}

async function chat(vendor: Vendor, body: Json): Promise<Response> {
  return postJson('/v1/chat/completions', { model: vendor.model, ...body }, { ...vendor.env(), ...settings });
}

async function messages(vendor: Vendor, body: Json): Promise<Response> {
  return postJson('/v1/messages', { model: vendor.model, max_tokens: 200, ...body }, { ...vendor.env(), ...settings });
}

// The body the mock received for the request carrying `nonce`.
async function upstreamBody(nonce: string): Promise<Json> {
  const seen = await mockRequests(nonce);
  expect(seen.length).toBeGreaterThan(0);
  return JSON.parse(seen.at(-1)?.body ?? '{}') as Json;
}

describe.each(vendors)('$name: tools through /v1/chat/completions', (vendor) => {
  it('passes a tool call through (JSON), content null and finish_reason tool_calls', async () => {
    const nonce = crypto.randomUUID();
    const res = await chat(vendor, {
      messages: [{ role: 'user', content: `weather? [[tool:get_weather {"city":"Paris"}]] ${nonce}` }],
      tools: [weather],
    });
    const body = (await res.json()) as {
      choices: { message: { content: string | null; tool_calls: OpenAIToolCall[] }; finish_reason: string }[];
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const choice = body.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toHaveLength(1);
    expect(choice?.message.tool_calls[0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(choice?.message.tool_calls[0]?.id).toMatch(/\S/);
    expect(JSON.parse(choice?.message.tool_calls[0]?.function.arguments ?? '')).toEqual({ city: 'Paris' });
    // The tool went upstream in the vendor's own shape.
    const sent = JSON.stringify(await upstreamBody(nonce));
    if (vendor.name === 'anthropic') expect(sent).toContain('"input_schema"');
    else if (vendor.name === 'bedrock') expect(sent).toContain('"toolSpec"');
    else expect(sent).toContain('"type":"function"');
  });

  it('streams parallel tool calls as OpenAI delta.tool_calls', async () => {
    const nonce = crypto.randomUUID();
    const res = await chat(vendor, {
      stream: true,
      messages: [
        {
          role: 'user',
          content: `both [[tool:get_weather {"city":"Rome"}]] [[tool:get_time {"zone":"UTC"}]] ${nonce}`,
        },
      ],
      tools: [weather, time],
      parallel_tool_calls: true,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const { calls, finish, content } = assembleOpenAI(dataFrames(parseSse(text)));
    expect(finish, text).toBe('tool_calls');
    expect(content).toBe('');
    expect(calls.map((c) => c.function.name)).toEqual(['get_weather', 'get_time']);
    expect(calls.map((c) => JSON.parse(c.function.arguments) as unknown)).toEqual([{ city: 'Rome' }, { zone: 'UTC' }]);
    expect(calls.every((c) => c.type === 'function' && c.id !== '')).toBe(true);
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  });

  it("sends the client's tool results back and answers them", async () => {
    const nonce = crypto.randomUUID();
    const res = await chat(vendor, {
      messages: [
        { role: 'user', content: `weather in Paris and Rome? ${nonce}` },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_a1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a1', content: 'sunny 21C' },
        { role: 'tool', tool_call_id: 'call_b2', content: 'rain 14C' },
      ],
      tools: [weather],
    });
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.choices[0]?.message.content).toBe('Mock answer after tools: sunny 21C | rain 14C');
    expect(body.choices[0]?.finish_reason).toBe('stop');
    const sent = await upstreamBody(nonce);
    const msgs = (sent.messages as Json[]) ?? [];
    if (vendor.name === 'anthropic') {
      // Both results in one user turn, after the assistant's tool_use blocks.
      expect(msgs.at(-2)).toMatchObject({
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_a1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_b2' },
        ],
      });
      expect(msgs.at(-1)).toMatchObject({
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_a1', content: 'sunny 21C' },
          { type: 'tool_result', tool_use_id: 'call_b2', content: 'rain 14C' },
        ],
      });
    } else if (vendor.name === 'bedrock') {
      expect(msgs.at(-2)).toMatchObject({
        role: 'assistant',
        content: [{ toolUse: { toolUseId: 'call_a1', name: 'get_weather', input: { city: 'Paris' } } }, {}],
      });
      expect(msgs.at(-1)).toMatchObject({
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call_a1', content: [{ text: 'sunny 21C' }] } },
          { toolResult: { toolUseId: 'call_b2', content: [{ text: 'rain 14C' }] } },
        ],
      });
    } else {
      expect(msgs.at(-3)).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_a1' }, { id: 'call_b2' }] });
      expect(msgs.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_b2', content: 'rain 14C' });
    }
  });

  it('forces the named tool with tool_choice', async () => {
    const nonce = crypto.randomUUID();
    const res = await chat(vendor, {
      messages: [{ role: 'user', content: `what time is it? ${nonce}` }],
      tools: [weather, time],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const body = (await res.json()) as { choices: { message: { tool_calls: OpenAIToolCall[] } }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const call = body.choices[0]?.message.tool_calls[0];
    expect(call?.function.name).toBe('get_weather');
    // The mock fills the required arguments with a minimal instance of the schema.
    expect(JSON.parse(call?.function.arguments ?? '')).toEqual({ city: 'text' });
    const sent = await upstreamBody(nonce);
    if (vendor.name === 'anthropic') expect(sent.tool_choice).toEqual({ type: 'tool', name: 'get_weather' });
    else if (vendor.name === 'bedrock')
      expect((sent.toolConfig as Json).toolChoice).toEqual({ tool: { name: 'get_weather' } });
    else expect(sent.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
  });

  it.each([false, true])('answers a malformed tool-call answer with 502, not 500 (stream: %s)', async (stream) => {
    const res = await chat(vendor, {
      stream,
      messages: [{ role: 'user', content: `broken [[fault:badtool]] ${crypto.randomUUID()}` }],
      tools: [weather],
    });
    const text = await res.text();
    expect(res.status, text).toBe(502);
    expect((JSON.parse(text) as { error: Json }).error).toMatchObject({ code: 'provider_error' });
  });

  it('passes response_format upstream and answers its JSON', async () => {
    const nonce = crypto.randomUUID();
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, temperature: { type: 'integer', minimum: -50 } },
      required: ['city', 'temperature'],
      additionalProperties: false,
    };
    const res = await chat(vendor, {
      messages: [{ role: 'user', content: `structured ${nonce}` }],
      response_format: { type: 'json_schema', json_schema: { name: 'forecast', schema, strict: true } },
    });
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(JSON.parse(body.choices[0]?.message.content ?? '')).toEqual({ city: 'text', temperature: -50 });
    expect(body.choices[0]?.finish_reason).toBe('stop');
    const sent = await upstreamBody(nonce);
    if (vendor.name === 'anthropic') {
      expect(sent.tool_choice).toEqual({ type: 'tool', name: 'forecast' });
      expect(sent.tools).toEqual([expect.objectContaining({ name: 'forecast', input_schema: schema })]);
    } else if (vendor.name === 'bedrock') {
      expect((sent.toolConfig as Json).toolChoice).toEqual({ tool: { name: 'forecast' } });
    } else {
      expect(sent.response_format).toEqual({
        type: 'json_schema',
        json_schema: { name: 'forecast', schema, strict: true },
      });
    }
  });

  it('streams a structured answer given by a [[json:...]] marker', async () => {
    const res = await chat(vendor, {
      stream: true,
      messages: [{ role: 'user', content: `[[json:{"city":"Oslo","temperature":3}]] ${crypto.randomUUID()}` }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'forecast', schema: { type: 'object', properties: { city: { type: 'string' } } } },
      },
    });
    const { content, finish } = assembleOpenAI(dataFrames(parseSse(await res.text())));
    expect(JSON.parse(content)).toEqual({ city: 'Oslo', temperature: 3 });
    expect(finish).toBe('stop');
  });
});

interface AnthropicBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

// Content blocks assembled from Anthropic SSE events, as the SDK does.
function assembleAnthropic(text: string): { blocks: AnthropicBlock[]; stop: string | undefined; events: string[] } {
  const frames = parseSse(text).filter((f) => f.event);
  const blocks: AnthropicBlock[] = [];
  const json: string[] = [];
  let stop: string | undefined;
  for (const f of frames) {
    const d = JSON.parse(f.data ?? '{}') as {
      index: number;
      content_block?: AnthropicBlock;
      delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string };
    };
    if (f.event === 'content_block_start' && d.content_block) {
      blocks[d.index] = { ...d.content_block };
      json[d.index] = '';
    }
    if (f.event === 'content_block_delta' && d.delta?.type === 'text_delta') {
      const b = blocks[d.index] as AnthropicBlock;
      b.text = (b.text ?? '') + (d.delta.text ?? '');
    }
    if (f.event === 'content_block_delta' && d.delta?.type === 'input_json_delta') {
      json[d.index] = (json[d.index] ?? '') + (d.delta.partial_json ?? '');
    }
    if (f.event === 'content_block_stop') {
      const b = blocks[d.index] as AnthropicBlock;
      if (b.type === 'tool_use') b.input = JSON.parse(json[d.index] || '{}') as unknown;
    }
    if (f.event === 'message_delta') stop = d.delta?.stop_reason;
  }
  return { blocks, stop, events: frames.map((f) => f.event ?? '') };
}

describe.each(vendors)('$name: tools through /v1/messages', (vendor) => {
  it('passes tool_use blocks through (JSON), stop_reason tool_use', async () => {
    const res = await messages(vendor, {
      messages: [{ role: 'user', content: `weather? [[tool:get_weather {"city":"Lima"}]] ${crypto.randomUUID()}` }],
      tools: [anthropicWeather],
    });
    const body = (await res.json()) as { content: AnthropicBlock[]; stop_reason: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.stop_reason).toBe('tool_use');
    expect(body.content).toEqual([
      { type: 'tool_use', id: expect.stringMatching(/\S/), name: 'get_weather', input: { city: 'Lima' } },
    ]);
  });

  it('streams tool_use blocks: content_block_start, input_json_delta, content_block_stop', async () => {
    const res = await messages(vendor, {
      stream: true,
      messages: [
        {
          role: 'user',
          content: `two [[tool:get_weather {"city":"Lima"}]] [[tool:get_weather {"city":"Quito"}]] ${crypto.randomUUID()}`,
        },
      ],
      tools: [anthropicWeather],
    });
    expect(res.status).toBe(200);
    const { blocks, stop, events } = assembleAnthropic(await res.text());
    expect(stop).toBe('tool_use');
    expect(events.at(-1)).toBe('message_stop');
    const tools = blocks.filter((b) => b.type === 'tool_use');
    expect(tools.map((b) => b.input)).toEqual([{ city: 'Lima' }, { city: 'Quito' }]);
    expect(tools.every((b) => b.name === 'get_weather' && typeof b.id === 'string' && b.id !== '')).toBe(true);
    // Every block that starts stops.
    expect(events.filter((e) => e === 'content_block_start').length).toBe(
      events.filter((e) => e === 'content_block_stop').length,
    );
  });

  it('takes tool_result blocks back and answers them', async () => {
    const res = await messages(vendor, {
      messages: [
        { role: 'user', content: `weather in Lima? ${crypto.randomUUID()}` },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me look.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Lima' } },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'fog 17C' }] }],
        },
      ],
      tools: [anthropicWeather],
      tool_choice: { type: 'auto' },
    });
    const body = (await res.json()) as { content: AnthropicBlock[]; stop_reason: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.content).toEqual([{ type: 'text', text: 'Mock answer after tools: fog 17C' }]);
    expect(body.stop_reason).toBe('end_turn');
  });

  it('forces a tool with tool_choice any', async () => {
    const res = await messages(vendor, {
      messages: [{ role: 'user', content: `anything ${crypto.randomUUID()}` }],
      tools: [anthropicWeather],
      tool_choice: { type: 'any' },
    });
    const body = (await res.json()) as { content: AnthropicBlock[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'text' } });
  });
});

describe('the local provider', () => {
  const local = { name: 'local', model: 'edgeway-local', env: () => ({}) };

  it('calls a tool named by a marker, by name, or forced; answers tool results', async () => {
    const marked = (await (
      await chat(local, {
        messages: [{ role: 'user', content: 'go [[tool:get_weather {"city":"Oslo"}]]' }],
        tools: [weather],
      })
    ).json()) as { choices: { message: { tool_calls: OpenAIToolCall[] }; finish_reason: string }[] };
    expect(marked.choices[0]?.finish_reason).toBe('tool_calls');
    expect(marked.choices[0]?.message.tool_calls[0]?.function).toEqual({
      name: 'get_weather',
      arguments: '{"city":"Oslo"}',
    });

    // get_time requires nothing, so naming it is enough.
    const named = (await (
      await chat(local, { messages: [{ role: 'user', content: 'please get_time now' }], tools: [weather, time] })
    ).json()) as { choices: { message: { tool_calls: OpenAIToolCall[] } }[] };
    expect(named.choices[0]?.message.tool_calls.map((c) => c.function)).toEqual([
      { name: 'get_time', arguments: '{}' },
    ]);

    const plain = (await (
      await chat(local, { messages: [{ role: 'user', content: 'hello there' }], tools: [weather, time] })
    ).json()) as { choices: { message: { content: string; tool_calls?: unknown } }[] };
    expect(plain.choices[0]?.message.tool_calls).toBeUndefined();

    const answered = (await (
      await chat(local, {
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'snow' },
        ],
        tools: [weather],
      })
    ).json()) as { choices: { message: { content: string } }[] };
    expect(answered.choices[0]?.message.content).toBe('Local answer after tools: "snow"');
  });

  it('streams a forced call through /v1/messages and answers structured output with a schema instance', async () => {
    const res = await messages(local, {
      stream: true,
      messages: [{ role: 'user', content: 'anything' }],
      tools: [anthropicWeather],
      tool_choice: { type: 'tool', name: 'get_weather' },
    });
    const { blocks, stop } = assembleAnthropic(await res.text());
    expect(stop).toBe('tool_use');
    expect(blocks.filter((b) => b.type === 'tool_use')).toEqual([
      expect.objectContaining({ name: 'get_weather', input: { city: 'text' } }),
    ]);

    const structured = (await (
      await chat(local, {
        messages: [{ role: 'user', content: 'a date please' }],
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'when',
            schema: {
              type: 'object',
              properties: { day: { type: 'string', format: 'date' }, n: { type: 'integer', minimum: 2 } },
              required: ['day', 'n'],
            },
          },
        },
      })
    ).json()) as { choices: { message: { content: string } }[] };
    expect(JSON.parse(structured.choices[0]?.message.content ?? '')).toEqual({ day: '2024-01-01', n: 2 });
  });
});

describe('invalid tool definitions', () => {
  const local = { name: 'local', model: 'edgeway-local', env: () => ({}) };
  const fn = (name: string, parameters: unknown = { type: 'object' }) => ({
    type: 'function',
    function: { name, parameters },
  });

  it.each([
    ['a name with spaces', { tools: [fn('get weather')] }, 'tools.0.function.name'],
    ['a name of 65 characters', { tools: [fn('x'.repeat(65))] }, 'tools.0.function.name'],
    [
      'parameters that are not an object schema',
      { tools: [fn('f', { type: 'string' })] },
      'tools.0.function.parameters',
    ],
    ['too many tools', { tools: Array.from({ length: 129 }, (_, i) => fn(`f${i}`)) }, 'tools'],
    ['a duplicate name', { tools: [fn('f'), fn('f')] }, 'tools.1.name'],
    [
      'a tool_choice naming no defined tool',
      { tools: [fn('f')], tool_choice: { type: 'function', function: { name: 'g' } } },
      'tool_choice',
    ],
    ['a tool message without tool_call_id', { messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.tool_call_id'],
    ['legacy functions', { functions: [{ name: 'f' }] }, 'functions'],
  ])('refuses %s with 400 (OpenAI dialect)', async (_what, extra, param) => {
    const res = await chat(local, { messages: [{ role: 'user', content: 'x' }], ...extra });
    const body = (await res.json()) as { error: Json };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param });
  });

  it.each([
    ['a bad name', { tools: [{ name: 'no/slash', input_schema: { type: 'object' } }] }],
    ['a missing input_schema', { tools: [{ name: 'f' }] }],
    ['a server tool', { tools: [{ type: 'bash_20250124', name: 'bash', input_schema: { type: 'object' } }] }],
    ['tool_choice naming no tool', { tools: [anthropicWeather], tool_choice: { type: 'tool', name: 'nope' } }],
  ])('refuses %s with 400 (Anthropic dialect)', async (_what, extra) => {
    const res = await messages(local, { messages: [{ role: 'user', content: 'x' }], ...extra });
    const body = (await res.json()) as { type: string; error: Json };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});

describe('the cache and tools', () => {
  it('keys on tools: requests differing only in tools never share an answer; a tool answer replays faithfully', async () => {
    const prompt = `cache tools get_time ${crypto.randomUUID()}`;
    const base = { model: 'edgeway-local', messages: [{ role: 'user', content: prompt }] };
    const withTools = await postJson('/v1/chat/completions', { ...base, tools: [time] });
    expect(withTools.headers.get('x-cache-status')).toBe('MISS');
    const first = (await withTools.json()) as { choices: { message: Json; finish_reason: string }[] };
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');

    const without = await postJson('/v1/chat/completions', base);
    expect(without.headers.get('x-cache-status')).toBe('MISS');
    const text = (await without.json()) as { choices: { message: Json; finish_reason: string }[] };
    expect(text.choices[0]?.finish_reason).toBe('stop');
    expect(text.choices[0]?.message.tool_calls).toBeUndefined();

    // Another tool set (same prompt): its own key too.
    const other = await postJson('/v1/chat/completions', { ...base, tools: [weather] });
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    await other.body?.cancel();

    // The same request again: a hit, with its tool calls, never as text.
    const again = await postJson('/v1/chat/completions', { ...base, tools: [time] });
    expect(again.headers.get('x-cache-status')).toBe('HIT');
    const hit = (await again.json()) as { choices: { message: Json; finish_reason: string }[] };
    expect(hit.choices[0]?.message).toEqual(first.choices[0]?.message);
    expect(hit.choices[0]?.finish_reason).toBe('tool_calls');

    // And streamed from the cache, as tool call frames.
    const streamed = await postJson('/v1/chat/completions', { ...base, tools: [time], stream: true });
    expect(streamed.headers.get('x-cache-status')).toBe('HIT');
    const { calls, finish } = assembleOpenAI(dataFrames(parseSse(await streamed.text())));
    expect(finish).toBe('tool_calls');
    expect(calls.map((c) => c.function)).toEqual([{ name: 'get_time', arguments: '{}' }]);
  });

  it('keys on response_format and tool_choice', async () => {
    const prompt = `cache format ${crypto.randomUUID()}`;
    const base = { model: 'edgeway-local', messages: [{ role: 'user', content: prompt }] };
    const plain = await postJson('/v1/chat/completions', base);
    await plain.body?.cancel();
    const json = await postJson('/v1/chat/completions', { ...base, response_format: { type: 'json_object' } });
    expect(json.headers.get('x-cache-status')).toBe('MISS');
    const body = (await json.json()) as { choices: { message: { content: string } }[] };
    expect(JSON.parse(body.choices[0]?.message.content ?? '')).toEqual({});
    const none = await postJson('/v1/chat/completions', { ...base, tools: [time], tool_choice: 'none' });
    expect(none.headers.get('x-cache-status')).toBe('MISS');
    const auto = await postJson('/v1/chat/completions', { ...base, tools: [time], tool_choice: 'auto' });
    expect(auto.headers.get('x-cache-status')).toBe('MISS');
    await Promise.all([none.body?.cancel(), auto.body?.cancel()]);
  });

  it('skips the semantic step for a call with tools: a rephrased question is not the same call', async () => {
    const ask = (content: string, extra: Json = {}) =>
      postJson('/v1/chat/completions', { model: 'edgeway-local', messages: [{ role: 'user', content }], ...extra });
    const status = async (res: Promise<Response>) => {
      const r = await res;
      await r.body?.cancel();
      return r.headers.get('x-cache-status');
    };
    // Without tools the rephrasing is a semantic hit (the control)...
    expect(await status(ask('What is the capital city of Uzbekistan?'))).toBe('MISS');
    await expect.poll(() => status(ask('What is the capital city of Uzbekistan?'))).toBe('HIT');
    expect(await status(ask('Tell me the capital city of Uzbekistan'))).toBe('HIT');
    // ...with tools it is not, though the exact twin still hits.
    const tools = { tools: [weather] };
    expect(await status(ask('What is the capital city of Kyrgyzstan?', tools))).toBe('MISS');
    await expect.poll(() => status(ask('What is the capital city of Kyrgyzstan?', tools))).toBe('HIT');
    expect(await status(ask('Tell me the capital city of Kyrgyzstan', tools))).toBe('MISS');
    const format = { response_format: { type: 'json_object' } };
    expect(await status(ask('What is the capital city of Tajikistan?', format))).toBe('MISS');
    await expect.poll(() => status(ask('What is the capital city of Tajikistan?', format))).toBe('HIT');
    expect(await status(ask('Tell me the capital city of Tajikistan', format))).toBe('MISS');
  });

  it.each([false, true])(
    'shares one upstream tool-call answer among identical concurrent calls (stream: %s)',
    async (stream) => {
      const vendor = vendors[0] as Vendor;
      const nonce = crypto.randomUUID();
      const body = {
        model: vendor.model,
        stream,
        messages: [{ role: 'user', content: `[[fault:delay]] [[tool:get_time {"zone":"UTC"}]] ${nonce}` }],
        tools: [time],
      };
      const overrides = { ...vendor.env(), RETRY_MAX_RETRIES: '0' };
      const [a, b] = await Promise.all([
        postJson('/v1/chat/completions', body, overrides),
        postJson('/v1/chat/completions', body, overrides),
      ]);
      for (const res of [a, b]) {
        if (stream) {
          const { calls, finish } = assembleOpenAI(dataFrames(parseSse(await res.text())));
          expect(finish).toBe('tool_calls');
          expect(calls.map((c) => c.function)).toEqual([{ name: 'get_time', arguments: '{"zone":"UTC"}' }]);
        } else {
          const json = (await res.json()) as { choices: { message: { tool_calls: OpenAIToolCall[] } }[] };
          expect(json.choices[0]?.message.tool_calls.map((c) => c.function)).toEqual([
            { name: 'get_time', arguments: '{"zone":"UTC"}' },
          ]);
        }
      }
      expect(await mockRequests(nonce)).toHaveLength(1);
    },
  );

  it('records a tool-call answer as its calls', async () => {
    const res = await postJson('/v1/chat/completions', {
      model: 'edgeway-local',
      messages: [{ role: 'user', content: `[[tool:get_time {"zone":"CET"}]] ${crypto.randomUUID()}` }],
      tools: [time],
    });
    const id = res.headers.get('x-request-id') ?? '';
    await res.body?.cancel();
    const row = await waitForRequestRow(id);
    expect(String(row.response)).toContain('get_time');
  });
});
