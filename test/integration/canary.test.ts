import { env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, register } from '../helpers/auth';
import { call, postJson } from '../helpers/http';

// Secrets that must never leave the worker: configured provider keys and signing secrets, and the
// credentials callers send. Every answer, SSE frame, log line and stored row is scanned for them.
const CANARIES = {
  OPENAI_API_KEY: 'sk-canary-openai-5f3c9a1e7b',
  ANTHROPIC_API_KEY: 'sk-ant-canary-anthropic-8d2e4f6a',
  AWS_SECRET_ACCESS_KEY: 'canary-aws-secret-0a9b8c7d6e',
  JWT_SECRET_KEY: 'canary-jwt-signing-secret-0123456789abcdef',
  GOOGLE_CLIENT_SECRET: 'canary-google-client-secret-42',
  METRICS_TOKEN: 'canary-metrics-token-77',
};

const overrides = {
  ...CANARIES,
  OPENAI_BASE_URL: `${env.MOCK_UPSTREAM_URL}/v1`,
  ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL,
  AWS_ACCESS_KEY_ID: 'AKIDCANARYACCESSKEY',
  AWS_REGION: 'us-east-1',
  BEDROCK_BASE_URL: env.MOCK_UPSTREAM_URL,
  GOOGLE_CLIENT_ID: 'canary-client-id',
  RETRY_MAX_RETRIES: '1',
  RETRY_BASE_DELAY_MS: '1',
  PROVIDER_TIMEOUT_MS: '300',
  STREAM_HOLD_MS: '50',
  SSE_KEEPALIVE_MS: '100',
};

const FAULTS = ['400', '429', '500', 'hang', 'malformed', 'redirect', 'cut', 'slow'];
const MODELS = [
  'openai:gpt-4o-mini',
  'anthropic:claude-3-5-haiku-latest',
  'bedrock:anthropic.claude-3-haiku-20240307-v1:0',
];

let logs: string[] = [];
const originals = { log: console.log, warn: console.warn, error: console.error };

beforeEach(() => {
  logs = [];
  for (const level of ['log', 'warn', 'error'] as const) {
    console[level] = (...args: unknown[]) => {
      logs.push(args.map(String).join(' '));
    };
  }
});

afterEach(() => {
  Object.assign(console, originals);
});

async function allRows(): Promise<string> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
  ).all<{ name: string }>();
  const dumps: string[] = [];
  for (const { name } of tables.results)
    dumps.push(JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results));
  return dumps.join('\n');
}

function leaks(haystack: string, secrets: string[]): string[] {
  return secrets.filter((s) => haystack.includes(s));
}

describe('canary secrets', () => {
  it('never appear in any answer, SSE frame, log line or stored row, on any fault path', async () => {
    const seen: string[] = [];
    const keep = async (res: Response) =>
      seen.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await res.text()}`);

    // Caller credentials become canaries too.
    const account = await register(undefined, overrides);
    const keyRes = await postJson('/api/v1/auth/api-keys', { name: 'canary' }, overrides, account.auth);
    const apiKey = ((await keyRes.clone().json()) as { key: string }).key;
    const callerSecrets = [PASSWORD, account.accessToken, account.refreshToken, apiKey];

    // Every model × fault × stream combination, all dialects, in parallel per model.
    for (const model of MODELS) {
      const calls = FAULTS.flatMap((fault) =>
        [false, true].flatMap((stream) => {
          const content = `canary ${fault} ${stream} [[fault:${fault}]]`;
          return [
            postJson('/v1/chat/completions', { model, stream, messages: [{ role: 'user', content }] }, overrides, {
              'x-api-key': apiKey,
            }),
            postJson(
              '/v1/messages',
              { model, stream, max_tokens: 50, messages: [{ role: 'user', content }] },
              overrides,
              account.auth,
            ),
            postJson(
              stream ? '/api/v1/chat/stream' : '/api/v1/chat/completion',
              { message: content, model },
              overrides,
              account.auth,
            ),
          ];
        }),
      );
      for (const res of await Promise.all(calls)) await keep(res);
    }
    // Authentication failures, refused upstream overrides, validation errors and a bad login.
    await keep(
      await call('/api/v1/auth/me', { headers: { authorization: `Bearer ${account.accessToken}x` } }, overrides),
    );
    await keep(await call('/api/v1/auth/me', { headers: { 'x-api-key': `${apiKey}x` } }, overrides));
    await keep(await postJson('/api/v1/auth/login', { email: account.email, password: `${PASSWORD}!` }, overrides));
    await keep(
      await postJson(
        '/v1/chat/completions',
        { model: 'gpt-4o-mini', api_key: CANARIES.OPENAI_API_KEY, messages: [] },
        overrides,
      ),
    );
    await keep(await postJson('/api/v1/auth/refresh', { refresh_token: account.refreshToken }, overrides));
    await keep(await postJson('/api/v1/auth/refresh', { refresh_token: account.refreshToken }, overrides));
    await keep(await call('/health', {}, overrides));
    await keep(await call('/api/v1/models', {}, overrides));

    // Background writes (request rows) land shortly after the answers.
    await new Promise((r) => setTimeout(r, 300));
    const secrets = [...Object.values(CANARIES), ...callerSecrets];
    // The request that deliberately sends a key in its body is refused; its answer must not echo it.
    expect(leaks(seen.join('\n'), secrets), 'responses and SSE frames').toEqual([]);
    expect(leaks(logs.join('\n'), secrets), 'log lines').toEqual([]);
    // Stored rows may hold hashes of credentials, never the credentials themselves.
    expect(leaks(await allRows(), secrets), 'stored rows').toEqual([]);
    expect(logs.length, 'the fault paths did log').toBeGreaterThan(10);
    expect(seen.length).toBeGreaterThan(140);
  }, 120_000);
});
