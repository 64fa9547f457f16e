// The analytics API's answers (GET /api/v1/analytics/usage and /performance) and the figures the dashboard
// derives from them: totals, rates and the series its charts draw. Pure functions, no DOM.

export type Granularity = 'hour' | 'day' | 'week' | 'month';

export interface Figures {
  requests: number;
  tokens: number;
  cost_usd: number;
  avg_response_time: number | null;
  errors: number;
  cache_hits: number;
  cache_misses: number;
}

export interface Usage {
  api_usage: (Figures & { date: string })[];
  by_model: (Figures & { model: string; provider: string })[];
  by_provider: (Figures & { provider: string })[];
  window: { from: string; to: string; days: number; granularity: Granularity };
}

export interface Performance {
  response_times: { p50: number | null; p95: number | null; p99: number | null };
  error_rates: { '4xx': number | null; '5xx': number | null };
  throughput: { requests_per_second: number; peak_rps: number };
  window: { from: string; to: string; days: number; requests: number };
}

export interface Period {
  id: string;
  label: string;
  days: number;
  granularity: Granularity;
  // Request events (the percentiles' source) are kept 30 days by default: longer periods read the last 30.
  performanceDays: number;
}

export const PERIODS: Period[] = [
  { id: '24h', label: 'Today, by hour', days: 1, granularity: 'hour', performanceDays: 1 },
  { id: '7d', label: 'Last 7 days, by day', days: 7, granularity: 'day', performanceDays: 7 },
  { id: '30d', label: 'Last 30 days, by day', days: 30, granularity: 'day', performanceDays: 30 },
  { id: '90d', label: 'Last 90 days, by week', days: 90, granularity: 'week', performanceDays: 30 },
  { id: '365d', label: 'Last 12 months, by month', days: 365, granularity: 'month', performanceDays: 30 },
];

// Share in [0, 1]; null when there is nothing to divide.
export const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

export function totals(rows: Figures[]): Figures {
  const t: Figures = {
    requests: 0,
    tokens: 0,
    cost_usd: 0,
    avg_response_time: null,
    errors: 0,
    cache_hits: 0,
    cache_misses: 0,
  };
  let latency = 0;
  for (const r of rows) {
    t.requests += r.requests;
    t.tokens += r.tokens;
    t.cost_usd += r.cost_usd;
    t.errors += r.errors;
    t.cache_hits += r.cache_hits;
    t.cache_misses += r.cache_misses;
    latency += (r.avg_response_time ?? 0) * r.requests;
  }
  t.avg_response_time = t.requests > 0 ? latency / t.requests : null;
  return t;
}

export const errorRate = (f: Figures) => ratio(f.errors, f.requests);
export const cacheHitRate = (f: Figures) => ratio(f.cache_hits, f.cache_hits + f.cache_misses);

// A bucket's start in epoch seconds (uPlot's time axis): days are dates, hours full ISO timestamps.
export const bucketSeconds = (date: string): number =>
  Date.parse(date.length === 10 ? `${date}T00:00:00Z` : date) / 1000;

// How a bucket is named in words: an hour with its time, a day, week or month by its first day.
export function bucketName(date: string, granularity: Granularity): string {
  const at = new Date(bucketSeconds(date) * 1000);
  if (granularity === 'hour') {
    return at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
  }
  const day = at.toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
  return granularity === 'week'
    ? `Week of ${day}`
    : granularity === 'month'
      ? at.toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' })
      : day;
}

// The bucket with the largest value, for a chart's summary sentence.
export function peak(values: (number | null)[], names: string[]): { value: number; name: string } | null {
  let best: { value: number; name: string } | null = null;
  values.forEach((v, i) => {
    if (v != null && (best === null || v > best.value)) best = { value: v, name: names[i] ?? '' };
  });
  return best;
}
