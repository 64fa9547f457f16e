import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src';
import { pruneRequestLog } from '../../src/features/analytics';
import { handleQueue } from '../../src/features/request-log/consumer';
import type { RequestEvent } from '../../src/features/request-log/middleware';
import { type Account, memberOf, register } from '../helpers/auth';
import { capturing } from '../helpers/capture-log';
import { call, type EnvOverrides, expectEnvelope, openaiEnv, postJson } from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

// Seed 003 §2.6: analytics equal what the test sent. Every request's log event is captured (not sent to the
// queue) and handed to the request-log consumer explicitly, so the figures hold exactly the delivered events
// and the analytics calls' own events never land.

const DAY = 86_400_000;

interface Usage {
  api_usage: ({ date: string } & Figures)[];
  runs_summary: {
    total_runs: number;
    completed_runs: number;
    failed_runs: number;
    avg_execution_time: number | null;
    success_rate: number | null;
  };
  top_projects: { project_id: string; project_name: string; run_count: number; success_rate: number | null }[];
  integration_usage: Record<string, number>;
  by_model: ({ model: string; provider: string } & Figures)[];
  by_provider: ({ provider: string } & Figures)[];
}

interface Figures {
  requests: number;
  tokens: number;
  cost_usd: number;
  avg_response_time: number | null;
  errors: number;
  cache_hits: number;
  cache_misses: number;
}

interface Performance {
  response_times: { p50: number | null; p95: number | null; p99: number | null };
  error_rates: { '4xx': number | null; '5xx': number | null };
  throughput: { requests_per_second: number; peak_rps: number };
  resource_usage: Record<string, null>;
}

let delivery = 0;

// One delivery of the events to the request-log consumer, as the queue would make it.
async function deliver(events: RequestEvent[]) {
  delivery += 1;
  const batch = createMessageBatch(
    'edgeway-request-log',
    events.map((body, i) => ({ id: `an-${delivery}-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await handleQueue(batch, { DB: env.DB });
  const result = await getQueueResult(batch, ctx);
  expect(result.retryBatch.retry).toBe(false);
}

// A request-log event as the middleware makes it, with the fields a test chooses.
function event(organizationId: string, fields: Partial<RequestEvent> & { ts: number }): RequestEvent {
  return {
    kind: 'request',
    v: 1,
    id: `evt_${crypto.randomUUID().replaceAll('-', '')}`,
    request_id: crypto.randomUUID(),
    method: 'POST',
    route: '/api/v1/chat/completion',
    status: 200,
    latency_ms: 10,
    upstream_ms: null,
    overhead_ms: 10,
    organization_id: organizationId,
    user_id: null,
    api_key_id: null,
    dialect: null,
    model: null,
    provider: null,
    prompt_tokens: 0,
    completion_tokens: 0,
    cost_usd: 0,
    cache_status: null,
    error_code: null,
    ttft_ms: null,
    stream: false,
    rate_limited: false,
    quota_exceeded: false,
    ...fields,
  };
}

// Nearest rank: the value at rank ceil(p/100 · n) of the sorted values.
function nearestRank(values: number[], p: number): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1];
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const todayStart = (now: number) => Math.floor(now / DAY) * DAY;

async function getJson<T>(path: string, who: Account, o: EnvOverrides): Promise<T> {
  const res = await call(path, { headers: who.auth }, o);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

describe('GET /analytics/usage and /analytics/performance: the AI calls an organization made', () => {
  it('counts exactly the calls sent (requests, tokens, latencies, errors), by any member, and no other organization', async () => {
    const log = capturing();
    const o = log.overrides;
    const owner = await register(undefined, o);
    const viewer = await memberOf(owner, 'viewer', o);
    const outsider = await register(undefined, o);
    log.sent.length = 0;

    // The owner: three answered calls (one streamed), one refused as invalid (400), one whose provider
    // failed (502). Exact cache only: each prompt is new.
    const nonce = crypto.randomUUID();
    const exact = { ...o, SEMANTIC_CACHE_ENABLED: 'false' };
    let tokens = 0;
    for (let i = 0; i < 2; i++) {
      const res = await postJson(
        '/api/v1/chat/completion',
        { message: `analytics ${nonce} ${i}`, model: 'local:edgeway-local' },
        exact,
        owner.auth,
      );
      expect(res.status).toBe(200);
      tokens += ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    }
    const streamed = await postJson(
      '/api/v1/chat/stream',
      { message: `analytics ${nonce} streamed`, model: 'local:edgeway-local' },
      exact,
      owner.auth,
    );
    expect(streamed.status).toBe(200);
    const finished = dataFrames(parseSse(await streamed.text())).at(-1) as { usage: { total_tokens: number } };
    tokens += finished.usage.total_tokens;
    expect(tokens).toBeGreaterThan(0);
    await expectEnvelope(await postJson('/api/v1/chat/completion', {}, exact, owner.auth), 400, 'VALIDATION_ERROR');
    await expectEnvelope(
      await postJson(
        '/api/v1/chat/completion',
        { message: `analytics ${nonce} [[fault:400]]`, model: 'gpt-4o-mini' },
        { ...exact, ...openaiEnv({ RETRY_BASE_DELAY_MS: '5' }) },
        owner.auth,
      ),
      502,
      'PROVIDER_ERROR',
    );
    // Another organization's two calls.
    for (let i = 0; i < 2; i++) {
      const res = await postJson(
        '/api/v1/chat/completion',
        { message: `analytics ${nonce} outsider ${i}`, model: 'local:edgeway-local' },
        exact,
        outsider.auth,
      );
      expect(res.status).toBe(200);
    }

    const events = log.requests();
    const mine = events.filter((e) => e.organization_id === owner.organizationId);
    expect(mine).toHaveLength(5);
    expect(events.filter((e) => e.organization_id === outsider.organizationId)).toHaveLength(2);
    expect(mine.reduce((n, e) => n + e.prompt_tokens + e.completion_tokens, 0)).toBe(tokens);
    await deliver(events);

    // Read by the viewer: any member of the organization may.
    const now = Date.now();
    const u = await getJson<Usage>('/api/v1/analytics/usage?days=1&granularity=day', viewer, o);
    const latencies = mine.map((e) => e.latency_ms);
    const meanLatency = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    expect(u.api_usage).toHaveLength(1);
    const [today] = u.api_usage;
    expect(today).toMatchObject({ date: isoDay(now), requests: 5, tokens });
    expect(Math.abs((today?.avg_response_time ?? NaN) - meanLatency)).toBeLessThanOrEqual(0.0011);
    expect(u.runs_summary).toEqual({
      total_runs: 0,
      completed_runs: 0,
      failed_runs: 0,
      avg_execution_time: null,
      success_rate: null,
    });
    expect(u.top_projects).toEqual([]);
    expect(u.integration_usage).toEqual({ file_system: 0 });

    // By hour: every hour of today so far, the calls in the current one.
    const hourly = await getJson<Usage>('/api/v1/analytics/usage?days=1&granularity=hour', owner, o);
    const hoursToday = Math.floor((now - todayStart(now)) / 3_600_000) + 1;
    expect(hourly.api_usage).toHaveLength(hoursToday);
    expect(hourly.api_usage.at(-1)).toMatchObject({
      date: new Date(Math.floor(now / 3_600_000) * 3_600_000).toISOString(),
      requests: 5,
      tokens,
    });
    expect(hourly.api_usage.reduce((n, b) => n + b.requests, 0)).toBe(5);

    const p = await getJson<Performance>('/api/v1/analytics/performance', viewer, o);
    expect(p.response_times).toEqual({
      p50: nearestRank(latencies, 50),
      p95: nearestRank(latencies, 95),
      p99: nearestRank(latencies, 99),
    });
    expect(p.error_rates).toEqual({ '4xx': 20, '5xx': 20 });
    const perSecond = new Map<number, number>();
    for (const e of mine) perSecond.set(Math.floor(e.ts / 1000), (perSecond.get(Math.floor(e.ts / 1000)) ?? 0) + 1);
    expect(p.throughput).toEqual({ requests_per_second: 5 / 86_400, peak_rps: Math.max(...perSecond.values()) });
    expect(p.resource_usage).toEqual({ cpu_utilization: null, memory_usage: null, disk_usage: null });

    // The other organization sees its own two calls only.
    const theirs = await getJson<Usage>('/api/v1/analytics/usage?days=1', outsider, o);
    expect(theirs.api_usage.map((b) => b.requests)).toEqual([2]);
    const theirPerformance = await getJson<Performance>('/api/v1/analytics/performance', outsider, o);
    expect(theirPerformance.error_rates).toEqual({ '4xx': 0, '5xx': 0 });
    expect(theirPerformance.throughput.requests_per_second).toBe(2 / 86_400);
  });

  it('puts each request in its hour, day, week and month, and only those of the window', async () => {
    const log = capturing();
    const o = log.overrides;
    const owner = await register(undefined, o);
    const now = Date.now();
    const at = {
      recent: now - 5 * 60_000,
      threeDays: now - 3 * DAY,
      tenDays: now - 10 * DAY,
      old: now - 40 * DAY,
    };
    const org = owner.organizationId;
    await deliver([
      event(org, { ts: at.recent, latency_ms: 100, prompt_tokens: 3, completion_tokens: 4 }),
      event(org, { ts: at.threeDays, latency_ms: 200, prompt_tokens: 10, completion_tokens: 20 }),
      event(org, { ts: at.threeDays + 1, latency_ms: 400, prompt_tokens: 1, completion_tokens: 1 }),
      event(org, { ts: at.tenDays, latency_ms: 50, prompt_tokens: 5, completion_tokens: 5 }),
      event(org, { ts: at.old, latency_ms: 10, prompt_tokens: 100, completion_tokens: 100 }),
    ]);

    // Days: the last 7 calendar days, each present, zero where nothing was asked.
    const week = await getJson<Usage>('/api/v1/analytics/usage?days=7&granularity=day', owner, o);
    expect(week.api_usage.map((b) => b.date)).toEqual(
      Array.from({ length: 7 }, (_, i) => isoDay(todayStart(now) - (6 - i) * DAY)),
    );
    const byDate = new Map(week.api_usage.map((b) => [b.date, b]));
    expect(byDate.get(isoDay(at.threeDays))).toEqual({
      date: isoDay(at.threeDays),
      requests: 2,
      tokens: 32,
      cost_usd: 0,
      avg_response_time: 300,
      errors: 0,
      cache_hits: 0,
      cache_misses: 0,
    });
    expect(byDate.get(isoDay(at.recent))).toMatchObject({ requests: 1, tokens: 7, avg_response_time: 100 });
    expect(week.api_usage.reduce((n, b) => n + b.requests, 0)).toBe(3);
    const empty = week.api_usage.find((b) => b.requests === 0);
    expect(empty).toMatchObject({ tokens: 0, avg_response_time: null });

    // Weeks start on Monday, months on the first; 30 days hold all but the 40-day-old request.
    const monday = (ms: number) => isoDay(ms - ((new Date(ms).getUTCDay() + 6) % 7) * DAY);
    const weeks = await getJson<Usage>('/api/v1/analytics/usage?days=30&granularity=week', owner, o);
    const weekly = new Map<string, number>();
    for (const ts of [at.recent, at.threeDays, at.threeDays + 1, at.tenDays]) {
      weekly.set(monday(ts), (weekly.get(monday(ts)) ?? 0) + 1);
    }
    expect(Object.fromEntries(weeks.api_usage.filter((b) => b.requests > 0).map((b) => [b.date, b.requests]))).toEqual(
      Object.fromEntries(weekly),
    );
    for (const b of weeks.api_usage) expect(new Date(`${b.date}T00:00:00Z`).getUTCDay()).toBe(1);
    const months = await getJson<Usage>('/api/v1/analytics/usage?days=30&granularity=month', owner, o);
    const monthly = new Map<string, number>();
    for (const ts of [at.recent, at.threeDays, at.threeDays + 1, at.tenDays]) {
      const m = `${isoDay(ts).slice(0, 7)}-01`;
      monthly.set(m, (monthly.get(m) ?? 0) + 1);
    }
    expect(Object.fromEntries(months.api_usage.filter((b) => b.requests > 0).map((b) => [b.date, b.requests]))).toEqual(
      Object.fromEntries(monthly),
    );
    expect(months.api_usage.reduce((n, b) => n + b.tokens, 0)).toBe(7 + 32 + 10);
    const year = await getJson<Usage>('/api/v1/analytics/usage?days=365&granularity=month', owner, o);
    expect(year.api_usage.reduce((n, b) => n + b.requests, 0)).toBe(5);

    // Hours reach back as far as minute rollups are kept (MINUTE_ROLLUPS_RETENTION_DAYS, 7 by default): the
    // 10-day-old request is in no hour, the 3-day-old ones in theirs.
    const hours = await getJson<Usage>('/api/v1/analytics/usage?days=30&granularity=hour', owner, o);
    const hourOf = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
    expect(Object.fromEntries(hours.api_usage.filter((b) => b.requests > 0).map((b) => [b.date, b.requests]))).toEqual(
      hourOf(at.threeDays) === hourOf(at.threeDays + 1)
        ? { [hourOf(at.threeDays)]: 2, [hourOf(at.recent)]: 1 }
        : { [hourOf(at.threeDays)]: 1, [hourOf(at.threeDays + 1)]: 1, [hourOf(at.recent)]: 1 },
    );
    expect(hours.api_usage.length).toBeLessThanOrEqual(7 * 24 + 1);
    expect(hours.api_usage.length).toBeGreaterThanOrEqual(7 * 24 - 1);
  });

  it('counts cost, errors and cache answers per bucket, and breaks the window down by model and provider', async () => {
    const log = capturing();
    const o = log.overrides;
    const owner = await register(undefined, o);
    const org = owner.organizationId;
    const now = Date.now();
    const call = (model: string, provider: string, fields: Partial<RequestEvent> = {}) =>
      event(org, { ts: now - 60_000, model, provider, prompt_tokens: 2, completion_tokens: 3, ...fields });
    await deliver([
      call('gpt-4o-mini', 'openai', { cost_usd: 0.001, cache_status: 'MISS', latency_ms: 100 }),
      call('gpt-4o-mini', 'openai', { cost_usd: 0, cache_status: 'HIT', latency_ms: 2 }),
      call('gpt-4o-mini', 'openai', { cost_usd: 0.002, cache_status: 'MISS', latency_ms: 300 }),
      call('claude-3-5-haiku', 'anthropic', { cost_usd: 0.004, cache_status: 'BYPASS', latency_ms: 200 }),
      call('claude-3-5-haiku', 'anthropic', {
        status: 502,
        error_code: 'PROVIDER_ERROR',
        prompt_tokens: 0,
        completion_tokens: 0,
        latency_ms: 50,
      }),
      // A request that named no model (a list, a sign-in): in the series, in no breakdown.
      event(org, { ts: now - 60_000, route: '/api/v1/chats', method: 'GET', status: 404, latency_ms: 8 }),
      // Yesterday's call: in the two-day window only.
      call('gpt-4o-mini', 'openai', { ts: now - 86_400_000, cost_usd: 0.01, cache_status: 'HIT' }),
    ]);

    const day = await getJson<Usage>('/api/v1/analytics/usage?days=1&granularity=day', owner, o);
    expect(day.api_usage).toEqual([
      {
        date: isoDay(now),
        requests: 6,
        tokens: 20,
        cost_usd: 0.007,
        avg_response_time: (100 + 2 + 300 + 200 + 50 + 8) / 6,
        errors: 2,
        cache_hits: 1,
        cache_misses: 2,
      },
    ]);
    expect(day.by_model).toEqual([
      {
        model: 'gpt-4o-mini',
        provider: 'openai',
        requests: 3,
        tokens: 15,
        cost_usd: 0.003,
        avg_response_time: 134,
        errors: 0,
        cache_hits: 1,
        cache_misses: 2,
      },
      {
        model: 'claude-3-5-haiku',
        provider: 'anthropic',
        requests: 2,
        tokens: 5,
        cost_usd: 0.004,
        avg_response_time: 125,
        errors: 1,
        cache_hits: 0,
        cache_misses: 0,
      },
    ]);
    expect(day.by_provider.map((p) => [p.provider, p.requests, p.cost_usd, p.errors])).toEqual([
      ['openai', 3, 0.003, 0],
      ['anthropic', 2, 0.004, 1],
    ]);

    // Hours come from the minute rollups: the same figures in the current hour.
    const hourly = await getJson<Usage>('/api/v1/analytics/usage?days=1&granularity=hour', owner, o);
    expect(hourly.api_usage.at(-1)).toMatchObject({ requests: 6, cost_usd: 0.007, errors: 2, cache_hits: 1 });
    expect(hourly.by_model.map((m) => [m.model, m.requests])).toEqual([
      ['gpt-4o-mini', 3],
      ['claude-3-5-haiku', 2],
    ]);

    // Two days take yesterday's hit in.
    const two = await getJson<Usage>('/api/v1/analytics/usage?days=2&granularity=day', owner, o);
    expect(two.api_usage.map((b) => [b.requests, b.cache_hits, b.cost_usd])).toEqual([
      [1, 1, 0.01],
      [6, 1, 0.007],
    ]);
    expect(two.by_model[0]).toMatchObject({ model: 'gpt-4o-mini', requests: 4, cache_hits: 2, cost_usd: 0.013 });
  });

  it('gives exact percentiles, error rates and the busiest second of the window', async () => {
    const log = capturing();
    const o = log.overrides;
    const owner = await register(undefined, o);
    const org = owner.organizationId;
    const now = Date.now();
    const base = now - 30 * 60_000;
    const busySecond = Math.floor((base + 200_000) / 1000) * 1000;
    // Latencies 1..100 ms in a shuffled order; 93 in seconds of their own, 7 in one second; 10 answered
    // 404, 3 answered 503; and one slow request three days ago, outside a one-day window.
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    const events = latencies.map((latency_ms, i) =>
      event(org, {
        ts: i < 93 ? base + i * 1000 : busySecond + i - 93,
        latency_ms,
        status: i < 10 ? 404 : i < 13 ? 503 : 200,
      }),
    );
    events.push(event(org, { ts: now - 3 * DAY, latency_ms: 60_000, status: 500 }));
    await deliver(events);

    const day = await getJson<Performance>('/api/v1/analytics/performance?days=1', owner, o);
    expect(day.response_times).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(day.error_rates).toEqual({ '4xx': 10, '5xx': 3 });
    expect(day.throughput).toEqual({ requests_per_second: 100 / 86_400, peak_rps: 7 });

    // Seven days take the slow one in: 101 requests, 4 of them 5xx.
    const week = await getJson<Performance>('/api/v1/analytics/performance?days=7', owner, o);
    expect(week.response_times).toEqual({ p50: 51, p95: 96, p99: 100 });
    expect(week.error_rates).toEqual({ '4xx': Math.round((10 / 101) * 10_000) / 100, '5xx': 3.96 });
    expect(week.throughput).toEqual({ requests_per_second: 101 / (7 * 86_400), peak_rps: 7 });

    // Nothing asked: no percentiles and no rates, rather than zeros.
    const quiet = await register(undefined, o);
    const none = await getJson<Performance>('/api/v1/analytics/performance', quiet, o);
    expect(none).toMatchObject({
      response_times: { p50: null, p95: null, p99: null },
      error_rates: { '4xx': null, '5xx': null },
      throughput: { requests_per_second: 0, peak_rps: 0 },
    });
  });
});

describe('GET /analytics/usage: runs, projects and integrations', () => {
  const iso = (ms: number) => new Date(ms).toISOString();

  async function project(organizationId: string, name: string): Promise<string> {
    const id = crypto.randomUUID();
    await env.DB.prepare('INSERT INTO projects (id, organization_id, name) VALUES (?, ?, ?)')
      .bind(id, organizationId, name)
      .run();
    return id;
  }

  function run(
    organizationId: string,
    projectId: string,
    status: string,
    executionTimeMs: number | null,
    createdAt = Date.now(),
  ) {
    const id = crypto.randomUUID();
    return {
      id,
      statement: env.DB.prepare(
        'INSERT INTO orchestration_runs (id, organization_id, project_id, topic, status, total_phases, execution_time_ms, created_at) VALUES (?, ?, ?, ?, ?, 3, ?, ?)',
      ).bind(id, organizationId, projectId, 'topic', status, executionTimeMs, iso(createdAt)),
    };
  }

  const operation = (runId: string, type: string, status = 'completed', createdAt = Date.now()) =>
    env.DB.prepare(
      'INSERT INTO integration_operations (id, run_id, operation_type, status, created_at) VALUES (?, ?, ?, ?, ?)',
    ).bind(crypto.randomUUID(), runId, type, status, iso(createdAt));

  it("summarizes the window's runs of the organization only", async () => {
    const o = capturing().overrides;
    const owner = await register(undefined, o);
    const outsider = await register(undefined, o);
    const org = owner.organizationId;
    const [alpha, beta, gamma, theirs] = await Promise.all([
      project(org, 'Alpha'),
      project(org, 'Beta'),
      project(org, 'Gamma'),
      project(outsider.organizationId, 'Theirs'),
    ]);
    const a1 = run(org, alpha, 'completed', 1000);
    const a2 = run(org, alpha, 'completed', 3000);
    const a3 = run(org, alpha, 'failed', 500);
    const b1 = run(org, beta, 'completed', 2000);
    const b2 = run(org, beta, 'cancelled', 700);
    const g1 = run(org, gamma, 'running', null);
    const old = run(org, alpha, 'completed', 99_999, Date.now() - 40 * 86_400_000);
    const t1 = run(outsider.organizationId, theirs, 'failed', 10);
    const t2 = run(outsider.organizationId, theirs, 'failed', 10);
    await env.DB.batch([a1, a2, a3, b1, b2, g1, old, t1, t2].map((r) => r.statement));
    await env.DB.batch([
      operation(a1.id, 'file_system'),
      operation(a1.id, 'file_system'),
      operation(a2.id, 'file_system', 'failed'),
      operation(b1.id, 'git_operations'),
      operation(old.id, 'file_system', 'completed', Date.now() - 40 * 86_400_000),
      operation(t1.id, 'file_system'),
      operation(t1.id, 'deployment'),
    ]);

    const u = await getJson<Usage>('/api/v1/analytics/usage', owner, o);
    expect(u.api_usage).toHaveLength(30);
    expect(u.runs_summary).toEqual({
      total_runs: 6,
      completed_runs: 3,
      failed_runs: 1,
      avg_execution_time: 2000,
      success_rate: 75,
    });
    expect(u.top_projects).toEqual([
      { project_id: alpha, project_name: 'Alpha', run_count: 3, success_rate: 66.67 },
      { project_id: beta, project_name: 'Beta', run_count: 2, success_rate: 100 },
      { project_id: gamma, project_name: 'Gamma', run_count: 1, success_rate: null },
    ]);
    expect(u.integration_usage).toEqual({ file_system: 3, git_operations: 1 });

    // A 50-day window takes the 40-day-old run and its operation in.
    const longer = await getJson<Usage>('/api/v1/analytics/usage?days=50', owner, o);
    expect(longer.runs_summary).toMatchObject({ total_runs: 7, completed_runs: 4 });
    expect(longer.runs_summary.avg_execution_time).toBeCloseTo((1000 + 3000 + 2000 + 99_999) / 4, 3);
    expect(longer.integration_usage).toEqual({ file_system: 4, git_operations: 1 });

    const other = await getJson<Usage>('/api/v1/analytics/usage', outsider, o);
    expect(other.runs_summary).toEqual({
      total_runs: 2,
      completed_runs: 0,
      failed_runs: 2,
      avg_execution_time: null,
      success_rate: 0,
    });
    expect(other.top_projects).toEqual([{ project_id: theirs, project_name: 'Theirs', run_count: 2, success_rate: 0 }]);
    expect(other.integration_usage).toEqual({ file_system: 1, deployment: 1 });
  });

  it('lists the ten projects with the most runs, most first', async () => {
    const o = capturing().overrides;
    const owner = await register(undefined, o);
    const ids: string[] = [];
    for (let k = 1; k <= 11; k++) ids.push(await project(owner.organizationId, `P${String(k).padStart(2, '0')}`));
    await env.DB.batch(
      ids.flatMap((id, i) =>
        Array.from({ length: i + 1 }, () => run(owner.organizationId, id, 'completed', 10).statement),
      ),
    );
    const u = await getJson<Usage>('/api/v1/analytics/usage', owner, o);
    expect(u.top_projects.map((p) => [p.project_name, p.run_count])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`P${String(11 - i).padStart(2, '0')}`, 11 - i]),
    );
    expect(u.runs_summary.total_runs).toBe(66);
  });
});

describe('GET /analytics/*: input and access', () => {
  it('refuses bad query parameters with 400 VALIDATION_ERROR naming the field', async () => {
    const o = capturing().overrides;
    const owner = await register(undefined, o);
    const bad: [string, string][] = [
      ['/api/v1/analytics/usage?days=0', 'days'],
      ['/api/v1/analytics/usage?days=366', 'days'],
      ['/api/v1/analytics/usage?days=abc', 'days'],
      ['/api/v1/analytics/usage?days=1.5', 'days'],
      ['/api/v1/analytics/usage?days=', 'days'],
      ['/api/v1/analytics/usage?granularity=minute', 'granularity'],
      ['/api/v1/analytics/usage?granularity=', 'granularity'],
      ['/api/v1/analytics/performance?days=0', 'days'],
      ['/api/v1/analytics/performance?days=x', 'days'],
      // Request events are kept REQUEST_EVENTS_RETENTION_DAYS (30): a longer window would divide too few.
      ['/api/v1/analytics/performance?days=31', 'days'],
    ];
    for (const [path, field] of bad) {
      const body = await expectEnvelope(await call(path, { headers: owner.auth }, o), 400, 'VALIDATION_ERROR');
      expect(
        body.error.details?.map((d) => d.field),
        path,
      ).toEqual([field]);
    }
    // Within a configured longer retention, the longer window is fine.
    const res = await call(
      '/api/v1/analytics/performance?days=31',
      { headers: owner.auth },
      { ...o, REQUEST_EVENTS_RETENTION_DAYS: '60' },
    );
    expect(res.status).toBe(200);
  });

  it('needs a signed-in caller; every role of the organization may read', async () => {
    const o = capturing().overrides;
    for (const path of ['/api/v1/analytics/usage', '/api/v1/analytics/performance']) {
      await expectEnvelope(await call(path, {}, o), 401, 'AUTHENTICATION_REQUIRED');
    }
    const owner = await register(undefined, o);
    for (const role of ['manager', 'member', 'viewer'] as const) {
      const who = await memberOf(owner, role, o);
      for (const path of ['/api/v1/analytics/usage', '/api/v1/analytics/performance']) {
        expect((await call(path, { headers: who.auth }, o)).status, `${role} ${path}`).toBe(200);
      }
    }
  });
});

describe('scheduled cleanup of the request log', () => {
  const minuteKey = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;

  const insertEvent = (id: string, ts: number) =>
    env.DB.prepare(
      "INSERT INTO request_events (id, batch_id, request_id, ts, method, route, status, latency_ms, overhead_ms) VALUES (?, 'b', 'r', ?, 'GET', '/x', 200, 1, 1)",
    ).bind(id, ts);
  const insertRollup = (period: 'minute' | 'day', start: string, org: string) =>
    env.DB.prepare(
      "INSERT INTO rollups (period, period_start, method, route, status, organization_id, count) VALUES (?, ?, 'GET', '/x', 200, ?, 1)",
    ).bind(period, start, org);

  async function eventIds(prefix: string): Promise<string[]> {
    const { results } = await env.DB.prepare('SELECT id FROM request_events WHERE id LIKE ? ORDER BY id')
      .bind(`${prefix}%`)
      .all<{ id: string }>();
    return results.map((r) => r.id);
  }
  async function rollupStarts(org: string): Promise<string[]> {
    const { results } = await env.DB.prepare(
      "SELECT period || ' ' || period_start AS k FROM rollups WHERE organization_id = ? ORDER BY k",
    )
      .bind(org)
      .all<{ k: string }>();
    return results.map((r) => r.k);
  }

  async function trigger(overrides: EnvOverrides = {}, scheduledTime = Date.now()) {
    // Called as the runtime calls it (controller, env, ctx), whatever parameters the handler names.
    const { scheduled } = worker as ExportedHandler<Env>;
    if (!scheduled) throw new Error('the worker exports no scheduled handler');
    const ctx = createExecutionContext();
    await scheduled(createScheduledController({ scheduledTime, cron: '17 * * * *' }), { ...env, ...overrides }, ctx);
    await waitOnExecutionContext(ctx);
  }

  it('prunes request events and minute rollups past their retention, keeps the rest and the day rollups', async () => {
    const now = Date.now();
    const p = `evt_clean_${crypto.randomUUID().slice(0, 8)}_`;
    const org = crypto.randomUUID();
    await env.DB.batch([
      insertEvent(`${p}a_old`, now - 31 * DAY),
      insertEvent(`${p}b_old`, now - 30 * DAY - 60_000),
      insertEvent(`${p}c_new`, now - 30 * DAY + 60_000),
      insertEvent(`${p}d_now`, now),
      insertRollup('minute', minuteKey(now - 8 * DAY), org),
      insertRollup('minute', minuteKey(now - 7 * DAY - 120_000), org),
      insertRollup('minute', minuteKey(now - 7 * DAY + 120_000), org),
      insertRollup('day', isoDay(now - 400 * DAY), org),
    ]);
    await trigger({}, now);
    expect(await eventIds(p)).toEqual([`${p}c_new`, `${p}d_now`]);
    expect(await rollupStarts(org)).toEqual([
      `day ${isoDay(now - 400 * DAY)}`,
      `minute ${minuteKey(now - 7 * DAY + 120_000)}`,
    ]);
  });

  it('takes its retentions from the configuration', async () => {
    const now = Date.now();
    const p = `evt_conf_${crypto.randomUUID().slice(0, 8)}_`;
    const org = crypto.randomUUID();
    await env.DB.batch([
      insertEvent(`${p}a_old`, now - 2 * DAY),
      insertEvent(`${p}b_new`, now - DAY / 2),
      insertRollup('minute', minuteKey(now - 2 * DAY), org),
      insertRollup('minute', minuteKey(now - DAY / 2), org),
    ]);
    await trigger({}, now);
    expect(await eventIds(p)).toHaveLength(2);
    await trigger({ REQUEST_EVENTS_RETENTION_DAYS: '1', MINUTE_ROLLUPS_RETENTION_DAYS: '1' }, now);
    expect(await eventIds(p)).toEqual([`${p}b_new`]);
    expect(await rollupStarts(org)).toEqual([`minute ${minuteKey(now - DAY / 2)}`]);
  });

  it('deletes in bounded batches until none is left, and stops when its time is up', async () => {
    const now = Date.now();
    const p = `evt_batch_${crypto.randomUUID().slice(0, 8)}_`;
    await env.DB.batch(Array.from({ length: 5 }, (_, i) => insertEvent(`${p}${i}`, now - 40 * DAY - i)));
    const retentions = { eventsRetentionDays: 30, minuteRollupsRetentionDays: 7, now };
    // Old rows other tests of this file left (their synthetic events' rollups) go too: counted first.
    const before = await env.DB.prepare(
      "SELECT (SELECT COUNT(*) FROM request_events WHERE ts < ?1) AS events, (SELECT COUNT(*) FROM rollups WHERE period = 'minute' AND period_start < ?2) AS minutes",
    )
      .bind(now - 30 * DAY, minuteKey(now - 7 * DAY))
      .first<{ events: number; minutes: number }>();
    expect(await pruneRequestLog(env.DB, { ...retentions, budgetMs: 0 })).toEqual({
      request_events: 0,
      minute_rollups: 0,
      complete: false,
    });
    expect(await eventIds(p)).toHaveLength(5);
    expect(before?.events).toBeGreaterThanOrEqual(5);
    expect(await pruneRequestLog(env.DB, { ...retentions, batchRows: 2 })).toEqual({
      request_events: before?.events,
      minute_rollups: before?.minutes,
      complete: true,
    });
    expect(await eventIds(p)).toEqual([]);
  });
});
