import { env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, register } from '../helpers/auth';
import { BASE, call, type EnvOverrides, type MockRecord, mockRequests, postJson } from '../helpers/http';
import { parseSse, type SseFrame } from '../helpers/sse';
import { d1Dump, kvDump, noteObjects, queueSpy, r2Dump, render } from '../helpers/storage-scan';

// Secrets that must never leave the worker: configured provider keys and signing secrets, and the
// credentials callers send. Every answer, SSE frame, log line, stored row, KV entry, R2 object,
// Durable Object (storage and memory) and queued event is scanned for them.
const CANARIES = {
  OPENAI_API_KEY: 'sk-canary-openai-5f3c9a1e7b',
  ANTHROPIC_API_KEY: 'sk-ant-canary-anthropic-8d2e4f6a',
  AWS_SECRET_ACCESS_KEY: 'canary-aws-secret-0a9b8c7d6e',
  JWT_SECRET_KEY: 'canary-jwt-signing-secret-0123456789abcdef',
  // The client the mock OpenID provider (test/mock-upstream/oidc.ts) knows, so the sign-in succeeds
  // and this secret really travels to the token endpoint.
  GOOGLE_CLIENT_SECRET: 'edgeway-test-secret',
  METRICS_TOKEN: 'canary-metrics-token-77',
};
// A client secret the provider refuses: the failed exchange must not echo it either.
const REFUSED_GOOGLE_SECRET = 'canary-google-refused-secret-42';

const OIDC = `${env.MOCK_UPSTREAM_URL}/oidc`;
const settings: EnvOverrides = {
  ...CANARIES,
  OPENAI_BASE_URL: `${env.MOCK_UPSTREAM_URL}/v1`,
  ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL,
  AWS_ACCESS_KEY_ID: 'AKIDCANARYACCESSKEY',
  AWS_REGION: 'us-east-1',
  BEDROCK_BASE_URL: env.MOCK_UPSTREAM_URL,
  GOOGLE_CLIENT_ID: 'edgeway-test-client',
  GOOGLE_AUTH_URL: `${OIDC}/authorize`,
  GOOGLE_TOKEN_URL: `${OIDC}/token`,
  GOOGLE_JWKS_URL: `${OIDC}/jwks`,
  GOOGLE_ISSUER: OIDC,
  BASE_URL: BASE,
  RETRY_MAX_RETRIES: '1',
  RETRY_BASE_DELAY_MS: '1',
  // Well below the mock's slow first token (1.5 s), well above a loaded machine's answer to 48
  // parallel calls (300 ms was not: a fast 400 could arrive after it and read as a timeout).
  PROVIDER_TIMEOUT_MS: '1000',
  STREAM_HOLD_MS: '50',
  SSE_KEEPALIVE_MS: '100',
};

// The mock upstream's faults (test/mock-upstream/common.ts).
const FAULTS = ['400', '429', '500', 'hang', 'malformed', 'redirect', 'cut', 'slow'] as const;
type Fault = (typeof FAULTS)[number];
const VENDORS = [
  { vendor: 'openai', model: 'openai:gpt-4o-mini' },
  { vendor: 'anthropic', model: 'anthropic:claude-3-5-haiku-latest' },
  { vendor: 'bedrock', model: 'bedrock:anthropic.claude-3-haiku-20240307-v1:0' },
] as const;
type Vendor = (typeof VENDORS)[number]['vendor'];
const DIALECTS = ['openai', 'anthropic', 'platform'] as const;
type Dialect = (typeof DIALECTS)[number];

type Code = 'PROVIDER_ERROR' | 'PROVIDER_TIMEOUT';
// What a call must end in: the answer, or an error before any answer text (an HTTP error, or a
// committed stream whose only content is its terminal error frame), or an error after answer text
// (a committed stream: text, then its terminal error frame). 'either' when the mock's bytes allow both.
type Outcome = { kind: 'answer' } | { kind: 'error'; code: Code; afterText: boolean | 'either' };

// Derived from what each fault means at the mock and from API.md's error table, not from a run:
// a refused, failed, redirected or unreadable upstream answer is PROVIDER_ERROR; an upstream that
// does not answer within PROVIDER_TIMEOUT_MS (1 s here) is PROVIDER_TIMEOUT.
function expectedOutcome(vendor: Vendor, fault: Fault, stream: boolean): Outcome {
  const error = (code: Code, afterText: boolean | 'either' = false): Outcome => ({ kind: 'error', code, afterText });
  switch (fault) {
    case '400':
    case '429':
    case '500':
    case 'redirect':
      return error('PROVIDER_ERROR');
    case 'hang':
      return error('PROVIDER_TIMEOUT');
    case 'malformed':
      // Bedrock's stream breaks at the second delta (bad checksum). Whether the first word gets out
      // first depends on whether both frames arrive in one read, which the test does not control.
      return error('PROVIDER_ERROR', stream && vendor === 'bedrock' ? 'either' : false);
    case 'cut':
      // Streams stop halfway through the answer. Only the Anthropic mock also cuts a JSON answer
      // (half the body, then the socket closes); the others answer in full without streaming.
      if (stream) return error('PROVIDER_ERROR', true);
      return vendor === 'anthropic' ? error('PROVIDER_ERROR') : { kind: 'answer' };
    case 'slow':
      // The first token comes after 1.5 s. Only the Anthropic mock also delays a JSON answer.
      if (stream || vendor === 'anthropic') return error('PROVIDER_TIMEOUT');
      return { kind: 'answer' };
  }
}

const STATUS: Record<Code, number> = { PROVIDER_ERROR: 502, PROVIDER_TIMEOUT: 504 };
// Anthropic's own error types for those statuses: api_error (its side failed), timeout_error (504).
const ANTHROPIC_TYPE: Record<Code, string> = { PROVIDER_ERROR: 'api_error', PROVIDER_TIMEOUT: 'timeout_error' };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});

// Does `data` (an error answer's body, or a terminal frame's data) carry `code` in the dialect's shape?
function isDialectError(dialect: Dialect, code: Code, data: Json, inStream: boolean): boolean {
  const error = obj(data.error);
  switch (dialect) {
    case 'openai':
      return error.code === code.toLowerCase() && typeof error.message === 'string';
    case 'anthropic':
      return data.type === 'error' && error.type === ANTHROPIC_TYPE[code] && typeof error.message === 'string';
    case 'platform':
      return error.code === code && error.status_code === STATUS[code] && (!inStream || data.finished === true);
  }
}

interface Kept {
  status: number;
  headers: Headers;
  text: string;
}

interface Case {
  vendor: Vendor;
  model: string;
  fault: Fault;
  stream: boolean;
  dialect: Dialect;
  content: string;
}

// The mock answers every prompt with "Mock answer to: <prompt without its fault marker>".
const mockAnswer = (content: string) => `Mock answer to: ${content.replace(/\[\[fault:[a-z0-9]+\]\]/g, '').trim()}`;

function answerText(dialect: Dialect, body: Json): unknown {
  if (dialect === 'openai') return obj(obj((body.choices as unknown[] | undefined)?.[0]).message).content;
  if (dialect === 'anthropic') return obj((body.content as unknown[] | undefined)?.[0]).text;
  return body.response;
}

const parseJson = (text: string): Json => {
  try {
    return obj(JSON.parse(text));
  } catch {
    return {};
  }
};

// What is wrong with this case's answer, or undefined when it is the expected one.
function outcomeProblem(c: Case, got: Kept): string | undefined {
  const want = expectedOutcome(c.vendor, c.fault, c.stream);
  const label = `${c.vendor} ${c.fault} ${c.stream ? 'stream' : 'json'} via ${c.dialect}: got ${got.status} ${got.text.slice(0, 300)}`;
  const isSse = got.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
  if (want.kind === 'answer') {
    if (got.status !== 200 || isSse) return `${label}; want 200 with the answer`;
    return answerText(c.dialect, parseJson(got.text)) === mockAnswer(c.content)
      ? undefined
      : `${label}; want the answer`;
  }
  const when = { true: 'after', false: 'before', either: 'before or after' }[String(want.afterText)];
  const describeWant = `${want.code} ${when} answer text`;
  if (got.status !== 200) {
    // Failed before the stream committed (or not a stream): an HTTP error in the dialect's shape.
    if (want.afterText === true || got.status !== STATUS[want.code] || isSse) return `${label}; want ${describeWant}`;
    return isDialectError(c.dialect, want.code, parseJson(got.text), false)
      ? undefined
      : `${label}; want ${describeWant}`;
  }
  if (!c.stream || !isSse) return `${label}; want ${describeWant}`;
  const frames = parseSse(got.text).filter((f): f is SseFrame & { data: string } => f.data !== undefined);
  const last = frames.at(-1);
  if (!last || (c.dialect === 'anthropic' && last.event !== 'error')) return `${label}; want a terminal error frame`;
  if (!isDialectError(c.dialect, want.code, parseJson(last.data), true)) return `${label}; want ${describeWant}`;
  const textBefore = frames.slice(0, -1).some((f) => f.data.includes('Mock'));
  return want.afterText === 'either' || textBefore === want.afterText ? undefined : `${label}; want ${describeWant}`;
}

function request(c: Case, overrides: EnvOverrides, apiKey: string, auth: Record<string, string>): Promise<Response> {
  const messages = [{ role: 'user', content: c.content }];
  switch (c.dialect) {
    case 'openai':
      return postJson('/v1/chat/completions', { model: c.model, stream: c.stream, messages }, overrides, {
        'x-api-key': apiKey,
      });
    case 'anthropic':
      return postJson('/v1/messages', { model: c.model, stream: c.stream, max_tokens: 50, messages }, overrides, auth);
    case 'platform':
      return postJson(
        c.stream ? '/api/v1/chat/stream' : '/api/v1/chat/completion',
        { message: c.content, model: c.model },
        overrides,
        auth,
      );
  }
}

// A log argument as text: objects in full (not "[object Object]"), errors with message, stack and cause.
function logText(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg instanceof Error) return `${String(arg)} ${arg.stack ?? ''} ${render(arg.cause)} ${render(arg)}`;
  return render(arg);
}

let logs: string[] = [];
const originals = { log: console.log, warn: console.warn, error: console.error };

beforeEach(() => {
  logs = [];
  for (const level of ['log', 'warn', 'error'] as const) {
    console[level] = (...args: unknown[]) => {
      logs.push(args.map(logText).join(' '));
    };
  }
});

afterEach(() => {
  Object.assign(console, originals);
});

function leaks(haystack: string, secrets: string[]): string[] {
  return secrets.filter((s) => haystack.includes(s));
}

// Did this token request carry `secret` (as client_secret in the form, or in HTTP Basic)?
function carries(record: MockRecord | undefined, secret: string): boolean {
  if (!record) return false;
  const basic = /^Basic\s+(\S+)$/i.exec(record.headers.authorization ?? '')?.[1];
  return new URLSearchParams(record.body).get('client_secret') === secret || (!!basic && atob(basic).includes(secret));
}

function cookieValue(kept: Kept, name: string): string {
  const cookie = kept.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return cookie?.split(';')[0]?.slice(name.length + 1) ?? '';
}

const pathOf = (location: string | null) => {
  const url = new URL(location ?? '/', BASE);
  return url.pathname + url.search;
};

describe('canary secrets', () => {
  it('every fault path ends as it means to, and no secret reaches answers, frames, logs, D1, KV, R2, Durable Objects or queued events', async () => {
    const seen: string[] = [];
    const keep = async (res: Response): Promise<Kept> => {
      const kept = { status: res.status, headers: res.headers, text: await res.text() };
      seen.push(`${kept.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${kept.text}`);
      return kept;
    };
    const nonce = crypto.randomUUID();

    // The request log's events are kept as the consumer receives them (and still delivered), and
    // every Durable Object the worker reaches is noted so its memory can be read afterwards too.
    const log = queueSpy(env.REQUEST_LOG);
    const objects = {
      RATE_LIMITER: noteObjects(env.RATE_LIMITER),
      CACHE_INDEX: noteObjects(env.CACHE_INDEX),
      SEMANTIC_INDEX: noteObjects(env.SEMANTIC_INDEX),
      CACHE_FLIGHT: noteObjects(env.CACHE_FLIGHT),
    };
    const overrides: EnvOverrides = { ...settings, REQUEST_LOG: log.queue };
    for (const [binding, noted] of Object.entries(objects)) overrides[binding] = noted.namespace;

    // Caller credentials become canaries too.
    const account = await register(undefined, overrides);
    const keyRes = await postJson('/api/v1/auth/api-keys', { name: 'canary' }, overrides, account.auth);
    const apiKey = ((await keyRes.json()) as { key: string }).key;
    const callerSecrets = [PASSWORD, account.accessToken, account.refreshToken, apiKey];

    // Every vendor × fault × stream × dialect, in parallel per vendor. Each prompt is unique, so each
    // call reaches the upstream on its own (no cache hit, no shared flight).
    const cases: Case[] = [];
    const problems: string[] = [];
    for (const { vendor, model } of VENDORS) {
      const batch = FAULTS.flatMap((fault) =>
        [false, true].flatMap((stream) =>
          DIALECTS.map((dialect) => ({
            vendor,
            model,
            fault,
            stream,
            dialect,
            content: `canary ${nonce} ${vendor} ${dialect} ${fault} ${stream} [[fault:${fault}]]`,
          })),
        ),
      );
      cases.push(...batch);
      const answers = await Promise.all(batch.map((c) => request(c, overrides, apiKey, account.auth)));
      for (const [i, res] of answers.entries()) {
        const c = batch[i];
        if (!c) continue;
        const problem = outcomeProblem(c, await keep(res));
        if (problem) problems.push(problem);
      }
    }
    expect(cases).toHaveLength(VENDORS.length * FAULTS.length * 2 * DIALECTS.length);
    // Soft, so a wrong outcome does not hide a leak found by the scans below (and vice versa).
    expect.soft(problems, 'each call ends as its fault means').toEqual([]);
    // Each fault path was reached: the upstream saw every call (none stopped at 401/400/503).
    const upstream = await mockRequests(nonce);
    const unreached = cases.filter((c) => !upstream.some((r) => r.body.includes(c.content)));
    expect
      .soft(
        unreached.map((c) => c.content),
        'calls the upstream never saw',
      )
      .toEqual([]);

    // Authentication failures, a request carrying a provider key in its body, refresh reuse.
    const expectError = (kept: Kept, status: number, code: string) =>
      expect(obj(parseJson(kept.text).error), `${status} ${code}: ${kept.text}`).toMatchObject({
        code,
        status_code: status,
      });
    const badToken = await keep(
      await call('/api/v1/auth/me', { headers: { authorization: `Bearer ${account.accessToken}x` } }, overrides),
    );
    expectError(badToken, 401, 'AUTHENTICATION_REQUIRED');
    const badKey = await keep(await call('/api/v1/auth/me', { headers: { 'x-api-key': `${apiKey}x` } }, overrides));
    expectError(badKey, 401, 'AUTHENTICATION_REQUIRED');
    const badLogin = await keep(
      await postJson('/api/v1/auth/login', { email: account.email, password: `${PASSWORD}!` }, overrides),
    );
    expectError(badLogin, 401, 'AUTHENTICATION_REQUIRED');
    // An empty conversation is invalid whatever else the body holds; the refusal must not echo the key.
    const keyInBody = await keep(
      await postJson(
        '/v1/chat/completions',
        { model: 'gpt-4o-mini', api_key: CANARIES.OPENAI_API_KEY, messages: [] },
        overrides,
      ),
    );
    expect(keyInBody.status, keyInBody.text).toBe(400);
    expect(obj(parseJson(keyInBody.text).error).type).toBe('invalid_request_error');
    const refreshed = await keep(
      await postJson('/api/v1/auth/refresh', { refresh_token: account.refreshToken }, overrides),
    );
    expect(refreshed.status, refreshed.text).toBe(200);
    const reused = await keep(
      await postJson('/api/v1/auth/refresh', { refresh_token: account.refreshToken }, overrides),
    );
    expectError(reused, 401, 'AUTHENTICATION_REQUIRED');
    expect((await keep(await call('/health', {}, overrides))).status).toBe(200);
    expect((await keep(await call('/api/v1/models', {}, overrides))).status).toBe(200);

    // /metrics with the canary METRICS_TOKEN, a wrong one and none.
    for (const path of ['/metrics', '/internal/metrics']) {
      expectError(await keep(await call(path, {}, overrides)), 401, 'AUTHENTICATION_REQUIRED');
      const wrong = { authorization: `Bearer ${CANARIES.METRICS_TOKEN}x` };
      expectError(await keep(await call(path, { headers: wrong }, overrides)), 401, 'AUTHENTICATION_REQUIRED');
      const right = { authorization: `Bearer ${CANARIES.METRICS_TOKEN}` };
      const metrics = await keep(await call(path, { headers: right }, overrides));
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('# TYPE edgeway_requests_total counter');
    }

    // Google sign-in against the mock OpenID provider: the client secret goes to its token endpoint.
    // Answers the code the provider issued and the callback's answer.
    const googleCallback = async (o: EnvOverrides) => {
      const login = await keep(await call('/api/v1/auth/google/login', {}, o));
      expect(login.status, login.text).toBe(302);
      const authorize = new URL(login.headers.get('location') ?? '');
      authorize.searchParams.set('login_hint', `canary-${nonce}@example.com`);
      const atProvider = await fetch(authorize, { redirect: 'manual' });
      expect(atProvider.status).toBe(302);
      const back = new URL(atProvider.headers.get('location') ?? '');
      const code = back.searchParams.get('code') ?? '';
      const cookie = `ew_oauth_state=${cookieValue(login, 'ew_oauth_state')}`;
      return { code, answer: await keep(await call(back.pathname + back.search, { headers: { cookie } }, o)) };
    };
    const signIn = await googleCallback(overrides);
    expect(signIn.answer.status, signIn.answer.text).toBe(302);
    const hop = await keep(await call(pathOf(signIn.answer.headers.get('location')), {}, overrides));
    expect(hop.status).toBe(302);
    // The hop lands in the web app (/app/#/oauth?token=…), which spends the token at validate-token: as here.
    const landing = hop.headers.get('location') ?? '';
    expect(landing).toMatch(/^\/app\/#\/oauth\?token=/);
    const validated = await keep(
      await call(`/api/v1/auth/validate-token?${landing.split('?')[1] ?? ''}`, {}, overrides),
    );
    expect(validated.status, validated.text).toBe(200);
    const me = await keep(
      await call(
        '/api/v1/auth/me',
        { headers: { cookie: `ew_access=${cookieValue(validated, 'ew_access')}` } },
        overrides,
      ),
    );
    expect(me.status, me.text).toBe(200);
    const refused = await googleCallback({ ...overrides, GOOGLE_CLIENT_SECRET: REFUSED_GOOGLE_SECRET });
    expectError(refused.answer, 401, 'AUTHENTICATION_REQUIRED');
    const [exchange] = await mockRequests(signIn.code);
    expect(carries(exchange, CANARIES.GOOGLE_CLIENT_SECRET), 'the client secret was sent').toBe(true);
    const [refusedExchange] = await mockRequests(refused.code);
    expect(carries(refusedExchange, REFUSED_GOOGLE_SECRET), 'the refused secret was sent').toBe(true);

    // The log's events reach the consumer, which writes them to D1 (scanned below).
    const eventIds = log.bodies.flatMap((b) => (obj(b).kind === 'request' ? [String(obj(b).id)] : []));
    expect(eventIds.length).toBeGreaterThanOrEqual(cases.length);
    await expect
      .poll(
        async () =>
          (
            await env.DB.prepare(
              'SELECT COUNT(*) AS n FROM request_events WHERE id IN (SELECT value FROM json_each(?))',
            )
              .bind(JSON.stringify(eventIds))
              .first<{ n: number }>()
          )?.n,
        { timeout: 15_000, interval: 200 },
      )
      .toBe(eventIds.length);

    const secrets = [...Object.values(CANARIES), REFUSED_GOOGLE_SECRET, ...callerSecrets];
    expect(leaks(seen.join('\n'), secrets), 'answers and SSE frames').toEqual([]);
    expect(logs.length, 'the fault paths did log').toBeGreaterThan(10);
    expect(leaks(logs.join('\n'), secrets), 'log lines').toEqual([]);
    expect(leaks(JSON.stringify(log.bodies), secrets), 'request-log queue events').toEqual([]);
    // Stored rows may hold hashes of credentials, never the credentials themselves.
    expect(leaks(await d1Dump(), secrets), 'D1 rows').toEqual([]);
    const kv = await kvDump(env.CACHE);
    expect(kv.keys, 'the answered calls were cached').toBeGreaterThan(0);
    expect(leaks(kv.text, secrets), 'KV entries').toEqual([]);
    expect(leaks((await r2Dump(env.FILES)).text, secrets), 'R2 objects').toEqual([]);
    for (const [binding, noted] of Object.entries(objects)) {
      const dump = await noted.dump();
      expect(dump.objects, `${binding} objects were reached`).toBeGreaterThan(0);
      expect(leaks(dump.text, secrets), `${binding} storage and memory`).toEqual([]);
    }
  }, 180_000);
});
