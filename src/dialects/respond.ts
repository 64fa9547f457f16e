import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { type ChatCall, type GatewayStreamEvent, streamChat } from '../gateway/pipeline';
import { sseResponse, type SseEncoder } from '../lib/sse';
import { callAbort, caller, pipelineDeps } from './context';

// Builds the dialect-neutral part of a call: who, which request, and the abort wiring.
export function baseCall(
  c: Context<AppEnv>,
  dialect: string,
): Pick<ChatCall, 'dialect' | 'requestId' | 'userId' | 'organizationId' | 'signal'> & {
  abort: AbortController;
} {
  const abort = callAbort(c);
  const who = caller(c);
  return {
    dialect,
    requestId: c.var.requestId,
    userId: who.userId,
    organizationId: who.organizationId,
    signal: abort.signal,
    abort,
  };
}

// Until the response cache exists every AI answer bypasses it; API.md wants the header on all of them.
export const CACHE_HEADERS = { 'X-Cache-Status': 'BYPASS' } as const;

export function streamResponse(
  c: Context<AppEnv>,
  call: ChatCall & { abort: AbortController },
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
