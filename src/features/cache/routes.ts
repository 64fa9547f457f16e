import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, like, or, sql } from 'drizzle-orm';
import { AI_READ, atLeast, protect } from '../accounts';
import { aiCaller, pipelineDeps } from '../gateway';
import { beginCall } from '../gateway';
import { getDb } from '../../db/client';
import { requests } from '../../db/schema';
import { cacheStats, clearCache } from './cache';
import { runChat } from '../gateway';
import { ApiError } from '../../lib/errors';
import { createRouter, errorResponses } from '../../lib/router';

// Cache administration (stats, warm, clear), per tenant (organization, or the anonymous scope), at /api/v1.
export const cacheRoutes = createRouter();

function human(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

const Stats = z
  .object({
    hits: z.number(),
    misses: z.number(),
    hit_rate: z.number(),
    total_requests: z.number(),
    cache_size_bytes: z.number(),
    cache_size_human: z.string(),
    entries: z.number(),
    avg_response_time_ms: z.number(),
    memory_usage_percent: z.number(),
    evictions: z.number(),
    last_eviction: z.string().nullable(),
  })
  .openapi('CacheStats');

async function tenantDeps(c: Parameters<typeof aiCaller>[0]) {
  const who = await aiCaller(c);
  return {
    who,
    deps: {
      env: c.env,
      config: c.var.config,
      tenant: who.tenant,
      waitUntil: (p: Promise<unknown>) => c.executionCtx.waitUntil(p),
    },
  };
}

cacheRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/cache/stats',
    operationId: 'getCacheStats',
    tags: ['cache'],
    summary: "Hit/miss counts, size and evictions of the caller's cache (seed 002)",
    middleware: [protect(AI_READ)],
    responses: {
      200: { description: 'Statistics', content: { 'application/json': { schema: Stats } } },
      ...errorResponses(401, 403),
    },
  }),
  async (c) => {
    const { deps } = await tenantDeps(c);
    const s = await cacheStats(deps);
    const budget = c.var.config.CACHE_MAX_BYTES;
    return c.json(
      {
        ...s,
        cache_size_human: human(s.cache_size_bytes),
        memory_usage_percent: Math.round((s.cache_size_bytes / budget) * 10_000) / 100,
      },
      200,
    );
  },
);

const WarmBody = z
  .object({
    patterns: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(20)
      .openapi({ example: ['greeting', 'help', 'about'] }),
    models: z
      .array(z.string().min(1).max(200))
      .max(10)
      .optional()
      .openapi({ example: ['gpt-3.5-turbo'] }),
    limit: z.number().int().min(1).max(100).default(10),
  })
  .openapi('CacheWarmRequest');

cacheRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/cache/warm',
    operationId: 'warmCache',
    tags: ['cache'],
    summary: 'Fill the cache with answers to the most frequent past prompts matching the patterns',
    middleware: [protect(atLeast('manager'))],
    request: { body: { required: true, content: { 'application/json': { schema: WarmBody } } } },
    responses: {
      200: {
        description: 'Warmed',
        content: {
          'application/json': {
            schema: z.object({
              warmed: z.number(),
              already_cached: z.number(),
              failed: z.number(),
              prompts: z.array(z.string()),
            }),
          },
        },
      },
      ...errorResponses(400, 401, 403, 503),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const { who } = await tenantDeps(c);
    if (who.organizationId === null) throw new ApiError('AUTHENTICATION_REQUIRED');
    const matches = or(...body.patterns.map((p) => like(requests.text, `%${p.replace(/[%_]/g, '')}%`)));
    const rows = await getDb(c.env.DB)
      .select({ text: requests.text, n: sql<number>`count(*)` })
      .from(requests)
      .where(and(eq(requests.organizationId, who.organizationId), eq(requests.status, 'completed'), matches))
      .groupBy(requests.text)
      .orderBy(desc(sql`count(*)`))
      .limit(body.limit)
      .all();
    const models = body.models?.length ? body.models : [undefined];
    let warmed = 0;
    let cached = 0;
    let failed = 0;
    for (const model of models) {
      for (const row of rows) {
        try {
          const base = await beginCall(c, 'cache-warm');
          const outcome = await runChat(pipelineDeps(c), {
            ...base,
            model,
            messages: [{ role: 'user', content: row.text }],
            text: row.text,
          });
          if (outcome.cache.status === 'HIT') cached++;
          else warmed++;
        } catch (err) {
          // A quota or validation failure is the caller's to see; an upstream hiccup only skips one prompt.
          if (
            err instanceof ApiError &&
            (err.code === 'QUOTA_EXCEEDED' || err.code === 'VALIDATION_ERROR' || err.code === 'SERVICE_UNAVAILABLE')
          )
            throw err;
          failed++;
        }
      }
    }
    return c.json({ warmed, already_cached: cached, failed, prompts: rows.map((r) => r.text) }, 200);
  },
);

cacheRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/cache/clear',
    operationId: 'clearCache',
    tags: ['cache'],
    summary: 'Remove cached answers whose prompt contains `pattern` (all without it)',
    middleware: [protect(atLeast('manager'))],
    request: { query: z.object({ pattern: z.string().max(200).optional() }) },
    responses: {
      200: {
        description: 'Cleared',
        content: { 'application/json': { schema: z.object({ cleared: z.number(), pattern: z.string().nullable() }) } },
      },
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const { pattern } = c.req.valid('query');
    const { deps } = await tenantDeps(c);
    const cleared = await clearCache(deps, pattern ?? '');
    return c.json({ cleared, pattern: pattern ?? null }, 200);
  },
);
