import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { waitForRequestRow } from '../helpers/db';
import { postJson } from '../helpers/http';
import { parseSse } from '../helpers/sse';

// Every upstream fault of the mock, for every vendor wire format, through the whole pipeline: what the
// client receives and what is recorded.
type Json = Record<string, unknown>;

const vendors = [
  {
    name: 'openai',
    model: 'openai:gpt-4o-mini',
    env: () => ({ OPENAI_API_KEY: 'sk-fault-canary', OPENAI_BASE_URL: `${env.MOCK_UPSTREAM_URL}/v1` }),
  },
  {
    name: 'anthropic',
    model: 'anthropic:claude-3-5-haiku-latest',
    env: () => ({ ANTHROPIC_API_KEY: 'sk-ant-fault-canary', ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL }),
  },
  {
    name: 'bedrock',
    model: 'bedrock:anthropic.claude-3-haiku-20240307-v1:0',
    env: () => ({
      AWS_ACCESS_KEY_ID: 'AKIDFAULTCANARY',
      AWS_SECRET_ACCESS_KEY: 'fault-canary-secret-key',
      AWS_REGION: 'us-east-1',
      BEDROCK_BASE_URL: env.MOCK_UPSTREAM_URL,
    }),
  },
] as const;

const settings = { RETRY_MAX_RETRIES: '0', PROVIDER_TIMEOUT_MS: '400', STREAM_HOLD_MS: '100', SSE_KEEPALIVE_MS: '200' };

const noSecrets = (text: string) => {
  for (const s of ['canary', 'evil.example']) expect(text).not.toContain(s);
};

describe.each(vendors)('$name faults through /v1/chat/completions', (vendor) => {
  it.each([
    ['400', 502, 'provider_error'],
    ['500', 502, 'provider_error'],
    ['429', 502, 'provider_error'],
    ['malformed', 502, 'provider_error'],
    ['redirect', 502, 'provider_error'],
    ['hang', 504, 'provider_timeout'],
  ])('[[fault:%s]] → %i %s, recorded as failed', async (fault, status, code) => {
    const res = await postJson(
      '/v1/chat/completions',
      {
        model: vendor.model,
        messages: [{ role: 'user', content: `${vendor.name} [[fault:${fault}]] ${crypto.randomUUID()}` }],
      },
      { ...vendor.env(), ...settings },
    );
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect((JSON.parse(text) as { error: Json }).error.code).toBe(code);
    noSecrets(text);
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({
      status: 'failed',
      error_code: code.toUpperCase(),
      provider: vendor.name,
      response: null,
    });
  });

  it('[[fault:slow]] streams keep-alives, then the whole answer, recorded with its time to first token', async () => {
    const res = await postJson(
      '/v1/chat/completions',
      {
        model: vendor.model,
        stream: true,
        messages: [{ role: 'user', content: `${vendor.name} slow [[fault:slow]]` }],
      },
      { ...vendor.env(), ...settings, PROVIDER_TIMEOUT_MS: '5000' },
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    const frames = parseSse(text);
    expect(frames.some((f) => f.comment === 'keep-alive')).toBe(true);
    expect(frames.at(-1)?.data).toBe('[DONE]');
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({ status: 'completed', provider: vendor.name, stream: 1 });
    expect(Number(row.ttft_ms)).toBeGreaterThanOrEqual(1000);
  });

  it('[[fault:cut]] ends the stream with an error frame, recorded as failed with the partial answer', async () => {
    const res = await postJson(
      '/v1/chat/completions',
      {
        model: vendor.model,
        stream: true,
        messages: [{ role: 'user', content: `${vendor.name} one two three four five six [[fault:cut]]` }],
      },
      { ...vendor.env(), ...settings, PROVIDER_TIMEOUT_MS: '5000' },
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    noSecrets(text);
    const last = parseSse(text).at(-1);
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ error: { code: 'provider_error' } });
    const row = await waitForRequestRow(res.headers.get('x-request-id') ?? '');
    expect(row).toMatchObject({ status: 'failed', error_code: 'PROVIDER_ERROR', provider: vendor.name, stream: 1 });
    expect(String(row.response)).toContain('Mock');
  });
});
