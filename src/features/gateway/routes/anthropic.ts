import { createRoute } from '@hono/zod-openapi';
import {
  AnthropicMessage,
  anthropicMessageBody,
  anthropicMessages,
  AnthropicMessagesRequest,
  anthropicStreamEncoder,
} from '../dialects/anthropic';
import { pipelineDeps } from '../call-context';
import { beginCall, cacheHeaders, streamResponse } from '../respond';
import { runChat } from '../pipeline';
import { createRouter, errorResponses } from '../../../lib/router';
import { AI, protect } from '../../accounts';
import { upstreamGuard } from '../upstream-guard';

// The Anthropic-compatible surface: the official @anthropic-ai/sdk with baseURL = <host>.
export const anthropicRoutes = createRouter();

anthropicRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/messages',
    middleware: [protect(AI), upstreamGuard],
    tags: ['anthropic'],
    summary: 'Anthropic-compatible Messages API (stream and non-stream)',
    request: { body: { required: true, content: { 'application/json': { schema: AnthropicMessagesRequest } } } },
    responses: {
      200: {
        description: 'A message, or the Messages streaming events when stream is true',
        content: {
          'application/json': { schema: AnthropicMessage },
          'text/event-stream': { schema: { type: 'string' } },
        },
      },
      ...errorResponses(400, 401, 413, 502, 503, 504),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const messages = anthropicMessages(body);
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const call = {
      ...(await beginCall(c, 'anthropic')),
      model: body.model,
      fallbacks: body.fallbacks,
      messages,
      temperature: body.temperature,
      maxTokens: body.max_tokens,
      topP: body.top_p,
      stop: body.stop_sequences,
      text: lastUser?.content ?? '',
    };
    if (body.stream) return streamResponse(c, call, anthropicStreamEncoder(c.var.requestId));
    const outcome = await runChat(pipelineDeps(c), call);
    return c.json(anthropicMessageBody(outcome, c.var.requestId), 200, cacheHeaders(outcome.cache));
  },
);
