import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { localProvider } from './local';
import { openaiProvider } from './openai';
import { defaultProvider } from './registry';
import type { ChatRequest, Provider, StreamEvent } from './types';
import { OPENAI_CANARY_KEY } from '../../../test/helpers/http';

const ctx = (overrides: Record<string, string> = {}) => ({
  config: loadConfig({ ENVIRONMENT: 'test', ...overrides }),
  signal: new AbortController().signal,
});

async function collect(provider: Provider, request: ChatRequest, c = ctx()): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of provider.stream(request, c)) events.push(e);
  return events;
}

const ask = (content: string, model = 'm'): ChatRequest => ({ model, messages: [{ role: 'user', content }] });

describe('local provider', () => {
  it('streams word by word and ends with usage that matches complete()', async () => {
    const request = ask('stream these words please');
    const events = await collect(localProvider, request);
    const deltas = events.filter((e) => e.type === 'delta');
    expect(deltas.length).toBeGreaterThan(5);
    for (const d of deltas.slice(1)) expect(d.type === 'delta' && /^ \S+$/.test(d.text)).toBe(true);
    const done = events.at(-1);
    const full = await localProvider.complete(request, ctx());
    expect(deltas.map((d) => (d.type === 'delta' ? d.text : '')).join('')).toBe(full.text);
    expect(done).toMatchObject({ type: 'done', finishReason: 'stop', usage: full.usage });
    expect(full.usage.totalTokens).toBe(full.usage.promptTokens + full.usage.completionTokens);
  });

  it('pauses LOCAL_STREAM_DELAY_MS between words, and an abort in a pause ends the stream', async () => {
    const request = ask('slow words for a demo');
    const slow = ctx({ LOCAL_STREAM_DELAY_MS: '20' });
    const started = performance.now();
    const events = await collect(localProvider, request, slow);
    const deltas = events.filter((e) => e.type === 'delta');
    // A lower bound only: the pauses happened (timers never fire early by more than a tick).
    expect(performance.now() - started).toBeGreaterThanOrEqual((deltas.length - 1) * 20 - 5);
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });

    const abort = new AbortController();
    const seen: StreamEvent[] = [];
    const stream = localProvider.stream(request, {
      config: loadConfig({ ENVIRONMENT: 'test', LOCAL_STREAM_DELAY_MS: '5000' }),
      signal: abort.signal,
    });
    for await (const e of stream) {
      seen.push(e);
      abort.abort();
    }
    // One word, then the abort cut the five-second pause short: no more words and no 'done'.
    expect(seen).toHaveLength(1);
    expect(seen[0]?.type).toBe('delta');
  });

  it('honours maxTokens with finish reason length', async () => {
    const res = await localProvider.complete({ ...ask('a fairly long question with many words'), maxTokens: 3 }, ctx());
    expect(res.text.split(' ')).toHaveLength(3);
    expect(res.finishReason).toBe('length');
  });
});

describe('provider registry', () => {
  it('falls back to local without keys and picks openai when its key is set', () => {
    expect(defaultProvider(loadConfig({})).id).toBe('local');
    expect(defaultProvider(loadConfig({ OPENAI_API_KEY: 'sk-1' })).id).toBe('openai');
    expect(defaultProvider(loadConfig({ OPENAI_API_KEY: 'sk-1', DEFAULT_PROVIDER: 'local' })).id).toBe('local');
  });
});

describe('openai provider against the mock upstream', () => {
  const cfg = () => ctx({ OPENAI_API_KEY: OPENAI_CANARY_KEY, OPENAI_BASE_URL: `${env.MOCK_UPSTREAM_URL}/v1` });

  it('streams the SSE answer and reports upstream usage', async () => {
    const events = await collect(openaiProvider, ask('stream me', 'gpt-4o-mini'), cfg());
    const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(text).toBe('Mock answer to: stream me');
    expect(events.at(-1)).toMatchObject({ type: 'done', model: 'gpt-4o-mini', finishReason: 'stop' });
    const done = events.at(-1);
    expect(done?.type === 'done' && done.usage.totalTokens).toBeGreaterThan(0);
  });

  it('fails a stream that is cut mid-answer instead of ending silently', async () => {
    await expect(collect(openaiProvider, ask('cut me [[fault:cut]]', 'gpt-4o-mini'), cfg())).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
    });
  });

  it('maps a 429 to PROVIDER_ERROR carrying Retry-After for the retry logic', async () => {
    await expect(openaiProvider.complete(ask('[[fault:429]]'), cfg())).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { upstreamStatus: 429, retryable: true, retryAfterMs: 1000 },
    });
  });

  it('does not retry-flag a 4xx other than 429', async () => {
    await expect(openaiProvider.complete(ask('[[fault:400]]'), cfg())).rejects.toMatchObject({
      code: 'PROVIDER_ERROR',
      cause: { upstreamStatus: 400, retryable: false },
    });
  });
});
