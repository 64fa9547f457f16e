import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config';
import { ApiError } from '../../../lib/errors';
import { anthropicProvider } from '.';
import {
  DEFAULT_MAX_TOKENS,
  finishReason,
  MessageSchema,
  OPENING_USER_TURN,
  parseEvent,
  promptTokensOf,
  textOf as textOfBlocks,
  toAnthropicConversation,
} from './wire';
import type { ChatRequest, ProviderContext, StreamEvent } from '../types';
import { breakingConnections } from '../../../../test/helpers/breaking-connections';
import { mockRequests } from '../../../../test/helpers/http';

// A canary: it must reach the upstream and nowhere else.
const ANTHROPIC_CANARY_KEY = 'sk-ant-canary-0123456789abcdef';
const MODEL = 'claude-3-5-haiku-latest';

const ctx = (overrides: Record<string, string> = {}, signal = new AbortController().signal): ProviderContext => ({
  config: loadConfig({
    ENVIRONMENT: 'test',
    ANTHROPIC_API_KEY: ANTHROPIC_CANARY_KEY,
    ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL,
    ...overrides,
  }),
  signal,
});
const fastTimeout = () => ctx({ PROVIDER_TIMEOUT_MS: '300' });

const nonce = () => `n${crypto.randomUUID().replaceAll('-', '')}`;
const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: MODEL,
  messages: [{ role: 'user', content }],
  ...extra,
});
const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

async function collect(request: ChatRequest, c = ctx(), seen: StreamEvent[] = []): Promise<StreamEvent[]> {
  for await (const e of anthropicProvider.stream(request, c)) seen.push(e);
  return seen;
}
const textOf = (events: StreamEvent[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

async function onlyRequest(n: string) {
  const recorded = await mockRequests(n);
  expect(recorded).toHaveLength(1);
  const [r] = recorded;
  if (!r) throw new Error('no request recorded');
  return { ...r, json: JSON.parse(r.body) as Record<string, unknown> };
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  // Client-facing messages never carry the key or the upstream's own words.
  expect(err.message).not.toContain(ANTHROPIC_CANARY_KEY);
  expect(err.message).not.toMatch(/overloaded|rate limit|invalid request|internal server/i);
  return err;
}

describe('anthropic provider: configuration', () => {
  it('is configured by its key alone and has a default model', () => {
    expect(anthropicProvider.id).toBe('anthropic');
    expect(anthropicProvider.isConfigured(loadConfig({}))).toBe(false);
    expect(anthropicProvider.isConfigured(loadConfig({ ANTHROPIC_API_KEY: 'sk-ant-x' }))).toBe(true);
    expect(anthropicProvider.defaultModel(loadConfig({}))).toMatch(/^claude-/);
  });
});

describe('anthropic provider against the mock upstream', () => {
  it('completes with the answer, model, finish reason and upstream usage', async () => {
    const prompt = `hello ${nonce()}`;
    const res = await anthropicProvider.complete(ask(prompt), ctx());
    const answer = `Mock answer to: ${prompt}`;
    expect(res).toEqual({
      text: answer,
      model: MODEL,
      finishReason: 'stop',
      usage: {
        promptTokens: tokens(prompt),
        completionTokens: tokens(answer),
        totalTokens: tokens(prompt) + tokens(answer),
      },
    });
  });

  it('streams word by word and ends with the same usage as complete()', async () => {
    const prompt = `stream these words ${nonce()}`;
    const events = await collect(ask(prompt));
    const deltas = events.filter((e) => e.type === 'delta');
    expect(deltas.length).toBeGreaterThan(4);
    expect(textOf(events)).toBe(`Mock answer to: ${prompt}`);
    expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
    const full = await anthropicProvider.complete(ask(prompt), ctx());
    expect(events.at(-1)).toEqual({ type: 'done', model: MODEL, finishReason: 'stop', usage: full.usage });
  });

  it('sends system messages as the top-level system prompt, with the key and an API version', async () => {
    const n = nonce();
    await anthropicProvider.complete(
      {
        model: MODEL,
        messages: [
          { role: 'system', content: 'Be terse.' },
          { role: 'user', content: 'first' },
          { role: 'system', content: 'Answer in English.' },
          { role: 'user', content: `second ${n}` },
        ],
      },
      ctx(),
    );
    const r = await onlyRequest(n);
    expect(r.path).toBe('/v1/messages');
    expect(r.json.system).toBe('Be terse.\n\nAnswer in English.');
    // Consecutive user messages are merged so the roles alternate.
    expect(r.json.messages).toEqual([{ role: 'user', content: `first\n\nsecond ${n}` }]);
    expect(r.json.max_tokens).toBe(DEFAULT_MAX_TOKENS);
    expect(r.json).not.toHaveProperty('stream', true);
    // SDK 1.x sends the key as a Bearer token, not as x-api-key.
    expect(r.headers.authorization).toBe(`Bearer ${ANTHROPIC_CANARY_KEY}`);
    expect(r.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // No SDK retries: the gateway owns them.
    expect(r.headers['x-stainless-retry-count']).toBe('0');
  });

  it('sends maxTokens and stop sequences and maps the stop reasons', async () => {
    const n = nonce();
    const capped = await anthropicProvider.complete(ask(`a long enough question ${n}`, { maxTokens: 3 }), ctx());
    expect(capped.text).toBe('Mock answer to:');
    expect(capped.finishReason).toBe('length');
    const r = await onlyRequest(n);
    expect(r.json.max_tokens).toBe(3);

    const m = nonce();
    const stopped = await anthropicProvider.complete(ask(`where to stop ${m}`, { stop: [' to:'] }), ctx());
    expect(stopped.text).toBe('Mock answer');
    expect(stopped.finishReason).toBe('stop');
    expect((await onlyRequest(m)).json.stop_sequences).toEqual([' to:']);

    const events = await collect(ask(`a long enough question ${nonce()}`, { maxTokens: 2 }));
    expect(textOf(events)).toBe('Mock answer');
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'length' });
  });

  it('opens a conversation that starts with the assistant with a user turn', async () => {
    const n = nonce();
    await anthropicProvider.complete(
      {
        model: MODEL,
        messages: [
          { role: 'assistant', content: 'How can I help?' },
          { role: 'user', content: `this ${n}` },
        ],
      },
      ctx(),
    );
    expect((await onlyRequest(n)).json.messages).toEqual([
      { role: 'user', content: OPENING_USER_TURN },
      { role: 'assistant', content: 'How can I help?' },
      { role: 'user', content: `this ${n}` },
    ]);
  });

  it('refuses a conversation with nothing to answer before calling upstream', async () => {
    const request: ChatRequest = { model: MODEL, messages: [{ role: 'system', content: 'only a system prompt' }] };
    await expect(anthropicProvider.complete(request, ctx())).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(collect(request)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(await mockRequests('only a system prompt')).toHaveLength(0);
  });

  it('streams a slow first token without failing', async () => {
    const started = Date.now();
    const events = await collect(ask(`slowly ${nonce()} [[fault:slow]]`));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });
});

describe('anthropic provider upstream failures', () => {
  it('does not retry-flag a 400', async () => {
    for (const call of [
      () => anthropicProvider.complete(ask('[[fault:400]]'), ctx()),
      () => collect(ask('[[fault:400]]')),
    ]) {
      const err = await failure(call());
      expect(err).toMatchObject({ code: 'PROVIDER_ERROR', cause: { upstreamStatus: 400, retryable: false } });
    }
  });

  it('maps a 429 to a retryable failure carrying Retry-After', async () => {
    for (const call of [
      () => anthropicProvider.complete(ask('[[fault:429]]'), ctx()),
      () => collect(ask('[[fault:429]]')),
    ]) {
      expect(await failure(call())).toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { provider: 'anthropic', upstreamStatus: 429, retryable: true, retryAfterMs: 1000 },
      });
    }
  });

  it('maps 500 and 529 (overloaded) to retryable failures', async () => {
    for (const status of [500, 529]) {
      for (const call of [
        () => anthropicProvider.complete(ask(`[[fault:${status}]]`), ctx()),
        () => collect(ask(`[[fault:${status}]]`)),
      ]) {
        expect(await failure(call())).toMatchObject({
          code: 'PROVIDER_ERROR',
          cause: { upstreamStatus: status, retryable: true },
        });
      }
    }
  });

  it('times out a hanging upstream with PROVIDER_TIMEOUT', async () => {
    await expect(anthropicProvider.complete(ask('[[fault:hang]]'), fastTimeout())).rejects.toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      cause: { provider: 'anthropic', retryable: true },
    });
    await expect(collect(ask('[[fault:hang]]'), fastTimeout())).rejects.toMatchObject({ code: 'PROVIDER_TIMEOUT' });
  });

  it('rejects a malformed answer', async () => {
    expect(await failure(anthropicProvider.complete(ask('[[fault:malformed]]'), ctx()))).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'malformed-response', retryable: true },
    });
    expect(await failure(collect(ask('[[fault:malformed]]')))).toMatchObject({ code: 'PROVIDER_ERROR' });
  });

  it('fails a stream that is cut mid-answer instead of ending silently', () =>
    breakingConnections(async () => {
      const seen: StreamEvent[] = [];
      const err = await failure(collect(ask(`cut me off please ${nonce()} [[fault:cut]]`), ctx(), seen));
      expect(err).toMatchObject({ code: 'PROVIDER_ERROR', cause: { reason: 'stream-interrupted', retryable: true } });
      // What arrived before the cut was passed on, but no `done`.
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((e) => e.type === 'delta')).toBe(true);
      expect(await failure(anthropicProvider.complete(ask('[[fault:cut]]'), ctx()))).toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { retryable: true },
      });
    }));

  it('fails a stream on an error event, with the status its error type stands for', async () => {
    const seen: StreamEvent[] = [];
    const err = await failure(collect(ask(`overload me midway ${nonce()} [[fault:midstream]]`), ctx(), seen));
    expect(err).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'stream-error', upstreamStatus: 529, retryable: true },
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((e) => e.type === 'done')).toBe(false);
  });

  it('refuses to follow a redirect, so the key never leaves for another host', async () => {
    const n = nonce();
    for (const call of [
      () => anthropicProvider.complete(ask(`${n} [[fault:redirect]]`), ctx()),
      () => collect(ask(`${n} [[fault:redirect]]`)),
    ]) {
      expect(await failure(call())).toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { reason: 'redirect-refused', upstreamStatus: 302 },
      });
    }
    // One request each to the mock, none followed to evil.example.
    expect(await mockRequests(n)).toHaveLength(2);
  });
});

describe('anthropic provider cancellation', () => {
  it('stops a call when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    await expect(anthropicProvider.complete(ask('[[fault:hang]]'), ctx({}, controller.signal))).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'aborted' },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops a stream mid-way and lets go of the upstream connection', () =>
    breakingConnections(async () => {
      const n = nonce();
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      await expect(collect(ask(`${n} [[fault:slow]]`), ctx({}, controller.signal))).rejects.toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { reason: 'aborted' },
      });
      const recorded = async () => ((await mockRequests(n))[0] as { aborted?: boolean } | undefined)?.aborted;
      await expect.poll(recorded, { timeout: 2_000 }).toBe(true);
    }));

  it('does not call upstream when the signal is already aborted', async () => {
    const n = nonce();
    await expect(anthropicProvider.complete(ask(n), ctx({}, AbortSignal.abort()))).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'aborted' },
    });
    expect(await mockRequests(n)).toHaveLength(0);
  });
});

describe('anthropic wire mapping', () => {
  it('maps every stop reason', () => {
    expect(finishReason('end_turn')).toBe('stop');
    expect(finishReason('stop_sequence')).toBe('stop');
    expect(finishReason('pause_turn')).toBe('stop');
    expect(finishReason('max_tokens')).toBe('length');
    expect(finishReason('model_context_window_exceeded')).toBe('length');
    expect(finishReason('tool_use')).toBe('tool_calls');
    expect(finishReason('refusal')).toBe('content_filter');
    expect(finishReason(null)).toBe('stop');
  });

  it('validates stream events and tolerates unknown ones', () => {
    expect(parseEvent({ type: 'ping' })).toBe('ignore');
    expect(parseEvent({ type: 'some_future_event', whatever: 1 })).toBe('ignore');
    expect(parseEvent('not an event')).toBeUndefined();
    expect(parseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta' } })).toBeUndefined();
    expect(parseEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: {} })).toBeUndefined();
    expect(
      parseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{' } }),
    ).toMatchObject({ type: 'content_block_delta' });
  });

  it('reads text blocks from a message and skips other kinds', () => {
    const message = {
      type: 'message',
      model: MODEL,
      stop_reason: 'tool_use',
      usage: { input_tokens: 5, output_tokens: 7, cache_read_input_tokens: 3 },
      content: [
        { type: 'text', text: 'Let me look. ' },
        { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {} },
        { type: 'text', text: 'Done.' },
      ],
    };
    const parsed = MessageSchema.parse(message);
    expect(textOfBlocks(parsed.content)).toBe('Let me look. Done.');
    expect(promptTokensOf(parsed.usage)).toBe(8);
    expect(MessageSchema.safeParse({ ...message, content: [{ type: 'text' }] }).success).toBe(false);
    expect(MessageSchema.safeParse({ ...message, usage: { input_tokens: 5 } }).success).toBe(false);
  });

  it('drops empty messages and trims a trailing assistant prefill', () => {
    expect(
      toAnthropicConversation([
        { role: 'user', content: 'q' },
        { role: 'assistant', content: '   ' },
        { role: 'user', content: 'again' },
        { role: 'assistant', content: 'The answer is ' },
      ]),
    ).toEqual({
      system: undefined,
      turns: [
        { role: 'user', content: 'q\n\nagain' },
        { role: 'assistant', content: 'The answer is' },
      ],
    });
  });
});
