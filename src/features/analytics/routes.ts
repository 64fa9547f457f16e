import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '../../lib/errors';
import { createRouter, errorResponses } from '../../lib/router';
import { atLeast, protect, signedIn } from '../accounts';
import { GRANULARITIES } from './buckets';
import { performanceFigures } from './performance';
import { TOP_PROJECTS, usageFigures } from './usage';

// Seed 003 §2.6: the caller's organization's usage and performance, from the request log and the runs.
// Any member may read them ("viewer: read the organization's resources"). Why: docs/design/analytics.md
export const analyticsRoutes = createRouter();

const MAX_DAYS = 365;

const days = (fallback: number, description: string) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_DAYS)
    .default(fallback)
    .openapi({ param: { name: 'days', in: 'query' }, description, example: fallback });

const UsageQuery = z.object({
  days: days(30, 'Calendar days (UTC) to cover, ending today: 1 to 365 (default 30)'),
  granularity: z
    .enum(GRANULARITIES)
    .default('day')
    .openapi({
      param: { name: 'granularity', in: 'query' },
      description:
        'Bucket of api_usage (default day). Hours come from the minute rollups, so they reach back MINUTE_ROLLUPS_RETENTION_DAYS at most.',
    }),
});

const PerformanceQuery = z.object({
  days: days(
    1,
    'Days (24 h each) to cover, ending now: 1 (the default) up to REQUEST_EVENTS_RETENTION_DAYS, the time request events are kept',
  ),
});

const Percent = z
  .number()
  .nullable()
  .openapi({ description: 'Percent with two decimals; null when nothing to divide' });

// What a bucket of the series and a row of the breakdowns count.
const Figures = z.object({
  requests: z.number().int().openapi({ description: "The organization's requests" }),
  tokens: z.number().int().openapi({ description: 'Prompt plus completion tokens of its AI calls' }),
  cost_usd: z.number().openapi({ description: 'Cost of its AI calls in USD (cache hits cost nothing)' }),
  avg_response_time: z
    .number()
    .nullable()
    .openapi({ description: 'Mean request latency in ms (streams until they ended); null without requests' }),
  errors: z.number().int().openapi({ description: 'Requests answered 4xx or 5xx' }),
  cache_hits: z.number().int().openapi({ description: 'AI calls answered from the cache' }),
  cache_misses: z
    .number()
    .int()
    .openapi({ description: 'AI calls the cache was asked for and did not hold (bypasses are neither)' }),
});

const UsageSchema = z
  .object({
    api_usage: z
      .array(
        z.object({
          date: z.string().openapi({
            description: 'Bucket start: 2024-01-15 (day; Monday of a week; first of a month) or an ISO hour',
          }),
          ...Figures.shape,
        }),
      )
      .openapi({ description: 'Every bucket of the window, oldest first' }),
    runs_summary: z.object({
      total_runs: z.number().int(),
      completed_runs: z.number().int(),
      failed_runs: z.number().int(),
      avg_execution_time: z
        .number()
        .nullable()
        .openapi({ description: 'Mean execution time of completed runs in ms; null when none completed' }),
      success_rate: Percent.openapi({ description: 'completed ÷ (completed + failed) runs, percent; null when none' }),
    }),
    top_projects: z
      .array(
        z.object({
          project_id: z.string(),
          project_name: z.string(),
          run_count: z.number().int(),
          success_rate: Percent,
        }),
      )
      .openapi({ description: `At most ${TOP_PROJECTS} projects with the most runs in the window` }),
    integration_usage: z.record(z.string(), z.number().int()).openapi({
      description:
        'Integration operations of the window by type. Edgeway performs file_system (phase outputs written to storage) only; other types appear only if rows of them exist.',
      example: { file_system: 150 },
    }),
    by_model: z
      .array(z.object({ model: z.string(), provider: z.string(), ...Figures.shape }))
      .openapi({ description: 'The AI calls of the window by model and its provider, most requests first' }),
    by_provider: z
      .array(z.object({ provider: z.string(), ...Figures.shape }))
      .openapi({ description: 'The AI calls of the window by provider, most requests first' }),
    window: z.object({
      from: z.string(),
      to: z.string(),
      days: z.number().int(),
      granularity: z.enum(GRANULARITIES),
    }),
  })
  .openapi('UsageAnalytics');

const PerformanceSchema = z
  .object({
    response_times: z
      .object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() })
      .openapi({ description: 'Request latency percentiles in ms (nearest rank, exact); null without requests' }),
    error_rates: z
      .object({ '4xx': Percent, '5xx': Percent })
      .openapi({ description: 'Share of the requests answered 4xx / 5xx, percent' }),
    throughput: z.object({
      requests_per_second: z.number().openapi({ description: 'Requests ÷ seconds of the window' }),
      peak_rps: z.number().int().openapi({ description: 'Requests in the busiest one-second interval' }),
    }),
    resource_usage: z.object({ cpu_utilization: z.null(), memory_usage: z.null(), disk_usage: z.null() }).openapi({
      description:
        'Always null: Cloudflare Workers expose no CPU, memory or disk utilization to the code they run, so Edgeway has none to report.',
    }),
    window: z.object({ from: z.string(), to: z.string(), days: z.number().int(), requests: z.number().int() }),
  })
  .openapi('PerformanceAnalytics');

analyticsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/analytics/usage',
    operationId: 'getUsageAnalytics',
    tags: ['analytics'],
    summary: "The organization's API usage, runs, top projects and integrations over the last days (seed 003)",
    middleware: [protect(atLeast('viewer'))],
    request: { query: UsageQuery },
    responses: {
      200: { description: 'Usage figures', content: { 'application/json': { schema: UsageSchema } } },
      ...errorResponses(400, 401, 403, 429),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const q = c.req.valid('query');
    const body = await usageFigures(c.env.DB, {
      organizationId: who.organizationId,
      days: q.days,
      granularity: q.granularity,
      minuteRetentionDays: c.var.config.MINUTE_ROLLUPS_RETENTION_DAYS,
      now: Date.now(),
    });
    return c.json(body, 200);
  },
);

analyticsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/analytics/performance',
    operationId: 'getPerformanceAnalytics',
    tags: ['analytics'],
    summary: "The organization's response times, error rates and throughput (seed 003)",
    middleware: [protect(atLeast('viewer'))],
    request: { query: PerformanceQuery },
    responses: {
      200: { description: 'Performance figures', content: { 'application/json': { schema: PerformanceSchema } } },
      ...errorResponses(400, 401, 403, 429),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { days: span } = c.req.valid('query');
    const kept = c.var.config.REQUEST_EVENTS_RETENTION_DAYS;
    // Older events are pruned: a longer window would divide fewer requests by more seconds.
    if (span > kept) {
      throw new ApiError('VALIDATION_ERROR', undefined, {
        details: [{ field: 'days', message: `must be at most ${kept}: request events are kept ${kept} days` }],
      });
    }
    return c.json(
      await performanceFigures(c.env.DB, { organizationId: who.organizationId, days: span, now: Date.now() }),
      200,
    );
  },
);
