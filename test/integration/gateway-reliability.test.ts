import { describe, expect, it } from 'vitest';
import { waitForRequestRow } from '../helpers/db';
import { expectEnvelope, mockRequests, openaiEnv, postJson } from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

type Json = Record<string, unknown>;
const user = (content: string) => [{ role: 'user', content }];
const fast = (extra: Record<string, string> = {}) => openaiEnv({ RETRY_BASE_DELAY_MS: '5', ...extra });

async function poll<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((res) => setTimeout(res, 25));
  }
}

describe('retries', () => {
  it('retries 5xx with backoff until the upstream answers, and records the attempts', async () => {
    const nonce = `flaky-${crypto.randomUUID()}`;
    const res = await postJson(
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', messages: user(`${nonce} [[fault:flaky]]`) },
      fast(),
    );
    expect(res.status).toBe(200);
    expect(await mockRequests(nonce)).toHaveLength(3);
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({ status: 'completed', attempts: 3, provider: 'openai' });
  });

  it('never retries a 400', async () => {
    const nonce = `four-${crypto.randomUUID()}`;
    const res = await postJson(
      '/api/v1/chat/completion',
      { message: `${nonce} [[fault:400]]`, model: 'gpt-4o-mini' },
      fast(),
    );
    await expectEnvelope(res, 502, 'PROVIDER_ERROR');
    expect(await mockRequests(nonce)).toHaveLength(1);
  });

  it('honours Retry-After as the floor of the wait', async () => {
    const nonce = `ra-${crypto.randomUUID()}`;
    const res = await postJson(
      '/api/v1/chat/completion',
      { message: `${nonce} [[fault:429]]`, model: 'gpt-4o-mini' },
      fast({ RETRY_MAX_RETRIES: '1', RETRY_MAX_DELAY_MS: '3000' }),
    );
    await expectEnvelope(res, 502, 'PROVIDER_ERROR');
    const seen = (await mockRequests(nonce)) as unknown as { at: number }[];
    expect(seen).toHaveLength(2);
    expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('does not wait out a Retry-After longer than its cap', async () => {
    const nonce = `cap-${crypto.randomUUID()}`;
    const res = await postJson(
      '/api/v1/chat/completion',
      { message: `${nonce} [[fault:429]]`, model: 'gpt-4o-mini' },
      fast({ RETRY_MAX_DELAY_MS: '500' }),
    );
    await expectEnvelope(res, 502, 'PROVIDER_ERROR');
    expect(await mockRequests(nonce)).toHaveLength(1);
  });
});

describe('fallbacks', () => {
  it('falls back to the request fallbacks after the primary fails', async () => {
    const nonce = `fb-${crypto.randomUUID()}`;
    const res = await postJson(
      '/api/v1/chat/completion',
      { message: `${nonce} [[fault:500]]`, model: 'gpt-4o-mini', fallbacks: ['local:edgeway-local'] },
      fast({ RETRY_MAX_RETRIES: '1' }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ provider: 'local', model: 'edgeway-local' });
    expect(await mockRequests(nonce)).toHaveLength(2);
    expect(await waitForRequestRow(String(body.request_id))).toMatchObject({
      provider: 'local',
      attempts: 3,
      status: 'completed',
    });
  });

  it('uses FALLBACK_MODELS from configuration when the request names none', async () => {
    const res = await postJson(
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', messages: user('[[fault:500]] conf') },
      fast({ RETRY_MAX_RETRIES: '0', FALLBACK_MODELS: 'edgeway-local' }),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).model).toBe('edgeway-local');
  });

  it('does not ask a hung provider again: 504, or the fallback when there is one', async () => {
    const nonce = `hang-${crypto.randomUUID()}`;
    const env2 = fast({ PROVIDER_TIMEOUT_MS: '300' });
    await expectEnvelope(
      await postJson('/api/v1/chat/completion', { message: `${nonce} [[fault:hang]]`, model: 'gpt-4o-mini' }, env2),
      504,
      'PROVIDER_TIMEOUT',
    );
    expect(await mockRequests(nonce)).toHaveLength(1);
    const saved = await postJson(
      '/api/v1/chat/completion',
      { message: `[[fault:hang]] ${nonce}`, model: 'gpt-4o-mini', fallbacks: ['edgeway-local'] },
      env2,
    );
    expect(saved.status).toBe(200);
  });
});

describe('streams', () => {
  it('fails over before the first token: the client sees only the fallback', async () => {
    const res = await postJson(
      '/api/v1/chat/stream',
      { message: '[[fault:500]] failover', model: 'gpt-4o-mini', fallbacks: ['edgeway-local'] },
      fast({ RETRY_MAX_RETRIES: '0' }),
    );
    expect(res.status).toBe(200);
    const frames = dataFrames(parseSse(await res.text())) as Json[];
    expect(frames.some((f) => 'error' in f)).toBe(false);
    expect(frames.at(-1)).toMatchObject({ finished: true, model: 'edgeway-local' });
  });

  it('answers a proper HTTP error when every target fails before the first token', async () => {
    const res = await postJson(
      '/api/v1/chat/stream',
      { message: '[[fault:500]] all fail', model: 'gpt-4o-mini' },
      fast({ RETRY_MAX_RETRIES: '0' }),
    );
    await expectEnvelope(res, 502, 'PROVIDER_ERROR');
  });

  it.each([
    ['/api/v1/chat/stream', { message: 'cut [[fault:cut]] here', model: 'gpt-4o-mini', fallbacks: ['edgeway-local'] }],
    [
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', stream: true, messages: user('cut [[fault:cut]] here'), fallbacks: ['edgeway-local'] },
    ],
    [
      '/v1/messages',
      {
        model: 'gpt-4o-mini',
        max_tokens: 50,
        stream: true,
        messages: user('cut [[fault:cut]] here'),
        fallbacks: ['edgeway-local'],
      },
    ],
  ])('%s: a cut after the first token ends with an in-band error frame, no failover', async (path, body) => {
    const res = await postJson(path, body, fast());
    expect(res.status).toBe(200);
    const frames = parseSse(await res.text());
    const last = frames.at(-1);
    const data = JSON.parse(last?.data ?? '{}') as Json;
    if (path === '/v1/messages') {
      expect(last?.event).toBe('error');
      expect(data).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    } else if (path === '/v1/chat/completions') {
      expect(data).toMatchObject({ error: { code: 'provider_error' } });
    } else {
      expect(data).toMatchObject({ finished: true, error: { code: 'PROVIDER_ERROR', status_code: 502 } });
    }
    expect(frames.some((f) => (f.data ?? '').includes('Mock'))).toBe(true);
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({ provider: 'openai', status: 'failed', error_code: 'PROVIDER_ERROR', stream: 1 });
  });

  it('sends keep-alive comments while the first token is slow, then the answer', async () => {
    const res = await postJson(
      '/api/v1/chat/stream',
      { message: 'slow [[fault:slow]] start', model: 'gpt-4o-mini' },
      fast({ STREAM_HOLD_MS: '100', SSE_KEEPALIVE_MS: '200' }),
    );
    expect(res.status).toBe(200);
    const frames = parseSse(await res.text());
    const firstData = frames.findIndex((f) => f.data !== undefined);
    expect(frames.slice(0, firstData).filter((f) => f.comment === 'keep-alive').length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(frames.at(-1)?.data ?? '{}')).toMatchObject({ finished: true });
  });

  it('ends a committed stream with a timeout frame when the upstream hangs', async () => {
    const res = await postJson(
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', stream: true, messages: user('[[fault:hang]] committed') },
      fast({ STREAM_HOLD_MS: '50', SSE_KEEPALIVE_MS: '100', PROVIDER_TIMEOUT_MS: '400' }),
    );
    expect(res.status).toBe(200);
    const frames = parseSse(await res.text());
    expect(frames.some((f) => f.comment === 'keep-alive')).toBe(true);
    expect(JSON.parse(frames.at(-1)?.data ?? '{}')).toMatchObject({ error: { code: 'provider_timeout' } });
  });

  it('stops the upstream call when the client goes away', async () => {
    const nonce = `abort-${crypto.randomUUID()}`;
    const res = await postJson(
      '/api/v1/chat/stream',
      { message: `${nonce} [[fault:slow]]`, model: 'gpt-4o-mini' },
      fast({ STREAM_HOLD_MS: '20', SSE_KEEPALIVE_MS: '50' }),
    );
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    const seen = await poll(
      () => mockRequests(nonce),
      (r) => r[0]?.aborted === true,
    );
    expect(seen[0]?.aborted).toBe(true);
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row.status).toBe('cancelled');
  });
});
