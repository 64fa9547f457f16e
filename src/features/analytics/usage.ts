import {
  bucketLabel,
  bucketStart,
  bucketStarts,
  dayKey,
  DAY_MS,
  type Granularity,
  HOUR_MS,
  minuteKey,
  percent,
  round,
  usageWindowStart,
} from './buckets';

// GET /analytics/usage (seed 003 §2.6) for one organization. Every figure is read in one D1 batch.
// Why and what each figure means: docs/design/analytics.md#get-apiv1analyticsusage

// What a bucket and a breakdown row count: requests, their tokens and cost, latency, errors (answered
// 4xx or 5xx) and the cache's answers (hits and misses; requests that bypassed the cache are neither).
export interface UsageFigures {
  requests: number;
  tokens: number;
  cost_usd: number;
  avg_response_time: number | null;
  errors: number;
  cache_hits: number;
  cache_misses: number;
}

export interface UsageBucket extends UsageFigures {
  date: string;
}

export interface ModelUsage extends UsageFigures {
  model: string;
  provider: string;
}

export interface ProviderUsage extends UsageFigures {
  provider: string;
}

export interface Usage {
  api_usage: UsageBucket[];
  runs_summary: {
    total_runs: number;
    completed_runs: number;
    failed_runs: number;
    avg_execution_time: number | null;
    success_rate: number | null;
  };
  top_projects: { project_id: string; project_name: string; run_count: number; success_rate: number | null }[];
  integration_usage: Record<string, number>;
  by_model: ModelUsage[];
  by_provider: ProviderUsage[];
  window: { from: string; to: string; days: number; granularity: Granularity };
}

export const TOP_PROJECTS = 10;

// The one integration Edgeway performs (a run's phase output written to R2): always reported, 0 if none.
export const MEASURED_INTEGRATIONS = ['file_system'] as const;

// Rollups are per organization (organization_id is part of their key), so the series is summed from them:
// a few rows per route and status per minute or day instead of one per request. Hours come from the
// minute rollups, the rest from the day rollups. `p` is the hour (2024-01-15T10) or the day (2024-01-15).
const FIGURES = `SUM(count) AS requests, SUM(prompt_tokens + completion_tokens) AS tokens,
  SUM(cost_usd) AS cost_usd, SUM(latency_ms_sum) AS latency_ms,
  SUM(CASE WHEN status >= 400 THEN count ELSE 0 END) AS errors,
  SUM(CASE WHEN cache_status = 'HIT' THEN count ELSE 0 END) AS cache_hits,
  SUM(CASE WHEN cache_status = 'MISS' THEN count ELSE 0 END) AS cache_misses`;
const HOURLY = `FROM rollups WHERE period = 'minute' AND period_start >= ?1 AND organization_id = ?2`;
const DAILY = `FROM rollups WHERE period = 'day' AND period_start >= ?1 AND organization_id = ?2`;
const SERIES_HOURLY = `SELECT substr(period_start, 1, 13) AS p, ${FIGURES} ${HOURLY} GROUP BY p`;
const SERIES_DAILY = `SELECT period_start AS p, ${FIGURES} ${DAILY} GROUP BY p`;
// The AI calls of the window by model (with its provider) and by provider, from the same rollups as the
// series; requests that named no model (every non-AI route) are left out.
const byModel = (from: string) =>
  `SELECT model, provider, ${FIGURES} ${from} AND model != '' GROUP BY model, provider ORDER BY requests DESC, model`;
const byProvider = (from: string) =>
  `SELECT provider, ${FIGURES} ${from} AND provider != '' GROUP BY provider ORDER BY requests DESC, provider`;

const RUNS = `SELECT COUNT(*) AS total, COALESCE(SUM(status = 'completed'), 0) AS completed,
  COALESCE(SUM(status = 'failed'), 0) AS failed,
  AVG(CASE WHEN status = 'completed' THEN execution_time_ms END) AS avg_ms
FROM orchestration_runs WHERE organization_id = ?1 AND created_at >= ?2`;

const TOP = `SELECT r.project_id AS project_id, p.name AS project_name, COUNT(*) AS runs,
  SUM(r.status = 'completed') AS completed, SUM(r.status = 'failed') AS failed
FROM orchestration_runs r JOIN projects p ON p.id = r.project_id
WHERE r.organization_id = ?1 AND r.created_at >= ?2
GROUP BY r.project_id, p.name ORDER BY runs DESC, p.name, r.project_id LIMIT ${TOP_PROJECTS}`;

const INTEGRATIONS = `SELECT o.operation_type AS type, COUNT(*) AS n
FROM integration_operations o JOIN orchestration_runs r ON r.id = o.run_id
WHERE r.organization_id = ?1 AND o.created_at >= ?2 GROUP BY o.operation_type ORDER BY o.operation_type`;

interface FiguresRow {
  requests: number;
  tokens: number;
  cost_usd: number;
  latency_ms: number;
  errors: number;
  cache_hits: number;
  cache_misses: number;
}
interface SeriesRow extends FiguresRow {
  p: string;
}
interface RunsRow {
  total: number;
  completed: number;
  failed: number;
  avg_ms: number | null;
}
interface TopRow {
  project_id: string;
  project_name: string;
  runs: number;
  completed: number;
  failed: number;
}
interface IntegrationRow {
  type: string;
  n: number;
}

const FIGURE_KEYS = ['requests', 'tokens', 'cost_usd', 'latency_ms', 'errors', 'cache_hits', 'cache_misses'] as const;
const emptyFigures = (): FiguresRow => ({
  requests: 0,
  tokens: 0,
  cost_usd: 0,
  latency_ms: 0,
  errors: 0,
  cache_hits: 0,
  cache_misses: 0,
});

// Sums as the API reports them: cost rounded to micro-dollars (float sums drift), latency as a mean.
function figures(r: FiguresRow): UsageFigures {
  return {
    requests: r.requests,
    tokens: r.tokens,
    cost_usd: round(r.cost_usd, 6),
    avg_response_time: r.requests > 0 ? round(r.latency_ms / r.requests, 3) : null,
    errors: r.errors,
    cache_hits: r.cache_hits,
    cache_misses: r.cache_misses,
  };
}

// A run succeeded if it completed; runs still going and cancelled runs are neither success nor failure.
const successRate = (completed: number, failed: number) => percent(completed, completed + failed);

export interface UsageOptions {
  organizationId: string;
  days: number;
  granularity: Granularity;
  // How long minute rollups are kept (MINUTE_ROLLUPS_RETENTION_DAYS): hours before that are not reported.
  minuteRetentionDays: number;
  now: number;
}

// The first hour whose minute rollups are all still kept: hours before it are left out, not shown as 0.
function firstHour(windowStart: number, now: number, retentionDays: number): number {
  const horizon = Math.ceil((now - retentionDays * DAY_MS) / HOUR_MS) * HOUR_MS;
  return Math.max(windowStart, horizon);
}

export async function usageFigures(d1: D1Database, o: UsageOptions): Promise<Usage> {
  const windowStart = usageWindowStart(o.now, o.days);
  const hourly = o.granularity === 'hour';
  const seriesFrom = hourly ? firstHour(windowStart, o.now, o.minuteRetentionDays) : windowStart;
  const since = new Date(windowStart).toISOString();
  const seriesKey = hourly ? minuteKey(seriesFrom) : dayKey(seriesFrom);
  const from = hourly ? HOURLY : DAILY;
  const [series, runs, top, integrations, models, providers] = await d1.batch([
    d1.prepare(hourly ? SERIES_HOURLY : SERIES_DAILY).bind(seriesKey, o.organizationId),
    d1.prepare(RUNS).bind(o.organizationId, since),
    d1.prepare(TOP).bind(o.organizationId, since),
    d1.prepare(INTEGRATIONS).bind(o.organizationId, since),
    d1.prepare(byModel(from)).bind(seriesKey, o.organizationId),
    d1.prepare(byProvider(from)).bind(seriesKey, o.organizationId),
  ]);
  const rows = <T>(r: D1Result | undefined) => (r?.results ?? []) as T[];

  // Every bucket of the window, zero where nothing was asked; hours and days summed into their bucket.
  const buckets = new Map(
    bucketStarts(seriesFrom, o.now, o.granularity).map((b): [number, FiguresRow] => [b, emptyFigures()]),
  );
  for (const r of rows<SeriesRow>(series)) {
    const at = Date.parse(hourly ? `${r.p}:00:00.000Z` : `${r.p}T00:00:00.000Z`);
    const bucket = buckets.get(bucketStart(at, o.granularity));
    if (!bucket) continue; // a clock ahead of ours wrote a future period
    for (const k of FIGURE_KEYS) bucket[k] += r[k];
  }
  const run = rows<RunsRow>(runs)[0] ?? { total: 0, completed: 0, failed: 0, avg_ms: null };
  const integrationUsage: Record<string, number> = Object.fromEntries(MEASURED_INTEGRATIONS.map((t) => [t, 0]));
  for (const r of rows<IntegrationRow>(integrations)) integrationUsage[r.type] = r.n;

  return {
    api_usage: [...buckets].map(([start, b]) => ({ date: bucketLabel(start, o.granularity), ...figures(b) })),
    runs_summary: {
      total_runs: run.total,
      completed_runs: run.completed,
      failed_runs: run.failed,
      avg_execution_time: run.avg_ms === null ? null : round(run.avg_ms, 3),
      success_rate: successRate(run.completed, run.failed),
    },
    top_projects: rows<TopRow>(top).map((r) => ({
      project_id: r.project_id,
      project_name: r.project_name,
      run_count: r.runs,
      success_rate: successRate(r.completed, r.failed),
    })),
    integration_usage: integrationUsage,
    by_model: rows<FiguresRow & { model: string; provider: string }>(models).map((r) => ({
      model: r.model,
      provider: r.provider,
      ...figures(r),
    })),
    by_provider: rows<FiguresRow & { provider: string }>(providers).map((r) => ({
      provider: r.provider,
      ...figures(r),
    })),
    window: {
      from: new Date(windowStart).toISOString(),
      to: new Date(o.now).toISOString(),
      days: o.days,
      granularity: o.granularity,
    },
  };
}
