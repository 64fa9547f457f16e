import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import type { CacheLookup } from '../cache';
import { type ChatCall, type GatewayStreamEvent, openStream } from './pipeline';
import { sseResponse, type SseEncoder } from '../../lib/sse';
import { cachePolicy } from '../cache';
import { chargeQuota } from '../rate-limits';
import { ApiError } from '../../lib/errors';
import { aiCaller, callAbort, pipelineDeps } from './call-context';

export type CallBase = Pick<
  ChatCall,
  'dialect' | 'requestId' | 'userId' | 'organizationId' | 'signal' | 'tenant' | 'cachePolicy'
> & {
  abort: AbortController;
};

// Admits an AI call: who is calling, their organization's monthly quota (leased from its limiter object),
// which request this is, and the abort wiring.
export async function beginCall(c: Context<AppEnv>, dialect: string): Promise<CallBase> {
  const who = await aiCaller(c);
  const policy = cachePolicy(c.req.raw.headers, c.var.config);
  if (who.organizationId !== null && !(await chargeQuota(c, who.organizationId))) {
    throw new ApiError('QUOTA_EXCEEDED', 'The organization has used its API quota for this month');
  }
  const abort = callAbort(c);
  c.var.aiCall.begin();
  return {
    dialect,
    requestId: c.var.requestId,
    userId: who.userId,
    organizationId: who.organizationId,
    tenant: who.tenant,
    cachePolicy: policy,
    signal: abort.signal,
    abort,
  };
}

// X-Cache-Status on every AI answer (docs/api.md), and the score of every semantic hit — even one that
// rounds to 1, so a client can tell it from an exact hit, which carries none.
export function cacheHeaders(cache: CacheLookup): Record<string, string> {
  return {
    'X-Cache-Status': cache.status,
    ...(cache.hit === 'semantic' && cache.similarity !== null
      ? { 'X-Cache-Similarity': String(cache.similarity) }
      : {}),
  };
}

export async function streamResponse(
  c: Context<AppEnv>,
  call: ChatCall & CallBase,
  encoder: SseEncoder<GatewayStreamEvent>,
): Promise<Response> {
  const config = c.var.config;
  const { cache, events } = await openStream(pipelineDeps(c), call);
  return sseResponse(events, encoder, {
    holdMs: config.STREAM_HOLD_MS,
    keepAliveMs: config.SSE_KEEPALIVE_MS,
    onCancel: () => call.abort.abort(new Error('client closed the stream')),
    headers: cacheHeaders(cache),
  });
}
