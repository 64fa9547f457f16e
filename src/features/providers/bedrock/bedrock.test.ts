import { AwsV4Signer } from 'aws4fetch';
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../config';
import { bedrockProvider } from '.';
import { crc32, EventStreamDecoder, EventStreamError } from './event-stream';
import { converseBody, OPENING_USER_TURN } from './wire';
import type { ChatRequest, StreamEvent } from '../types';
import { mockRequests } from '../../../../test/helpers/http';

const SECRET = 'canary-secret-wJalrXUtnFEMI/K7MDENG/bPxRfiCY';
const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

const configOf = (extra: Record<string, string> = {}) =>
  loadConfig({
    ENVIRONMENT: 'test',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_REGION: 'us-east-1',
    BEDROCK_BASE_URL: env.MOCK_UPSTREAM_URL,
    ...extra,
  });
const ctx = (extra: Record<string, string> = {}, signal = new AbortController().signal) => ({
  config: configOf(extra),
  signal,
});

const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: MODEL,
  messages: [{ role: 'user', content }],
  ...extra,
});

async function collect(request: ChatRequest, c = ctx()): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of bedrockProvider.stream(request, c)) events.push(e);
  return events;
}

const textOf = (events: StreamEvent[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

// Every event up to a failure, and the failure.
async function drain(request = ask('stubbed'), c = ctx()): Promise<{ events: StreamEvent[]; error: unknown }> {
  const events: StreamEvent[] = [];
  try {
    for await (const e of bedrockProvider.stream(request, c)) events.push(e);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

// ---- an encoder for the decoder tests, with every header value type --------------------------------

type TestHeader = [name: string, type: number, value: Uint8Array];
const enc = new TextEncoder();
const str = (name: string, value: string): TestHeader => [name, 7, enc.encode(value)];

function encode(headers: TestHeader[], payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? enc.encode(payload) : payload;
  const parts: number[] = [];
  for (const [name, type, value] of headers) {
    const n = enc.encode(name);
    parts.push(n.length, ...n, type);
    if (type === 6 || type === 7) parts.push(value.length >> 8, value.length & 0xff);
    parts.push(...value);
  }
  const total = 12 + parts.length + body.length + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total);
  view.setUint32(4, parts.length);
  view.setUint32(8, crc32(out.subarray(0, 8)));
  out.set(parts, 12);
  out.set(body, 12 + parts.length);
  view.setUint32(total - 4, crc32(out.subarray(0, total - 4)));
  return out;
}

const eventFrame = (type: string, payload: unknown) =>
  encode(
    [str(':event-type', type), str(':content-type', 'application/json'), str(':message-type', 'event')],
    JSON.stringify(payload),
  );

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('AWS event-stream decoder', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('decodes messages, their headers and JSON payloads', () => {
    const bytes = concat(
      eventFrame('messageStart', { role: 'assistant' }),
      eventFrame('messageStop', { stopReason: 'end_turn' }),
    );
    const events = new EventStreamDecoder().push(bytes);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      messageType: 'event',
      eventType: 'messageStart',
      payload: { role: 'assistant' },
    });
    expect(events[1]).toMatchObject({ eventType: 'messageStop', payload: { stopReason: 'end_turn' } });
  });

  it('reads every header value type, skipping by length', () => {
    const u8 = (...b: number[]) => new Uint8Array(b);
    const frame = encode(
      [
        ['t', 0, u8()],
        ['f', 1, u8()],
        ['byte', 2, u8(0xff)],
        ['short', 3, u8(0x01, 0x02)],
        ['int', 4, u8(0, 0, 1, 0)],
        ['long', 5, u8(0, 0, 0, 0, 0, 0, 0, 7)],
        ['bytes', 6, u8(1, 2, 3)],
        ['time', 8, u8(0, 0, 1, 0x8b, 0xcf, 0xe5, 0x68, 0)],
        ['uuid', 9, new Uint8Array(16).fill(9)],
        str(':message-type', 'event'),
        str(':event-type', 'metadata'),
      ],
      '{"ok":true}',
    );
    const [event] = new EventStreamDecoder().push(frame);
    expect(event?.eventType).toBe('metadata');
    expect(event?.payload).toEqual({ ok: true });
    const h = event?.headers;
    expect([h?.get('t'), h?.get('f'), h?.get('byte'), h?.get('short'), h?.get('int')]).toEqual([
      true,
      false,
      -1,
      258,
      256,
    ]);
    expect(h?.get('long')).toBe(7n);
    expect(h?.get('bytes')).toEqual(u8(1, 2, 3));
    expect((h?.get('uuid') as Uint8Array).length).toBe(16);
  });

  it('reassembles frames split across chunks at every possible byte', () => {
    const bytes = concat(
      eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello' } }),
      eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: ' world' } }),
    );
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = new EventStreamDecoder();
      const events = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      expect(events.map((e) => (e.payload as { delta: { text: string } }).delta.text)).toEqual(['Hello', ' world']);
      expect(decoder.buffered).toBe(0);
    }
    const decoder = new EventStreamDecoder();
    const oneByOne = [...bytes].flatMap((b) => decoder.push(new Uint8Array([b])));
    expect(oneByOne).toHaveLength(2);
  });

  it('keeps a partial frame buffered until the rest arrives', () => {
    const frame = eventFrame('messageStart', { role: 'assistant' });
    const decoder = new EventStreamDecoder();
    expect(decoder.push(frame.subarray(0, 20))).toEqual([]);
    expect(decoder.buffered).toBe(20);
  });

  it('rejects a bad message CRC, a bad prelude CRC and impossible lengths', () => {
    const bad = eventFrame('messageStart', { role: 'assistant' });
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x01;
    expect(() => new EventStreamDecoder().push(bad)).toThrow(EventStreamError);
    expect(() => new EventStreamDecoder().push(bad)).toThrow(/message checksum/);

    const badPrelude = eventFrame('messageStart', { role: 'assistant' });
    badPrelude[3] = (badPrelude[3] ?? 0) + 1; // total length no longer matches its CRC
    expect(() => new EventStreamDecoder().push(badPrelude)).toThrow(/prelude checksum/);

    const tiny = new Uint8Array(16);
    new DataView(tiny.buffer).setUint32(0, 8);
    new DataView(tiny.buffer).setUint32(8, crc32(tiny.subarray(0, 8)));
    expect(() => new EventStreamDecoder().push(tiny)).toThrow(/impossible/);
  });

  it('rejects a payload that is not JSON', () => {
    expect(() => new EventStreamDecoder().push(encode([str(':message-type', 'event')], '{nope'))).toThrow(
      EventStreamError,
    );
  });
});

describe('bedrock request body', () => {
  it('moves system text to `system`, merges same-role turns and maps inference settings', () => {
    const body = converseBody({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
        { role: 'assistant', content: 'ok' },
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: '   ' },
        { role: 'user', content: 'three' },
      ],
      maxTokens: 50,
      temperature: 0.2,
      topP: 0.9,
      stop: ['END'],
    });
    expect(body).toEqual({
      system: [{ text: 'Be brief.' }, { text: 'Be kind.' }],
      messages: [
        { role: 'user', content: [{ text: 'one' }, { text: 'two' }] },
        { role: 'assistant', content: [{ text: 'ok' }] },
        { role: 'user', content: [{ text: 'three' }] },
      ],
      inferenceConfig: { maxTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    });
  });

  it('opens with a user turn when the conversation starts with the assistant', () => {
    const body = converseBody({ model: MODEL, messages: [{ role: 'assistant', content: 'Hi!' }] });
    expect(body.messages[0]).toEqual({ role: 'user', content: [{ text: OPENING_USER_TURN }] });
    expect(body).not.toHaveProperty('inferenceConfig');
    expect(body).not.toHaveProperty('system');
  });
});

describe('bedrock provider against the mock upstream', () => {
  it('is configured only with key id, secret and region', () => {
    expect(bedrockProvider.isConfigured(configOf())).toBe(true);
    expect(bedrockProvider.isConfigured(loadConfig({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }))).toBe(
      false,
    );
    expect(bedrockProvider.isConfigured(loadConfig({ AWS_ACCESS_KEY_ID: 'a', AWS_REGION: 'us-east-1' }))).toBe(false);
    expect(bedrockProvider.defaultModel(configOf())).toBe(MODEL);
  });

  it('completes with text, usage and finish reason', async () => {
    const res = await bedrockProvider.complete(ask('hello bedrock'), ctx());
    expect(res).toMatchObject({ text: 'Mock answer to: hello bedrock', model: MODEL, finishReason: 'stop' });
    expect(res.usage.promptTokens).toBeGreaterThan(0);
    expect(res.usage.completionTokens).toBeGreaterThan(0);
    expect(res.usage.totalTokens).toBe(res.usage.promptTokens + res.usage.completionTokens);
  });

  it('maps max_tokens to finish reason length', async () => {
    const res = await bedrockProvider.complete(ask('a long enough question', { maxTokens: 3 }), ctx());
    expect(res).toMatchObject({ text: 'Mock answer to:', finishReason: 'length' });
  });

  it('streams deltas and ends with the usage complete() reports', async () => {
    const request = ask('stream me bedrock');
    const events = await collect(request);
    expect(events.filter((e) => e.type === 'delta').length).toBeGreaterThan(2);
    expect(textOf(events)).toBe('Mock answer to: stream me bedrock');
    const full = await bedrockProvider.complete(request, ctx());
    expect(events.at(-1)).toEqual({ type: 'done', model: MODEL, finishReason: 'stop', usage: full.usage });
    const short = await collect(ask('stream me briefly', { maxTokens: 2 }));
    expect(short.at(-1)).toMatchObject({ type: 'done', finishReason: 'length' });
  });

  it('signs every request with SigV4 and never sends the secret', async () => {
    await bedrockProvider.complete(ask('sign nonce-7f3a'), ctx());
    await collect(ask('sign nonce-7f3a streamed'));
    const recorded = await mockRequests('nonce-7f3a');
    expect(recorded.map((r) => r.path).sort()).toEqual([
      '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse',
      '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream',
    ]);
    for (const r of recorded) {
      expect(JSON.stringify(r)).not.toContain(SECRET);
      expect(r.headers['authorization']).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
      );
      const amzDate = r.headers['x-amz-date'] ?? '';
      expect(amzDate).toMatch(/^\d{8}T\d{6}Z$/);
      // Recompute the signature from what arrived: it covers the method, path, headers and body.
      const signed = /SignedHeaders=([^,]+)/.exec(r.headers['authorization'] ?? '')?.[1]?.split(';') ?? [];
      expect(signed).toEqual(expect.arrayContaining(['host', 'x-amz-date']));
      const headers = Object.fromEntries(signed.filter((h) => h !== 'host').map((h) => [h, r.headers[h] ?? '']));
      const signer = new AwsV4Signer({
        method: 'POST',
        url: `${env.MOCK_UPSTREAM_URL}${r.path}`,
        headers,
        body: r.body,
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: SECRET,
        service: 'bedrock',
        region: 'us-east-1',
        datetime: amzDate,
      });
      expect(await signer.authHeader()).toBe(r.headers['authorization']);
    }
  });

  it('places system messages in `system` on the wire', async () => {
    await bedrockProvider.complete(
      {
        model: MODEL,
        messages: [
          { role: 'system', content: 'You are terse. nonce-91cd' },
          { role: 'user', content: 'first' },
          { role: 'user', content: 'second' },
        ],
      },
      ctx(),
    );
    const [r] = await mockRequests('nonce-91cd');
    const body = JSON.parse(r?.body ?? '{}') as { system: unknown; messages: { role: string }[] };
    expect(body.system).toEqual([{ text: 'You are terse. nonce-91cd' }]);
    expect(body.messages).toEqual([{ role: 'user', content: [{ text: 'first' }, { text: 'second' }] }]);
  });

  it('the mock refuses unsigned requests', async () => {
    const res = await fetch(`${env.MOCK_UPSTREAM_URL}/model/${encodeURIComponent(MODEL)}/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^UnrecognizedClientException:/);
  });

  describe.each([
    ['complete', (r: ChatRequest, c = ctx()) => bedrockProvider.complete(r, c)],
    ['stream', (r: ChatRequest, c = ctx()) => collect(r, c)],
  ] as const)('faults (%s)', (_mode, run) => {
    it('400 is not retryable', async () => {
      await expect(run(ask('x [[fault:400]]'))).rejects.toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { provider: 'bedrock', upstreamStatus: 400, retryable: false, reason: 'status:ValidationException' },
      });
    });

    it('429 is retryable after Retry-After', async () => {
      await expect(run(ask('x [[fault:429]]'))).rejects.toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { upstreamStatus: 429, retryable: true, retryAfterMs: 1000, reason: 'status:ThrottlingException' },
      });
    });

    it('500 is retryable', async () => {
      await expect(run(ask('x [[fault:500]]'))).rejects.toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { upstreamStatus: 500, retryable: true, retryAfterMs: undefined },
      });
    });

    it('a hung upstream times out after PROVIDER_TIMEOUT_MS', async () => {
      const started = Date.now();
      await expect(run(ask('x [[fault:hang]]'), ctx({ PROVIDER_TIMEOUT_MS: '300' }))).rejects.toMatchObject({
        code: 'PROVIDER_TIMEOUT',
        cause: { provider: 'bedrock', retryable: true },
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('the caller aborting is reported as aborted, not as a timeout', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      await expect(run(ask('x [[fault:hang]]'), ctx({}, controller.signal))).rejects.toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { reason: 'aborted' },
      });
    });

    it('a slow first token within the timeout still answers', async () => {
      const res = await run(ask('take your time [[fault:slow]]'));
      const text = Array.isArray(res) ? textOf(res) : res.text;
      expect(text).toBe('Mock answer to: take your time');
    });

    it('malformed answers fail', async () => {
      await expect(run(ask('x [[fault:malformed]]'))).rejects.toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { reason: expect.stringMatching(/^malformed-(response|event-stream)$/), retryable: true },
      });
    });

    it('a redirect is refused', async () => {
      await expect(run(ask('x [[fault:redirect]]'))).rejects.toMatchObject({
        code: 'PROVIDER_ERROR',
        cause: { reason: 'redirect-refused', upstreamStatus: 302, retryable: false },
      });
    });
  });

  it('a slow first token past PROVIDER_TIMEOUT_MS times out', async () => {
    await expect(collect(ask('x [[fault:slow]]'), ctx({ PROVIDER_TIMEOUT_MS: '300' }))).rejects.toMatchObject({
      code: 'PROVIDER_TIMEOUT',
    });
  });

  it('a stream cut mid-answer fails instead of ending silently', async () => {
    const { events, error } = await drain(ask('please cut me off [[fault:cut]]'));
    expect(textOf(events)).toBe('Mock answer to:');
    expect(events.some((e) => e.type === 'done')).toBe(false);
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', cause: { provider: 'bedrock', retryable: true } });
  });

  it('an exception event inside the stream fails with its retry semantics', async () => {
    await expect(collect(ask('x [[fault:exception]]'))).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'stream-exception:throttlingException', upstreamStatus: 429, retryable: true },
    });
  });
});

// Cases the mock cannot produce safely: a real fetch body aborted with a read pending makes workerd
// report a spurious unhandled rejection (workerd#501), which fails the run. A stubbed fetch whose
// body is a plain ReadableStream shows the same provider logic.
describe('bedrock provider stream edge cases (stubbed upstream)', () => {
  afterEach(() => vi.restoreAllMocks());

  const start = eventFrame('messageStart', { role: 'assistant' });
  const delta = (text: string) => eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text } });
  const stop = eventFrame('messageStop', { stopReason: 'end_turn' });
  const metadata = eventFrame('metadata', { usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 } });

  // Serves `frames`, then either ends or (stall) never sends another byte; reports a cancel.
  function stubUpstream(frames: Uint8Array[], opts: { stall?: boolean; contentType?: string } = {}) {
    const state = { cancelled: false };
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const f of frames) controller.enqueue(f);
        if (!opts.stall) controller.close();
      },
      cancel() {
        state.cancelled = true;
      },
    });
    vi.spyOn(globalThis, 'fetch').mockImplementation(
      async () =>
        new Response(body, { headers: { 'content-type': opts.contentType ?? 'application/vnd.amazon.eventstream' } }),
    );
    return state;
  }

  it('decodes a well-formed stream', async () => {
    stubUpstream([start, delta('Hi'), delta(' there'), stop, metadata]);
    const { events, error } = await drain();
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe('Hi there');
    expect(events.at(-1)).toEqual({
      type: 'done',
      model: MODEL,
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
    });
  });

  it('times out a stream that goes quiet mid-answer and closes the upstream', async () => {
    const upstream = stubUpstream([start, delta('Hi')], { stall: true });
    const { events, error } = await drain(ask('stubbed'), ctx({ PROVIDER_TIMEOUT_MS: '300' }));
    expect(textOf(events)).toBe('Hi');
    expect(error).toMatchObject({ code: 'PROVIDER_TIMEOUT', cause: { provider: 'bedrock' } });
    expect(upstream.cancelled).toBe(true);
  });

  it('fails a stream that ends cleanly without messageStop and metadata', async () => {
    stubUpstream([start, delta('Hi')]);
    expect((await drain()).error).toMatchObject({ code: 'PROVIDER_ERROR', cause: { reason: 'incomplete-stream' } });
    stubUpstream([start, delta('Hi'), stop]);
    expect((await drain()).error).toMatchObject({ code: 'PROVIDER_ERROR', cause: { reason: 'incomplete-stream' } });
  });

  it('fails a stream that ends inside a frame', async () => {
    stubUpstream([start, delta('Hi'), stop, metadata, delta('more').subarray(0, 10)]);
    expect((await drain()).error).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'truncated-event-stream' },
    });
  });

  it('fails on an event whose payload does not match its type', async () => {
    stubUpstream([start, eventFrame('contentBlockDelta', { delta: { text: 5 } }), stop, metadata]);
    expect((await drain()).error).toMatchObject({ code: 'PROVIDER_ERROR', cause: { reason: 'malformed-event' } });
  });

  it('treats an unretryable exception event as not retryable', async () => {
    const exception = encode(
      [str(':message-type', 'exception'), str(':exception-type', 'validationException')],
      '{"message":"bad"}',
    );
    stubUpstream([start, exception]);
    expect((await drain()).error).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'stream-exception:validationException', upstreamStatus: 400, retryable: false },
    });
  });

  it('refuses an answer that is not an event stream', async () => {
    const upstream = stubUpstream([enc.encode('{"output":{}}')], { contentType: 'application/json', stall: true });
    expect((await drain()).error).toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { reason: 'unexpected-content-type' },
    });
    expect(upstream.cancelled).toBe(true);
  });

  it('closes the upstream when the consumer stops early', async () => {
    const upstream = stubUpstream([start, delta('Hi'), delta(' there')], { stall: true });
    for await (const e of bedrockProvider.stream(ask('stubbed'), ctx())) {
      expect(e).toEqual({ type: 'delta', text: 'Hi' });
      break;
    }
    expect(upstream.cancelled).toBe(true);
  });
});
