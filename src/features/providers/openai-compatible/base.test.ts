import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../config';
import { ApiError } from '../../../lib/errors';
import { openaiProvider } from '../openai';
import type { ChatRequest, ProviderContext, StreamEvent } from '../types';
import { openaiCompatibleProvider } from '.';
import { breakingConnections } from '../../../../test/helpers/breaking-connections';
import { mockRequests, OPENAI_CANARY_KEY } from '../../../../test/helpers/http';

// The OpenAI-wire provider calls upstream with a plain fetch: what it sends, how it reads a JSON answer
// and an event stream, and how every failure maps. Against the mock upstream (test/mock-upstream), and,
// for wire shapes the mock never sends, against a fetch stub that answers given bytes.

const ctx = (overrides: Record<string, string> = {}, signal = new AbortController().signal): ProviderContext => ({
  config: loadConfig({
    ENVIRONMENT: 'test',
    OPENAI_API_KEY: OPENAI_CANARY_KEY,
    OPENAI_BASE_URL: `${env.MOCK_UPSTREAM_URL}/v1`,
    ...overrides,
  }),
  signal,
});
const nonce = () => `n${crypto.randomUUID().replaceAll('-', '')}`;
const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content }],
  ...extra,
});

async function collect(request: ChatRequest, c = ctx(), seen: StreamEvent[] = []): Promise<StreamEvent[]> {
  for await (const e of openaiProvider.stream(request, c)) seen.push(e);
  return seen;
}
const textOf = (events: StreamEvent[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  expect(err.message).not.toContain(OPENAI_CANARY_KEY);
  return err;
}

// The mock's token counts (test/mock-upstream/common.ts): a quarter of the characters, rounded up.
const mockTokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

describe('openai-wire provider: what it sends', () => {
  it('sends the key as a Bearer token and the request in the OpenAI wire shape, asking for usage on streams', async () => {
    const n = nonce();
    const prompt = `words ${n}`;
    const request = ask(prompt, { temperature: 0.5, maxTokens: 40, topP: 0.9, stop: ['END'] });
    const done = await openaiProvider.complete(request, ctx());
    const streamed = await collect(request);
    const recorded = await mockRequests(n);
    expect(recorded.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions']);
    const wire = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: prompt }],
      temperature: 0.5,
      max_tokens: 40,
      top_p: 0.9,
      stop: ['END'],
    };
    expect(JSON.parse(recorded[0]?.body ?? '')).toEqual({ ...wire, stream: false });
    expect(JSON.parse(recorded[1]?.body ?? '')).toEqual({
      ...wire,
      stream: true,
      stream_options: { include_usage: true },
    });
    for (const r of recorded) {
      expect(r.headers.authorization).toBe(`Bearer ${OPENAI_CANARY_KEY}`);
      expect(r.headers['content-type']).toBe('application/json');
    }
    // The mock's counts; the stubbed answers below tell upstream usage from the provider's estimate.
    const answer = `Mock answer to: ${prompt}`;
    const usage = {
      promptTokens: mockTokens(prompt),
      completionTokens: mockTokens(answer),
      totalTokens: mockTokens(prompt) + mockTokens(answer),
    };
    expect(done).toEqual({ text: answer, model: 'gpt-4o-mini', finishReason: 'stop', usage });
    expect(textOf(streamed)).toBe(answer);
    expect(streamed.at(-1)).toEqual({ type: 'done', model: 'gpt-4o-mini', finishReason: 'stop', usage });
  });

  it('sends no Authorization header to a self-hosted server without a key, and embeds in floats', async () => {
    const n = nonce();
    // Config drops one trailing slash of a base URL; the provider, any left.
    const compat = ctx({ OPENAI_COMPATIBLE_BASE_URL: `${env.MOCK_UPSTREAM_URL}/compat/v1//` });
    const answer = await openaiCompatibleProvider.complete(ask(`local ${n}`, { model: 'llama3' }), compat);
    expect(answer.text).toBe(`Mock answer to: local ${n}`);
    const embed = openaiCompatibleProvider.embed;
    if (!embed) throw new Error('openai-compatible must embed');
    const [one] = await embed([`one ${n}`], 'nomic-embed-text', compat);
    const two = await embed([`first ${n}`, `second ${n}`], 'nomic-embed-text', compat);
    expect(one).toHaveLength(64);
    expect(two.map((v) => v.length)).toEqual([64, 64]);
    const recorded = await mockRequests(n);
    expect(recorded.map((r) => r.path)).toEqual([
      '/compat/v1/chat/completions',
      '/compat/v1/embeddings',
      '/compat/v1/embeddings',
    ]);
    for (const r of recorded) expect(r.headers.authorization).toBeUndefined();
    expect(JSON.parse(recorded[1]?.body ?? '')).toEqual({
      model: 'nomic-embed-text',
      input: `one ${n}`,
      encoding_format: 'float',
    });
    expect(JSON.parse(recorded[2]?.body ?? '')).toMatchObject({ input: [`first ${n}`, `second ${n}`] });
  });
});

describe('openai-wire provider: upstream failures', () => {
  it('maps statuses: 429 and 500 retryable (with Retry-After), 400 not', async () => {
    for (const call of [(p: string) => openaiProvider.complete(ask(p), ctx()), (p: string) => collect(ask(p))]) {
      expect(await failure(call('[[fault:429]]'))).toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { provider: 'openai', reason: 'status', upstreamStatus: 429, retryable: true, retryAfterMs: 1000 },
      });
      expect(await failure(call('[[fault:500]]'))).toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { upstreamStatus: 500, retryable: true, retryAfterMs: undefined },
      });
      expect(await failure(call('[[fault:400]]'))).toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { upstreamStatus: 400, retryable: false },
      });
    }
  });

  it('refuses to follow a redirect, so the key never leaves for another host', async () => {
    const n = nonce();
    for (const call of [
      () => openaiProvider.complete(ask(`${n} [[fault:redirect]]`), ctx()),
      () => collect(ask(`${n} [[fault:redirect]]`)),
    ]) {
      expect(await failure(call())).toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { reason: 'redirect-refused', upstreamStatus: 302 },
      });
    }
    expect(await mockRequests(n)).toHaveLength(2);
  });

  it('times out a hanging upstream with PROVIDER_TIMEOUT and lets go of the connection', () =>
    breakingConnections(async () => {
      const n = nonce();
      const fast = () => ctx({ PROVIDER_TIMEOUT_MS: '300' });
      for (const call of [
        () => openaiProvider.complete(ask(`${n} [[fault:hang]]`), fast()),
        () => collect(ask(`${n} [[fault:hang]]`), fast()),
      ]) {
        const started = Date.now();
        expect(await failure(call())).toMatchObject({
          code: 'PROVIDER_TIMEOUT',
          cause: { provider: 'openai', retryable: true },
        });
        expect(Date.now() - started).toBeLessThan(3_000);
      }
      const aborted = async () => (await mockRequests(n)).map((r) => r.aborted);
      await expect.poll(aborted, { timeout: 2_000 }).toEqual([true, true]);
    }));

  it('rejects a malformed JSON answer, and a JSON answer to a stream request', async () => {
    expect(await failure(openaiProvider.complete(ask('[[fault:malformed]]'), ctx()))).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'malformed-response', retryable: true },
    });
    expect(await failure(collect(ask('[[fault:malformed]]')))).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'malformed-stream', retryable: true },
    });
  });

  it('fails a stream cut mid-answer after passing on what arrived, never with a done', () =>
    breakingConnections(async () => {
      const seen: StreamEvent[] = [];
      const err = await failure(collect(ask(`cut me off please ${nonce()} [[fault:cut]]`), ctx(), seen));
      expect(err).toMatchObject({ code: 'PROVIDER_ERROR', cause: { reason: 'stream-interrupted', retryable: true } });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((e) => e.type === 'delta')).toBe(true);
    }));

  it('does not call upstream when the signal is already aborted; a caller deadline reads as a timeout', async () => {
    const n = nonce();
    expect(await failure(openaiProvider.complete(ask(n), ctx({}, AbortSignal.abort())))).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'aborted' },
    });
    expect(await failure(collect(ask(n), ctx({}, AbortSignal.abort())))).toMatchObject({
      cause: { reason: 'aborted' },
    });
    const timedOut = AbortSignal.abort(new DOMException('deadline', 'TimeoutError'));
    expect(await failure(openaiProvider.complete(ask(n), ctx({}, timedOut)))).toMatchObject({
      code: 'PROVIDER_TIMEOUT',
    });
    expect(await mockRequests(n)).toHaveLength(0);
  });
});

// A fetch that answers the given chunks as an event stream; `cancelled` tells whether the reader let go
// of the rest, `aborted` whether the request's signal fired. With `hold`, the body stays open after the
// chunks until the request is aborted, as a live connection would.
function stubStream(chunks: string[], opts: { hold?: boolean; status?: number; contentType?: string } = {}) {
  const state = { cancelled: false, aborted: false, calls: 0 };
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (_input, init) => {
    state.calls++;
    const signal = init?.signal ?? undefined;
    const encoder = new TextEncoder();
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks[i++];
        if (chunk !== undefined) return controller.enqueue(encoder.encode(chunk));
        if (!opts.hold) return controller.close();
        return new Promise<void>((resolve) => {
          const fail = () => {
            state.aborted = true;
            controller.error(new DOMException('The operation was aborted', 'AbortError'));
            resolve();
          };
          if (signal?.aborted) fail();
          else signal?.addEventListener('abort', fail, { once: true });
        });
      },
      cancel() {
        state.cancelled = true;
      },
    });
    return new Response(body, {
      status: opts.status ?? 200,
      headers: { 'content-type': opts.contentType ?? 'text/event-stream' },
    });
  });
  return state;
}

const chunk = (content: string | undefined, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    model: 'gpt-4o-mini-2024',
    choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
    ...extra,
  });
const USAGE = JSON.stringify({
  id: 'c1',
  object: 'chat.completion.chunk',
  model: 'gpt-4o-mini-2024',
  choices: [],
  usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 },
});

describe('openai-wire provider: reading answers and event streams byte by byte', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('takes the usage of a JSON answer from the server, and estimates it only when the server sends none', async () => {
    const answer = (usage?: unknown) =>
      JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        model: 'gpt-4o-mini-2024',
        choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter' }],
        ...(usage ? { usage } : {}),
      });
    stubStream([answer({ prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 })], {
      contentType: 'application/json',
    });
    expect(await openaiProvider.complete(ask('hi'), ctx())).toEqual({
      text: '',
      model: 'gpt-4o-mini-2024',
      finishReason: 'content_filter',
      usage: { promptTokens: 11, completionTokens: 3, totalTokens: 14 },
    });
    vi.restoreAllMocks();
    stubStream([answer()], { contentType: 'application/json' });
    // 'twelve chars' is 12 characters: 3 tokens at a quarter of the characters; no answer text, 0.
    expect((await openaiProvider.complete(ask('twelve chars'), ctx())).usage).toEqual({
      promptTokens: 3,
      completionTokens: 0,
      totalTokens: 3,
    });
  });

  it('reads CRLF- and CR-framed events split anywhere, with comments, up to [DONE]', async () => {
    const wire =
      `: OPENROUTER PROCESSING\r\n\r\n` +
      `data: ${chunk('Hel')}\r\n\r\n` +
      `data: ${chunk('lo')}\r\r` +
      `data: ${chunk(undefined, 'length')}\n\n` +
      `data: ${USAGE}\n\n` +
      `data: [DONE]\n\n`;
    // Cut into 7-character pieces, so line ends, CRLF pairs and JSON fall across chunk boundaries.
    const pieces = wire.match(/[\s\S]{1,7}/g) ?? [];
    stubStream(pieces);
    expect(await collect(ask('hi'))).toEqual([
      { type: 'delta', text: 'Hel' },
      { type: 'delta', text: 'lo' },
      {
        type: 'done',
        model: 'gpt-4o-mini-2024',
        finishReason: 'length',
        usage: { promptTokens: 11, completionTokens: 3, totalTokens: 14 },
      },
    ]);
  });

  it('stops at [DONE]: later events are not read and the rest of the body is let go', async () => {
    const state = stubStream([`data: ${chunk('one', 'stop')}\n\ndata: [DONE]\n\n`, `data: ${chunk('two')}\n\n`], {
      hold: true,
    });
    const events = await collect(ask('hi'));
    expect(textOf(events)).toBe('one');
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(state.cancelled).toBe(true);
  });

  it('ends at the end of the body when that falls between events, estimating usage the server did not send', async () => {
    stubStream([`data: ${chunk('four words of text')}\n\n`, `data: ${chunk(undefined, 'stop')}\n\n`]);
    const events = await collect(ask('a prompt'));
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    const done = events.at(-1);
    expect(done?.type === 'done' && done.usage.completionTokens).toBeGreaterThan(0);
    expect(done?.type === 'done' && done.usage.promptTokens).toBeGreaterThan(0);
  });

  it.each([
    [
      'an error payload',
      [`data: ${chunk('partial')}\n\n`, `data: {"error":{"message":"overloaded"}}\n\n`],
      'stream-error',
    ],
    [
      'an error event',
      [`data: ${chunk('partial')}\n\n`, `event: error\ndata: {"message":"overloaded"}\n\n`],
      'stream-error',
    ],
    ['a chunk that is not JSON', [`data: ${chunk('partial')}\n\n`, `data: {"choices": [\n\n`], 'malformed-chunk'],
    [
      'a chunk of the wrong shape',
      [`data: ${chunk('partial')}\n\n`, `data: {"choices": "none"}\n\n`],
      'malformed-chunk',
    ],
    [
      'a body that ends inside an event',
      [`data: ${chunk('partial')}\n\n`, `data: ${chunk(' more')}\n`],
      'incomplete-stream',
    ],
    ['an event without end', [`data: ${chunk('partial')}\n\n`, `data: ${'x'.repeat(1_100_000)}`], 'malformed-chunk'],
  ])('fails on %s after passing on what came before, never with a done', async (_name, chunks, reason) => {
    stubStream(chunks);
    const seen: StreamEvent[] = [];
    expect(await failure(collect(ask('hi'), ctx(), seen))).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason, retryable: true },
    });
    expect(seen).toEqual([{ type: 'delta', text: 'partial' }]);
  });

  it('fails a stream with no event at all before anything is passed on', async () => {
    for (const chunks of [[], [': only a comment\n\n'], ['data: [DONE]\n\n'], ['{"id":"x","choices":[]}']]) {
      stubStream(chunks);
      expect(await failure(collect(ask('hi')))).toMatchObject({ cause: { reason: 'malformed-stream' } });
      vi.restoreAllMocks();
    }
  });

  it('fails a stream whose caller aborts mid-answer, instead of ending it as if complete', async () => {
    const state = stubStream([`data: ${chunk('first')}\n\n`], { hold: true });
    const controller = new AbortController();
    const seen: StreamEvent[] = [];
    const run = collect(ask('hi'), ctx({}, controller.signal), seen);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    controller.abort();
    expect(await failure(run)).toMatchObject({ code: 'PROVIDER_ERROR', cause: { reason: 'aborted' } });
    expect(state.aborted).toBe(true);
    expect(seen).toEqual([{ type: 'delta', text: 'first' }]);
  });

  it('lets go of the body when the consumer stops early', async () => {
    const state = stubStream([`data: ${chunk('first')}\n\n`, `data: ${chunk('second')}\n\n`], { hold: true });
    for await (const e of openaiProvider.stream(ask('hi'), ctx())) {
      expect(e).toEqual({ type: 'delta', text: 'first' });
      break;
    }
    expect(state.cancelled).toBe(true);
  });
});
