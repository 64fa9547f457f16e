import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import worker from '../../src';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RequestEvent } from '../../src/features/request-log/middleware';
import { handleQueue } from '../../src/features/request-log/consumer';
import { register } from '../helpers/auth';
import { capturing } from '../helpers/capture-log';
import { BASE, call, expectEnvelope, postJson, type EnvOverrides } from '../helpers/http';

const QUEUE = 'edgeway-request-log';

let delivery = 0;

// One delivery of `bodies` to the consumer, as the queue would make it; the message ids are stable
// per event so a redelivery looks like one.
async function deliver(bodies: unknown[], db: D1Database = env.DB, attempts = 1) {
  delivery += 1;
  const batch = createMessageBatch(
    QUEUE,
    bodies.map((body, i) => ({
      id: (body as { id?: string }).id ?? `msg-${delivery}-${i}`,
      timestamp: new Date(),
      attempts,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await handleQueue(batch, { DB: db });
  return getQueueResult(batch, ctx);
}

// `name{labels} value` lines of the exposition, keyed by everything before the value.
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function metricsText(overrides: EnvOverrides = {}, headers: Record<string, string> = {}) {
  // Scraping is itself a request: its event goes to a capture that is never delivered.
  const res = await call('/metrics', { headers }, { ...capturing().overrides, ...overrides });
  return res;
}

async function clearLog() {
  await env.DB.batch([
    env.DB.prepare('DELETE FROM request_events'),
    env.DB.prepare('DELETE FROM rollups'),
    env.DB.prepare('DELETE FROM histograms'),
  ]);
}

describe('request log → /metrics', () => {
  beforeEach(clearLog);

  it('shows exactly the requests that were made', async () => {
    const log = capturing();
    const o = log.overrides;

    // Setup traffic (an account whose organization has no quota left) is not part of the count.
    const account = await register(undefined, o);
    await env.DB.prepare('UPDATE organizations SET api_quota_limit = 0, quota_period = ? WHERE id = ?')
      .bind(new Date().toISOString().slice(0, 7), account.organizationId)
      .run();
    log.sent.length = 0;

    for (let i = 0; i < 3; i++) expect((await call('/health', {}, o)).status).toBe(200);
    const nonce = crypto.randomUUID();
    // Two prompts that differ in one character: the semantic cache may find them alike (it did, for some
    // nonces), and this test counts two misses; the semantic cache has its own tests.
    const exactOnly = { ...o, SEMANTIC_CACHE_ENABLED: 'false' };
    for (let i = 0; i < 2; i++) {
      const res = await postJson('/api/v1/chat/completion', { message: `metrics ${nonce} ${i}` }, exactOnly);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache-status')).toBe('MISS');
    }
    await expectEnvelope(await call('/no/such/route', {}, o), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(await postJson('/api/v1/chat/completion', {}, o), 400, 'VALIDATION_ERROR');
    await expectEnvelope(
      await postJson('/api/v1/chat/completion', { message: 'over quota' }, o, account.auth),
      429,
      'QUOTA_EXCEEDED',
    );
    // A burst of one from a fresh address: the second call is rate limited.
    const limited = { ...o, RATE_LIMIT_PER_MINUTE: '60', RATE_LIMIT_BURST: '1' };
    const ip = { 'cf-connecting-ip': `2001:db8:${crypto.randomUUID().slice(0, 4)}::7` };
    expect((await call('/api/v1/models', { headers: ip }, limited)).status).toBe(200);
    await expectEnvelope(await call('/api/v1/models', { headers: ip }, limited), 429, 'RATE_LIMIT_EXCEEDED');

    const events = log.requests();
    expect(events).toHaveLength(10);
    const result = await deliver(events);
    expect(result.retryBatch.retry).toBe(false);
    expect(result.retryMessages).toEqual([]);

    const res = await metricsText();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const m = samples(text);
    const requests = [...m].filter(([k]) => k.startsWith('edgeway_requests_total{'));
    expect(Object.fromEntries(requests)).toEqual({
      'edgeway_requests_total{method="GET",endpoint="/api/v1/models",status="200"}': 1,
      'edgeway_requests_total{method="GET",endpoint="/api/v1/models",status="429"}': 1,
      'edgeway_requests_total{method="GET",endpoint="/health",status="200"}': 3,
      'edgeway_requests_total{method="POST",endpoint="/api/v1/chat/completion",status="200"}': 2,
      'edgeway_requests_total{method="POST",endpoint="/api/v1/chat/completion",status="400"}': 1,
      'edgeway_requests_total{method="POST",endpoint="/api/v1/chat/completion",status="429"}': 1,
      'edgeway_requests_total{method="GET",endpoint="unmatched",status="404"}': 1,
    });
    expect(m.get('edgeway_rate_limited_total')).toBe(1);
    expect(m.get('edgeway_quota_exceeded_total')).toBe(1);
    expect(m.get('edgeway_cache_requests_total{result="miss"}')).toBe(2);
    expect(m.get('edgeway_cache_requests_total{result="hit"}')).toBe(0);

    // Tokens and cost are the two answered calls' own figures.
    const answered = events.filter((e) => e.model !== null);
    expect(answered).toHaveLength(2);
    const [first] = answered;
    const model = `model="${first?.model}",provider="local"`;
    const prompt = answered.reduce((n, e) => n + e.prompt_tokens, 0);
    expect(prompt).toBeGreaterThan(0);
    expect(m.get(`edgeway_tokens_total{${model},type="prompt"}`)).toBe(prompt);
    expect(m.get(`edgeway_tokens_total{${model},type="completion"}`)).toBe(
      answered.reduce((n, e) => n + e.completion_tokens, 0),
    );
    expect(m.get(`edgeway_cost_usd_total{${model}}`)).toBe(0);

    // Histograms: cumulative buckets whose +Inf bucket and _count equal the requests of the series.
    const health = 'method="GET",endpoint="/health"';
    expect(m.get(`edgeway_request_duration_seconds_count{${health}}`)).toBe(3);
    expect(m.get(`edgeway_request_duration_seconds_bucket{${health},le="+Inf"}`)).toBe(3);
    expect(m.get(`edgeway_gateway_overhead_seconds_count{${health}}`)).toBe(3);
    const buckets = [...m].filter(([k]) => k.startsWith(`edgeway_request_duration_seconds_bucket{${health}`));
    expect(buckets).toHaveLength(12);
    const counts = buckets.map(([, v]) => v);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    const total = [...m]
      .filter(([k]) => k.startsWith('edgeway_request_duration_seconds_count{'))
      .reduce((n, [, v]) => n + v, 0);
    expect(total).toBe(10);

    // Every family announces itself; nothing is emitted twice.
    for (const family of [
      'edgeway_requests_total counter',
      'edgeway_request_duration_seconds histogram',
      'edgeway_gateway_overhead_seconds histogram',
      'edgeway_time_to_first_token_seconds histogram',
      'edgeway_tokens_total counter',
      'edgeway_cost_usd_total counter',
      'edgeway_cache_requests_total counter',
      'edgeway_rate_limited_total counter',
      'edgeway_quota_exceeded_total counter',
      'edgeway_upstream_errors_total counter',
    ]) {
      expect(text).toContain(`# TYPE ${family}\n`);
    }
    const lines = text.trimEnd().split('\n');
    expect(new Set(lines).size).toBe(lines.length);
  });

  it('logs the route pattern, never the raw path, and the caller', async () => {
    const log = capturing();
    const account = await register(undefined, log.overrides);
    log.sent.length = 0;
    await call('/api/v1/requests/987654321', { headers: account.auth }, log.overrides);
    const [event] = log.requests();
    expect(event).toMatchObject({
      method: 'GET',
      route: '/api/v1/requests/{id}',
      status: 404,
      error_code: 'RESOURCE_NOT_FOUND',
      user_id: account.userId,
      organization_id: account.organizationId,
      api_key_id: null,
    });
    expect(JSON.stringify(log.sent)).not.toContain('987654321');
    expect(event?.overhead_ms).toBeLessThanOrEqual(event?.latency_ms ?? 0);
  });

  it('streams: the event waits for the stream and carries its time to first token', async () => {
    const log = capturing();
    const res = await postJson('/api/v1/chat/stream', { message: `stream ${crypto.randomUUID()}` }, log.overrides);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    await res.text();
    const [event] = log.requests();
    expect(event).toMatchObject({ route: '/api/v1/chat/stream', status: 200, provider: 'local', stream: true });
    expect(event?.ttft_ms).not.toBeNull();
    await deliver(log.requests());
    const m = samples(await (await metricsText()).text());
    expect(m.get('edgeway_time_to_first_token_seconds_count{method="POST",endpoint="/api/v1/chat/stream"}')).toBe(1);
  });

  it('never fails a request when the queue refuses the event', async () => {
    const refuse = () => Promise.reject(new Error('queue unavailable'));
    const broken = { REQUEST_LOG: { send: refuse, sendBatch: refuse } };
    const res = await call('/api/v1/models', {}, broken);
    expect(res.status).toBe(200);
    // Without the binding nothing is sent at all.
    expect((await call('/api/v1/models', {}, { REQUEST_LOG: undefined })).status).toBe(200);
  });

  it('never delays an answer while the queue send hangs', async () => {
    // The send is reached but does not return until the test lets it.
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let events = 0;
    const hang = async (sent: unknown) => {
      events += Array.isArray(sent) ? sent.length : 1;
      await gate;
    };
    const ctx = createExecutionContext();
    const hung = { ...env, REQUEST_LOG: { send: hang, sendBatch: hang } } as unknown as Env;
    try {
      for (const request of [
        new Request(`${BASE}/api/v1/models`),
        new Request(`${BASE}/api/v1/chat/completion`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: `hung log ${crypto.randomUUID()}` }),
        }),
      ]) {
        const answered = (async () => {
          const res = await worker.fetch(request, hung, ctx);
          return { status: res.status, body: await res.text() };
        })();
        const held = new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), 2_000));
        const got = await Promise.race([answered, held]);
        expect(got, `${request.method} ${request.url} was held back by the log send`).not.toBe('held');
        expect(got).toMatchObject({ status: 200 });
      }
      // Both events did go to the queue, whose send has still not returned.
      await expect.poll(() => events).toBe(2);
    } finally {
      release();
    }
    await waitOnExecutionContext(ctx);
  });
});

describe('request log consumer', () => {
  beforeEach(clearLog);

  function event(route: string, i: number, extra: Partial<RequestEvent> = {}): RequestEvent {
    return {
      kind: 'request',
      v: 1,
      id: `evt_${crypto.randomUUID().replaceAll('-', '')}`,
      request_id: `req_${i}`,
      ts: Date.UTC(2024, 0, 15, 10, 30, i),
      method: 'POST',
      route,
      status: 200,
      latency_ms: 40 + i,
      upstream_ms: 30,
      overhead_ms: 10 + i,
      organization_id: 'org_exactly_once',
      user_id: null,
      api_key_id: null,
      dialect: 'openai',
      model: 'gpt-4o-mini',
      provider: 'openai',
      prompt_tokens: 10,
      completion_tokens: 5,
      cost_usd: 0.001,
      cache_status: 'MISS',
      error_code: null,
      ttft_ms: null,
      stream: false,
      rate_limited: false,
      quota_exceeded: false,
      ...extra,
    };
  }

  async function totals(route: string) {
    const day = await env.DB.prepare(
      "SELECT SUM(count) AS count, SUM(prompt_tokens) AS prompt FROM rollups WHERE period = 'day' AND route = ?",
    )
      .bind(route)
      .first<{ count: number | null; prompt: number | null }>();
    const minute = await env.DB.prepare("SELECT SUM(count) AS count FROM rollups WHERE period = 'minute' AND route = ?")
      .bind(route)
      .first<{ count: number | null }>();
    const histogram = await env.DB.prepare(
      "SELECT SUM(count) AS count FROM histograms WHERE metric = 'request_duration' AND route = ?",
    )
      .bind(route)
      .first<{ count: number | null }>();
    const rows = await env.DB.prepare('SELECT COUNT(*) AS count FROM request_events WHERE route = ?')
      .bind(route)
      .first<{ count: number }>();
    return {
      day: day?.count ?? 0,
      prompt: day?.prompt ?? 0,
      minute: minute?.count ?? 0,
      histogram: histogram?.count ?? 0,
      rows: rows?.count ?? 0,
    };
  }

  it('writes a delivery larger than one statement can carry: every event and row, in order', async () => {
    // Each answer is 300 KB: four of them do not fit one statement's JSON parameter (512 KB), so the
    // consumer splits them, and the `requests` ids still follow the events' order.
    const route = `/big/${crypto.randomUUID()}`;
    const events = Array.from({ length: 4 }, (_, i) =>
      event(route, i, {
        calls: [
          {
            dialect: 'openai',
            text: `big ${i}`,
            response: `${i}`.repeat(300_000),
            model: 'gpt-4o-mini',
            provider: 'openai',
            status: 'completed',
            requestId: `${route}:${i}`,
          },
        ],
      } as Partial<RequestEvent>),
    );
    await deliver(events);
    expect((await totals(route)).rows).toBe(4);
    const rows = await env.DB.prepare(
      'SELECT request_id AS rid, length(response) AS size FROM requests WHERE request_id LIKE ? ORDER BY rowid',
    )
      .bind(`${route}:%`)
      .all<{ rid: string; size: number }>();
    expect(rows.results).toEqual([0, 1, 2, 3].map((i) => ({ rid: `${route}:${i}`, size: 300_000 })));
  });

  it('retries a batch whose write failed once, and its events land exactly once', async () => {
    const route = `/test/${crypto.randomUUID()}`;
    const events = Array.from({ length: 5 }, (_, i) => event(route, i));

    let failures = 1;
    const flaky = {
      prepare: (query: string) => env.DB.prepare(query),
      batch: async (statements: D1PreparedStatement[]) => {
        if (failures-- > 0) throw new Error('D1_ERROR: injected failure');
        return env.DB.batch(statements);
      },
    } as unknown as D1Database;

    const failed = await deliver(events, flaky, 1);
    expect(failed.retryBatch.retry).toBe(true);
    expect(await totals(route)).toEqual({ day: 0, prompt: 0, minute: 0, histogram: 0, rows: 0 });

    const retried = await deliver(events, flaky, 2);
    expect(retried.retryBatch.retry).toBe(false);
    const once = { day: 5, prompt: 50, minute: 5, histogram: 5, rows: 5 };
    expect(await totals(route)).toEqual(once);

    // Delivered again (at-least-once), and with a duplicate inside one batch: still counted once.
    await deliver(events, env.DB, 1);
    await deliver([events[0], events[0], events[1]], env.DB, 1);
    expect(await totals(route)).toEqual(once);

    // A new event on the same key adds to the same rollup row.
    await deliver([event(route, 7)]);
    expect(await totals(route)).toEqual({ day: 6, prompt: 60, minute: 6, histogram: 6, rows: 6 });
  });

  it('buckets latencies into the histogram and counts upstream errors by provider and code', async () => {
    const route = `/test/${crypto.randomUUID()}`;
    await deliver([
      event(route, 1, { latency_ms: 3 }),
      event(route, 2, { latency_ms: 5 }),
      event(route, 3, { latency_ms: 7 }),
      event(route, 4, { latency_ms: 20_000, status: 502, error_code: 'PROVIDER_ERROR', ttft_ms: 120 }),
    ]);
    const m = samples(await (await metricsText()).text());
    const series = `method="POST",endpoint="${route}"`;
    expect(m.get(`edgeway_request_duration_seconds_bucket{${series},le="0.005"}`)).toBe(2);
    expect(m.get(`edgeway_request_duration_seconds_bucket{${series},le="0.01"}`)).toBe(3);
    expect(m.get(`edgeway_request_duration_seconds_bucket{${series},le="10"}`)).toBe(3);
    expect(m.get(`edgeway_request_duration_seconds_bucket{${series},le="+Inf"}`)).toBe(4);
    expect(m.get(`edgeway_request_duration_seconds_sum{${series}}`)).toBeCloseTo(20.015, 6);
    expect(m.get(`edgeway_time_to_first_token_seconds_bucket{${series},le="0.25"}`)).toBe(1);
    expect(m.get('edgeway_upstream_errors_total{provider="openai",code="PROVIDER_ERROR"}')).toBe(1);
    expect(m.get('edgeway_cost_usd_total{model="gpt-4o-mini",provider="openai"}')).toBeCloseTo(0.004, 9);
  });

  it('escapes label values', async () => {
    await deliver([event('/odd/"quoted"\\back\nline', 1)]);
    const text = await (await metricsText()).text();
    expect(text).toContain('endpoint="/odd/\\"quoted\\"\\\\back\\nline"');
  });

  it('drops health probes and malformed messages without retrying', async () => {
    const result = await deliver([{ kind: 'probe', ts: Date.now() }, { nonsense: true }, 'text']);
    expect(result.retryBatch.retry).toBe(false);
    const rows = await env.DB.prepare('SELECT COUNT(*) AS n FROM request_events').first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});

describe('GET /metrics access', () => {
  const token = 'metrics-token-for-tests-0123';

  it.each(['/metrics', '/internal/metrics'])('%s needs the bearer METRICS_TOKEN when one is set', async (path) => {
    const o = { ...capturing().overrides, METRICS_TOKEN: token };
    await expectEnvelope(await call(path, {}, o), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(
      await call(path, { headers: { authorization: 'Bearer wrong-token' } }, o),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    await expectEnvelope(await call(path, { headers: { authorization: token } }, o), 401, 'AUTHENTICATION_REQUIRED');
    const ok = await call(path, { headers: { authorization: `Bearer ${token}` } }, o);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE edgeway_requests_total counter');
  });

  it('is open when no METRICS_TOKEN is set', async () => {
    expect((await metricsText()).status).toBe(200);
  });
});
