import { createRoute, z } from '@hono/zod-openapi';
import pkg from '../../../package.json';
import type { AppEnv } from '../../env';
import { protect, PUBLIC } from '../accounts';
import { createRouter, errorResponses } from '../../lib/router';
import { isoNow } from '../../lib/time';
import { providersConfigured } from '../providers';
import type { Context } from 'hono';
import type { RequestLogMessage } from '../request-log';
import { TIMED_OUT, withDeadline } from '../../lib/deadline';

export const healthRoutes = createRouter();

const CHECK_TIMEOUT_MS = 2_000;

const Check = z.object({ status: z.enum(['ok', 'error']), latency_ms: z.number() });
const Health = z
  .object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    version: z.string(),
    service: z.string(),
    timestamp: z.string(),
    environment: z.string(),
    providers_configured: z.record(z.string(), z.boolean()),
    checks: z.object({ d1: Check, kv: Check, r2: Check, queue: Check }),
  })
  .openapi('Health');

type CheckResult = z.infer<typeof Check>;

// Each dependency is actually exercised, with its own deadline, so a hung binding cannot hang health.
async function check(run: () => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now();
  try {
    const done = await withDeadline(run(), CHECK_TIMEOUT_MS);
    return { status: done === TIMED_OUT ? 'error' : 'ok', latency_ms: Math.round(performance.now() - started) };
  } catch {
    return { status: 'error', latency_ms: Math.round(performance.now() - started) };
  }
}

async function health(c: Context<AppEnv>) {
  const queue = c.env.REQUEST_LOG as Queue<RequestLogMessage> | undefined;
  const [d1, kv, r2, queueCheck] = await Promise.all([
    check(() => c.env.DB.prepare('SELECT 1 AS ok').first()),
    check(() => c.env.CACHE.get('health:probe')),
    check(() => c.env.FILES.head('health-probe')),
    // The request-log producer: a probe message the consumer drops.
    check(async () => {
      if (!queue) throw new Error('REQUEST_LOG is not bound');
      await queue.send({ kind: 'probe', ts: Date.now() }, { contentType: 'json' });
    }),
  ]);
  // Without D1 nothing works; without KV, R2 or the request log the service still answers.
  const status =
    d1.status !== 'ok'
      ? ('unhealthy' as const)
      : kv.status === 'ok' && r2.status === 'ok' && queueCheck.status === 'ok'
        ? ('healthy' as const)
        : ('degraded' as const);
  const healthy = status === 'healthy';
  const body = {
    status,
    version: pkg.version,
    service: 'edgeway',
    timestamp: isoNow(),
    environment: c.var.config.ENVIRONMENT,
    providers_configured: providersConfigured(c.var.config),
    checks: { d1, kv, r2, queue: queueCheck },
  };
  return healthy ? c.json(body, 200) : c.json(body, 503);
}

const HEALTH_OPERATIONS = [
  ['/health', 'getHealth'],
  ['/internal/health', 'getInternalHealth'],
] as const;

for (const [path, operationId] of HEALTH_OPERATIONS) {
  healthRoutes.openapi(
    createRoute({
      method: 'get',
      path,
      operationId,
      middleware: [protect(PUBLIC)],
      tags: ['health'],
      summary: 'Service health with live checks of D1, KV, R2 and the request-log queue',
      responses: {
        200: { description: 'Healthy', content: { 'application/json': { schema: Health } } },
        503: {
          description: 'Degraded (KV, R2 or the request-log queue failed its check) or unhealthy (D1 failed)',
          content: { 'application/json': { schema: Health } },
        },
        // The body-size limit answers every route, this one included (a GET with a large Content-Length).
        ...errorResponses(413),
      },
    }),
    health,
  );
}
