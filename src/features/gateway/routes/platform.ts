import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { pipelineDeps } from '../call-context';
import {
  PlatformChatRequest,
  PlatformChatResponse,
  platformMessages,
  platformStreamEncoder,
} from '../dialects/platform';
import { beginCall, cacheHeaders, type CallBase, streamResponse } from '../respond';
import { usageBody } from '../dialects/shared';
import type { AppEnv } from '../../../env';
import { type ChatCall, runChat } from '../pipeline';
import { createRouter, errorResponses } from '../../../lib/router';
import { isoNow } from '../../../lib/time';
import { AI, protect } from '../../accounts';
import { upstreamGuard } from '../upstream-guard';

// Seed 002's chat completion and SSE stream, mounted at /api/v1.
export const chatRoutes = createRouter();

const SSE = { 'text/event-stream': { schema: { type: 'string' as const } } };

async function toCall(c: Context<AppEnv>, body: PlatformChatRequest, dialect: string) {
  return {
    ...(await beginCall(c, dialect)),
    model: body.model,
    fallbacks: body.fallbacks,
    messages: platformMessages(body),
    temperature: body.temperature,
    maxTokens: body.max_tokens,
    text: body.message,
  } satisfies ChatCall & CallBase;
}

const completion = createRoute({
  method: 'post',
  path: '/chat/completion',
  middleware: [protect(AI), upstreamGuard],
  tags: ['chat'],
  summary: 'Chat completion (seed 002); with "stream": true it answers as /chat/stream does',
  request: { body: { required: true, content: { 'application/json': { schema: PlatformChatRequest } } } },
  responses: {
    200: { description: 'The answer', content: { 'application/json': { schema: PlatformChatResponse }, ...SSE } },
    ...errorResponses(400, 401, 413, 502, 503, 504),
  },
});

chatRoutes.openapi(completion, async (c) => {
  const body = c.req.valid('json');
  const call = await toCall(c, body, body.stream ? 'chat-stream' : 'chat-completion');
  if (body.stream) return streamResponse(c, call, platformStreamEncoder(c.var.requestId));
  const outcome = await runChat(pipelineDeps(c), call);
  return c.json(
    {
      response: outcome.result.text,
      model: outcome.result.model || outcome.target.model,
      provider: outcome.target.provider.id,
      request_id: c.var.requestId,
      timestamp: isoNow(),
      cached: outcome.cache.status === 'HIT',
      cache_key: outcome.cache.key,
      similarity_score: outcome.cache.similarity,
      finish_reason: outcome.result.finishReason,
      usage: usageBody(outcome.result.usage),
    },
    200,
    cacheHeaders(outcome.cache),
  );
});

const stream = createRoute({
  method: 'post',
  path: '/chat/stream',
  middleware: [protect(AI), upstreamGuard],
  tags: ['chat'],
  summary: 'Streaming chat (seed 002): SSE frames {"chunk","index"} then {"finished": true, "usage"}',
  request: { body: { required: true, content: { 'application/json': { schema: PlatformChatRequest } } } },
  responses: {
    200: { description: 'Server-sent events', content: SSE },
    ...errorResponses(400, 401, 413, 502, 503, 504),
  },
});

chatRoutes.openapi(stream, async (c) =>
  streamResponse(c, await toCall(c, c.req.valid('json'), 'chat-stream'), platformStreamEncoder(c.var.requestId)),
);
