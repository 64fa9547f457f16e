import type { Context } from 'hono';
import { getDb } from '../../db/client';
import type { AppEnv } from '../../env';
import { identify } from '../accounts';
import type { PipelineDeps } from './pipeline';
import { requestRow } from './record';

export function pipelineDeps(c: Context<AppEnv>): PipelineDeps {
  return {
    env: c.env,
    config: c.var.config,
    db: getDb(c.env.DB),
    log: c.var.log,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    report: (call, settled, stored) =>
      c.var.aiCall.settle({
        ...requestRow(call, settled),
        createdAt: new Date().toISOString(),
        upstreamMs: settled.upstreamMs,
        stored,
      }),
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

export interface AiCaller {
  userId: string | null;
  organizationId: string | null;
  // Cache and similarity scopes: the organization, or the one anonymous scope.
  tenant: string;
}

// protect(AI) has already decided the caller may be here; null identity means an anonymous caller.
export async function aiCaller(c: Context<AppEnv>): Promise<AiCaller> {
  const who = await identify(c);
  if (!who) return { userId: null, organizationId: null, tenant: 'anonymous' };
  return { userId: who.userId, organizationId: who.organizationId, tenant: `org:${who.organizationId}` };
}
