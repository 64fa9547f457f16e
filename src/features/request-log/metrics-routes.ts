import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { protect, PUBLIC } from '../accounts';
import { constantTimeEqual } from '../../lib/crypto';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { createRouter, errorResponses } from '../../lib/router';
import { BUCKETS_MS } from './consumer';

export const metricsRoutes = createRouter();

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// Errors that mean a provider failed, whatever the route that surfaced them.
const UPSTREAM_ERROR_CODES = ['PROVIDER_ERROR', 'PROVIDER_TIMEOUT'];

const HISTOGRAMS = [
  {
    metric: 'request_duration',
    name: 'edgeway_request_duration_seconds',
    help: 'HTTP request duration, streamed answers until their stream ended.',
  },
  {
    metric: 'gateway_overhead',
    name: 'edgeway_gateway_overhead_seconds',
    help: 'Request duration minus time spent waiting on AI providers.',
  },
  {
    metric: 'ttft',
    name: 'edgeway_time_to_first_token_seconds',
    help: 'Time to the first token of streamed AI answers.',
  },
] as const;

// The exposition format's escapes for label values: backslash, double quote and line feed.
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const body = Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',');
  return body ? `{${body}}` : '';
}

function value(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (!Number.isFinite(n)) return 'NaN';
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1e9) / 1e9);
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'histogram' | 'gauge', help: string): this {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, pairs: Record<string, string>, n: number): this {
    this.lines.push(`${name}${labels(pairs)} ${value(n)}`);
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

interface RequestsRow {
  method: string;
  route: string;
  status: number;
  count: number;
}
interface ModelRow {
  model: string;
  provider: string;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}
interface CacheRow {
  cache_status: string;
  count: number;
}
interface CountRow {
  count: number | null;
}
interface UpstreamRow {
  provider: string;
  error_code: string;
  count: number;
}
interface HistogramRow {
  metric: string;
  method: string;
  route: string;
  le: string;
  count: number;
  sum_ms: number;
}

const DAY = "period = 'day'";

// Every series is rendered from the day rollups, summed over all days, in one D1 round trip.
export async function renderMetrics(d1: D1Database): Promise<string> {
  const upstreamCodes = UPSTREAM_ERROR_CODES.map(() => '?').join(', ');
  const [requests, models, cache, rateLimited, quota, upstream, histograms, gauges] = await d1.batch([
    d1.prepare(
      `SELECT method, route, status, SUM(count) AS count FROM rollups WHERE ${DAY} GROUP BY method, route, status ORDER BY route, method, status`,
    ),
    d1.prepare(
      `SELECT model, provider, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(cost_usd) AS cost_usd FROM rollups WHERE ${DAY} AND model != '' GROUP BY model, provider ORDER BY model, provider`,
    ),
    d1.prepare(
      `SELECT cache_status, SUM(count) AS count FROM rollups WHERE ${DAY} AND cache_status != '' GROUP BY cache_status`,
    ),
    d1.prepare(
      `SELECT SUM(count) AS count FROM rollups WHERE ${DAY} AND status = 429 AND error_code = 'RATE_LIMIT_EXCEEDED'`,
    ),
    d1.prepare(`SELECT SUM(count) AS count FROM rollups WHERE ${DAY} AND error_code = 'QUOTA_EXCEEDED'`),
    d1
      .prepare(
        `SELECT provider, error_code, SUM(count) AS count FROM rollups WHERE ${DAY} AND provider != '' AND error_code IN (${upstreamCodes}) GROUP BY provider, error_code ORDER BY provider, error_code`,
      )
      .bind(...UPSTREAM_ERROR_CODES),
    d1.prepare(
      'SELECT metric, method, route, le, SUM(count) AS count, SUM(sum_ms) AS sum_ms FROM histograms GROUP BY metric, method, route, le ORDER BY metric, route, method',
    ),
    d1.prepare('SELECT name, value FROM live_gauges'),
  ]);
  const rows = <T>(r: D1Result | undefined) => (r?.results ?? []) as T[];
  const out = new Exposition();

  out.family('edgeway_requests_total', 'counter', 'HTTP requests by method, route pattern and status.');
  for (const r of rows<RequestsRow>(requests)) {
    out.sample('edgeway_requests_total', { method: r.method, endpoint: r.route, status: String(r.status) }, r.count);
  }

  for (const h of HISTOGRAMS) {
    out.family(h.name, 'histogram', h.help);
    const series = new Map<string, { method: string; route: string; buckets: Map<string, number>; sum: number }>();
    for (const r of rows<HistogramRow>(histograms)) {
      if (r.metric !== h.metric) continue;
      const key = `${r.method} ${r.route}`;
      let s = series.get(key);
      if (!s) series.set(key, (s = { method: r.method, route: r.route, buckets: new Map(), sum: 0 }));
      s.buckets.set(r.le, (s.buckets.get(r.le) ?? 0) + r.count);
      s.sum += r.sum_ms;
    }
    for (const s of series.values()) {
      const base = { method: s.method, endpoint: s.route };
      let cumulative = 0;
      for (const le of BUCKETS_MS) {
        cumulative += s.buckets.get(String(le)) ?? 0;
        out.sample(`${h.name}_bucket`, { ...base, le: value(le / 1000) }, cumulative);
      }
      cumulative += s.buckets.get('+Inf') ?? 0;
      out.sample(`${h.name}_bucket`, { ...base, le: '+Inf' }, cumulative);
      out.sample(`${h.name}_sum`, base, s.sum / 1000);
      out.sample(`${h.name}_count`, base, cumulative);
    }
  }

  const modelRows = rows<ModelRow>(models);
  out.family('edgeway_tokens_total', 'counter', 'AI tokens by model, provider and type (prompt or completion).');
  for (const r of modelRows) {
    const base = { model: r.model, provider: r.provider };
    out.sample('edgeway_tokens_total', { ...base, type: 'prompt' }, r.prompt_tokens);
    out.sample('edgeway_tokens_total', { ...base, type: 'completion' }, r.completion_tokens);
  }
  out.family('edgeway_cost_usd_total', 'counter', 'Estimated AI cost in US dollars by model and provider.');
  for (const r of modelRows) out.sample('edgeway_cost_usd_total', { model: r.model, provider: r.provider }, r.cost_usd);

  out.family('edgeway_cache_requests_total', 'counter', 'AI calls by response cache result.');
  const cacheCounts = new Map(rows<CacheRow>(cache).map((r) => [r.cache_status.toLowerCase(), r.count]));
  for (const result of ['hit', 'miss', 'bypass']) {
    out.sample('edgeway_cache_requests_total', { result }, cacheCounts.get(result) ?? 0);
  }

  out.family(
    'edgeway_rate_limited_total',
    'counter',
    'Requests refused by the rate limiter (429 RATE_LIMIT_EXCEEDED).',
  );
  out.sample('edgeway_rate_limited_total', {}, rows<CountRow>(rateLimited)[0]?.count ?? 0);
  out.family('edgeway_quota_exceeded_total', 'counter', 'Requests refused because the monthly quota is used up.');
  out.sample('edgeway_quota_exceeded_total', {}, rows<CountRow>(quota)[0]?.count ?? 0);

  out.family('edgeway_upstream_errors_total', 'counter', 'AI provider failures by provider and error code.');
  for (const r of rows<UpstreamRow>(upstream)) {
    out.sample('edgeway_upstream_errors_total', { provider: r.provider, code: r.error_code }, r.count);
  }

  const live = new Map(rows<{ name: string; value: number }>(gauges).map((r) => [r.name, r.value]));
  out.family('edgeway_realtime_connections', 'gauge', 'Open realtime connections by protocol (ws: /ws/chat).');
  out.sample('edgeway_realtime_connections', { protocol: 'ws' }, live.get('connections_ws') ?? 0);
  out.sample('edgeway_realtime_connections', { protocol: 'socket.io' }, live.get('connections_socket_io') ?? 0);
  out.family('edgeway_realtime_rooms', 'gauge', 'Chat rooms with at least one member connected.');
  out.sample('edgeway_realtime_rooms', {}, live.get('rooms') ?? 0);
  return out.toString();
}

// With METRICS_TOKEN set, only `Authorization: Bearer <token>` gets in (compared in constant time).
async function authorize(c: Context<AppEnv>): Promise<void> {
  const expected = c.var.config.METRICS_TOKEN;
  if (expected === undefined) return;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  const enc = new TextEncoder();
  // Hashed first so the comparison does not leak the token's length either.
  const digest = async (t: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(t)));
  const [given, wanted] = await Promise.all([digest(match?.[1] ?? ''), digest(expected)]);
  if (!match || !constantTimeEqual(given, wanted)) {
    throw new ApiError('AUTHENTICATION_REQUIRED', 'A valid metrics token is required', {
      headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
    });
  }
}

// The metrics token is the route's own check (authorize), not a caller credential, so the route
// declares its security itself: none, or the token where the deployment sets METRICS_TOKEN.
metricsRoutes.openAPIRegistry.registerComponent('securitySchemes', 'metricsToken', {
  type: 'http',
  scheme: 'bearer',
  description: "The deployment's METRICS_TOKEN, required only where it is set",
});

const METRICS_OPERATIONS = [
  ['/metrics', 'getMetrics'],
  ['/internal/metrics', 'getInternalMetrics'],
] as const;

for (const [path, operationId] of METRICS_OPERATIONS) {
  metricsRoutes.openapi(
    createRoute({
      method: 'get',
      path,
      operationId,
      middleware: [protect(PUBLIC)],
      security: [{ metricsToken: [] }, {}],
      tags: ['health'],
      summary: 'Prometheus metrics (text exposition format), from the request-log rollups',
      description:
        'Public unless METRICS_TOKEN is set; then `Authorization: Bearer <METRICS_TOKEN>` is required. Counts cover events the request-log consumer has written.',
      responses: {
        200: {
          description: 'Metrics in the Prometheus text format 0.0.4',
          content: { 'text/plain': { schema: z.string() } },
        },
        ...errorResponses(401),
      },
    }),
    async (c) => {
      await authorize(c);
      const body = await renderMetrics(c.env.DB);
      return c.text(body, 200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    },
  );
}
