import type { Context } from 'hono';
import { getDb } from '../db/client';
import type { AppEnv } from '../env';
import type { PipelineDeps } from '../gateway/pipeline';

export function pipelineDeps(c: Context<AppEnv>): PipelineDeps {
  return {
    config: c.var.config,
    db: getDb(c.env.DB),
    log: c.var.log,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
  };
}

// One controller per AI call: aborted when the client disconnects (request signal) or when the
// SSE body is cancelled, so the upstream call stops either way.
export function callAbort(c: Context<AppEnv>): AbortController {
  const controller = new AbortController();
  const signal = c.req.raw.signal;
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller;
}

// Who is calling; accounts arrive with the auth work, until then every caller is anonymous.
export function caller(_c: Context<AppEnv>): { userId: string | null; organizationId: string | null; tenant: string } {
  return { userId: null, organizationId: null, tenant: 'anonymous' };
}
