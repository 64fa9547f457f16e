import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { type ChatCall, type GatewayStreamEvent, streamChat } from '../gateway/pipeline';
import { sseResponse, type SseEncoder } from '../lib/sse';
import { getDb } from '../db/client';
import { consumeQuota } from '../db/organizations';
import { ApiError } from '../lib/errors';
import { aiCaller, callAbort, pipelineDeps } from './context';

export type CallBase = Pick<ChatCall, 'dialect' | 'requestId' | 'userId' | 'organizationId' | 'signal'> & {
  abort: AbortController;
  tenant: string;
};

// Admits an AI call: who is calling, their organization's monthly quota (one atomic check-and-count),
// which request this is, and the abort wiring.
export async function beginCall(c: Context<AppEnv>, dialect: string): Promise<CallBase> {
  const who = await aiCaller(c);
  if (who.organizationId !== null && !(await consumeQuota(getDb(c.env.DB), who.organizationId))) {
    throw new ApiError('QUOTA_EXCEEDED', 'The organization has used its API quota for this month');
  }
  const abort = callAbort(c);
  return {
    dialect,
    requestId: c.var.requestId,
    userId: who.userId,
    organizationId: who.organizationId,
    tenant: who.tenant,
    signal: abort.signal,
    abort,
  };
}

// Until the response cache exists every AI answer bypasses it; API.md wants the header on all of them.
export const CACHE_HEADERS = { 'X-Cache-Status': 'BYPASS' } as const;

export function streamResponse(
  c: Context<AppEnv>,
  call: ChatCall & CallBase,
  encoder: SseEncoder<GatewayStreamEvent>,
): Promise<Response> {
  const config = c.var.config;
  return sseResponse(streamChat(pipelineDeps(c), call), encoder, {
    holdMs: config.STREAM_HOLD_MS,
    keepAliveMs: config.SSE_KEEPALIVE_MS,
    onCancel: () => call.abort.abort(new Error('client closed the stream')),
    headers: CACHE_HEADERS,
  });
}
