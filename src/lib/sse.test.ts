import { describe, expect, it } from 'vitest';
import { ApiError } from './errors';
import { KEEP_ALIVE_FRAME, sseData, sseResponse, type SseEncoder, type SseOptions } from './sse';

// A reader written from the WHATWG HTML "event stream" interpretation rules: lines end in CRLF, LF or
// CR; a line starting with ':' is a comment; `field: value` loses one space after the colon; `data`
// lines join with LF; a blank line dispatches the event (type "message" unless `event` was given),
// and an event whose data buffer is empty is not dispatched. Comments are kept to see keep-alives.
type Parsed = { type: string; data: string } | { comment: string };

function readEventStream(text: string): Parsed[] {
  const out: Parsed[] = [];
  let data: string[] = [];
  let type = '';
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length > 0) out.push({ type: type || 'message', data: data.join('\n') });
      data = [];
      type = '';
      continue;
    }
    if (line.startsWith(':')) {
      out.push({ comment: line.slice(1) });
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
  }
  return out;
}

describe('SSE frames', () => {
  it('carry a JSON value as one event that parses back to it, whatever its strings contain', () => {
    const value = { text: 'line one\nline two\r\nthree\rfour\u2028five', quote: '"', emoji: '✓', n: 3, ok: null };
    const frame = sseData(value);
    expect(frame.endsWith('\n\n')).toBe(true);
    const parsed = readEventStream(frame);
    expect(parsed).toHaveLength(1);
    const [event] = parsed;
    expect(event && 'type' in event ? event.type : undefined).toBe('message');
    expect(JSON.parse(event && 'data' in event ? event.data : 'null')).toEqual(value);
  });

  it('name the event when asked', () => {
    expect(readEventStream(sseData({ type: 'ping' }, 'ping'))).toEqual([{ type: 'ping', data: '{"type":"ping"}' }]);
  });

  it('stay separate when concatenated', () => {
    const stream = sseData({ a: 1 }) + sseData({ b: 2 }, 'second') + sseData('third');
    expect(readEventStream(stream)).toEqual([
      { type: 'message', data: '{"a":1}' },
      { type: 'second', data: '{"b":2}' },
      { type: 'message', data: '"third"' },
    ]);
  });

  it('keep-alive is a comment, which dispatches no event', () => {
    const parsed = readEventStream(KEEP_ALIVE_FRAME + sseData(1));
    expect(parsed.filter((p) => 'comment' in p)).toHaveLength(1);
    expect(parsed.filter((p) => 'type' in p)).toEqual([{ type: 'message', data: '1' }]);
  });
});

// ---- the streaming response ----------------------------------------------------------------------

const encoder: SseEncoder<number> = {
  event: (n) => sseData({ n }),
  error: (err) => sseData({ error: err.code }, 'error'),
  end: () => 'data: [DONE]\n\n',
};

// An iterator whose steps the test settles by hand.
function manualIterator() {
  const waiting: { resolve: (r: IteratorResult<number>) => void; reject: (e: unknown) => void }[] = [];
  const queued: (IteratorResult<number> | { error: unknown })[] = [];
  const state = { returned: false };
  const iterator: AsyncIterator<number> = {
    next: () =>
      new Promise((resolve, reject) => {
        const step = queued.shift();
        if (!step) return void waiting.push({ resolve, reject });
        if ('error' in step) reject(step.error);
        else resolve(step);
      }),
    return: async () => {
      state.returned = true;
      return { done: true, value: undefined };
    },
  };
  const settle = (step: IteratorResult<number> | { error: unknown }) => {
    const w = waiting.shift();
    if (!w) return void queued.push(step);
    if ('error' in step) w.reject(step.error);
    else w.resolve(step);
  };
  return {
    iterator,
    state,
    emit: (n: number) => settle({ done: false, value: n }),
    finish: () => settle({ done: true, value: undefined }),
    fail: (error: unknown) => settle({ error }),
  };
}

const options = (extra: Partial<SseOptions> = {}): SseOptions => ({
  holdMs: 50,
  keepAliveMs: 20,
  onCancel: () => undefined,
  ...extra,
});

const decoder = new TextDecoder();
function bodyReader(res: Response): ReadableStreamDefaultReader<Uint8Array> {
  if (!res.body) throw new Error('response without a body');
  return res.body.getReader();
}
async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string | undefined> {
  const { done, value } = await reader.read();
  return done ? undefined : decoder.decode(value);
}

describe('SSE response', () => {
  it('is a text/event-stream that is not cached or buffered, with the extra headers', async () => {
    const up = manualIterator();
    up.finish();
    const res = await sseResponse(up.iterator, encoder, options({ headers: { 'X-Request-Id': 'r1' } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-request-id')).toBe('r1');
    expect(await res.text()).toBe('data: [DONE]\n\n');
  });

  it('relays every event in order and ends with the encoder’s end frame', async () => {
    const up = manualIterator();
    [1, 2, 3].forEach(up.emit);
    up.finish();
    const res = await sseResponse(up.iterator, encoder, options());
    expect(readEventStream(await res.text())).toEqual([
      { type: 'message', data: '{"n":1}' },
      { type: 'message', data: '{"n":2}' },
      { type: 'message', data: '{"n":3}' },
      { type: 'message', data: '[DONE]' },
    ]);
  });

  it('hands out each event as soon as it arrives, before the next exists', async () => {
    const up = manualIterator();
    up.emit(1);
    const reader = bodyReader(await sseResponse(up.iterator, encoder, options({ keepAliveMs: 60_000 })));
    expect(await readChunk(reader)).toBe(sseData({ n: 1 }));
    up.emit(2);
    expect(await readChunk(reader)).toBe(sseData({ n: 2 }));
    up.finish();
    expect(await readChunk(reader)).toBe('data: [DONE]\n\n');
    expect(await readChunk(reader)).toBeUndefined();
  });

  it('fails with the error itself, not a 200, when the stream fails within the hold window', async () => {
    const up = manualIterator();
    const failure = new ApiError('PROVIDER_ERROR');
    up.fail(failure);
    await expect(sseResponse(up.iterator, encoder, options())).rejects.toBe(failure);
  });

  it('once started, ends a failing stream with the encoder’s error frame, INTERNAL_ERROR for unknown errors', async () => {
    for (const [error, code] of [
      [new ApiError('PROVIDER_TIMEOUT'), 'PROVIDER_TIMEOUT'],
      [new Error('secret detail'), 'INTERNAL_ERROR'],
    ] as const) {
      const up = manualIterator();
      up.emit(1);
      up.fail(error);
      const text = await (await sseResponse(up.iterator, encoder, options())).text();
      expect(readEventStream(text)).toEqual([
        { type: 'message', data: '{"n":1}' },
        { type: 'error', data: JSON.stringify({ error: code }) },
      ]);
      expect(text).not.toContain('secret detail');
    }
  });

  it('commits to 200 after the hold window and sends keep-alive comments while the first event is late', async () => {
    const up = manualIterator();
    const res = await sseResponse(up.iterator, encoder, options({ holdMs: 10, keepAliveMs: 10 }));
    expect(res.status).toBe(200);
    const reader = bodyReader(res);
    expect(await readChunk(reader)).toBe(KEEP_ALIVE_FRAME);
    expect(await readChunk(reader)).toBe(KEEP_ALIVE_FRAME);
    up.emit(1);
    let chunk = await readChunk(reader);
    while (chunk === KEEP_ALIVE_FRAME) chunk = await readChunk(reader);
    expect(chunk).toBe(sseData({ n: 1 }));
    // A failure after the commitment can only be told in band.
    up.fail(new ApiError('PROVIDER_ERROR'));
    chunk = await readChunk(reader);
    while (chunk === KEEP_ALIVE_FRAME) chunk = await readChunk(reader);
    expect(readEventStream(chunk ?? '')).toEqual([{ type: 'error', data: '{"error":"PROVIDER_ERROR"}' }]);
    expect(await readChunk(reader)).toBeUndefined();
  });

  it('tells the producer when the client goes away and closes the source', async () => {
    const up = manualIterator();
    up.emit(1);
    let cancelled = 0;
    const res = await sseResponse(up.iterator, encoder, options({ onCancel: () => void cancelled++ }));
    const reader = bodyReader(res);
    await readChunk(reader);
    await reader.cancel();
    expect(cancelled).toBe(1);
    expect(up.state.returned).toBe(true);
  });
});
