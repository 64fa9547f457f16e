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
