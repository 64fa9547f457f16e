import { DAY_MS, percent } from './buckets';

// GET /analytics/performance (seed 003 §2.6) for one organization, from its request_events rows.
// The latency histograms are global (per route and day, no organization), so percentiles cannot come from
// them; the events carry the organization and each request's latency, so the figures are exact.
// Why: docs/design/analytics.md#get-apiv1analyticsperformance

export interface Performance {
  response_times: { p50: number | null; p95: number | null; p99: number | null };
  error_rates: { '4xx': number | null; '5xx': number | null };
  throughput: { requests_per_second: number; peak_rps: number };
  // Workers expose no CPU, memory or disk figures to the code they run: always null, never invented.
  resource_usage: { cpu_utilization: null; memory_usage: null; disk_usage: null };
  window: { from: string; to: string; days: number; requests: number };
}

const EVENTS = 'FROM request_events WHERE organization_id = ?1 AND ts >= ?2 AND ts <= ?3';

const COUNTS = `SELECT COUNT(*) AS n, COALESCE(SUM(status BETWEEN 400 AND 499), 0) AS c4xx,
  COALESCE(SUM(status BETWEEN 500 AND 599), 0) AS c5xx ${EVENTS}`;

// Nearest-rank percentiles: the value at rank ceil(p/100 · n) of the sorted latencies (integer arithmetic:
// ceil(p·n/100) = (p·n + 99) / 100).
const rank = (p: number) => `(${p} * n + 99) / 100`;
const PERCENTILES = `WITH e AS (
  SELECT latency_ms, ROW_NUMBER() OVER (ORDER BY latency_ms) AS rn, COUNT(*) OVER () AS n ${EVENTS}
)
SELECT MAX(CASE WHEN rn = ${rank(50)} THEN latency_ms END) AS p50,
  MAX(CASE WHEN rn = ${rank(95)} THEN latency_ms END) AS p95,
  MAX(CASE WHEN rn = ${rank(99)} THEN latency_ms END) AS p99 FROM e`;

// The busiest one-second bucket (epoch seconds of arrival) of the window.
const PEAK = `SELECT COALESCE(MAX(c), 0) AS peak FROM (SELECT COUNT(*) AS c ${EVENTS} GROUP BY ts / 1000)`;

interface CountsRow {
  n: number;
  c4xx: number;
  c5xx: number;
}
interface PercentilesRow {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export async function performanceFigures(
  d1: D1Database,
  o: { organizationId: string; days: number; now: number },
): Promise<Performance> {
  const from = o.now - o.days * DAY_MS;
  const args = [o.organizationId, from, o.now] as const;
  const [counts, percentiles, peak] = await d1.batch([
    d1.prepare(COUNTS).bind(...args),
    d1.prepare(PERCENTILES).bind(...args),
    d1.prepare(PEAK).bind(...args),
  ]);
  const c = (counts?.results[0] as CountsRow | undefined) ?? { n: 0, c4xx: 0, c5xx: 0 };
  const p = (percentiles?.results[0] as PercentilesRow | undefined) ?? { p50: null, p95: null, p99: null };
  const windowSeconds = (o.days * DAY_MS) / 1000;
  return {
    response_times: { p50: p.p50, p95: p.p95, p99: p.p99 },
    error_rates: { '4xx': percent(c.c4xx, c.n), '5xx': percent(c.c5xx, c.n) },
    throughput: {
      requests_per_second: c.n / windowSeconds,
      peak_rps: (peak?.results[0] as { peak: number } | undefined)?.peak ?? 0,
    },
    resource_usage: { cpu_utilization: null, memory_usage: null, disk_usage: null },
    window: { from: new Date(from).toISOString(), to: new Date(o.now).toISOString(), days: o.days, requests: c.n },
  };
}
