import type { Context } from 'hono';
import { getDb } from '../../db/client';
import type { AppEnv } from '../../env';
import type { CallSummary } from '../../lib/call-slot';
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

// The pipeline's dependencies outside an HTTP request (a realtime room's turn): the settled call is handed
// to `settled` instead of the request's call slot, for the caller to log.
export function realtimeDeps(
  base: Omit<PipelineDeps, 'report'>,
  settled: (summary: CallSummary) => void,
): PipelineDeps {
  return {
    ...base,
    report: (call, s, stored) =>
      settled({ ...requestRow(call, s), createdAt: new Date().toISOString(), upstreamMs: s.upstreamMs, stored }),
  };
}
