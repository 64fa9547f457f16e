import { createRoute, z } from '@hono/zod-openapi';
import { pipelineDeps } from '../call-context';
import { OpenAIChatResponse, openaiCompletionBody, openaiStreamEncoder } from '../dialects/openai';
import { beginCall, cacheHeaders, streamResponse } from '../respond';
import { Fallbacks, MAX_MESSAGES, MaxTokens, ModelSpec, Temperature } from '../dialects/shared';
import { runChat } from '../pipeline';
import { createRouter, errorResponses } from '../../../lib/router';
import { AI, protect } from '../../accounts';
import { upstreamGuard } from '../upstream-guard';

// Seed 004's multi-provider chat (aisuite): `model` is "provider:model"; the answer is an OpenAI
// chat.completion object, as aisuite returns.
export const aisuiteRoutes = createRouter();

const AisuiteChatRequest = z
  .object({
    messages: z
      .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }))
      .min(1)
      .max(MAX_MESSAGES),
    model: ModelSpec.openapi({ example: 'anthropic:claude-3-sonnet' }),
    temperature: Temperature.openapi({ example: 0.7 }),
    max_tokens: MaxTokens,
    stream: z.boolean().optional(),
    fallbacks: Fallbacks,
  })
  .openapi('AisuiteChatRequest');

const route = createRoute({
  method: 'post',
  path: '/aisuite/chat',
  middleware: [protect(AI), upstreamGuard],
  tags: ['chat'],
  summary: 'Chat completion with any configured provider (seed 004)',
  request: { body: { required: true, content: { 'application/json': { schema: AisuiteChatRequest } } } },
  responses: {
    200: {
      description: 'OpenAI-format chat completion (SSE chunks when stream is true)',
      content: {
        'application/json': { schema: OpenAIChatResponse },
        'text/event-stream': { schema: { type: 'string' } },
      },
    },
    ...errorResponses(400, 401, 413, 502, 503, 504),
  },
});

aisuiteRoutes.openapi(route, async (c) => {
  const body = c.req.valid('json');
  const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
  const call = {
    ...(await beginCall(c, 'aisuite')),
    model: body.model,
    fallbacks: body.fallbacks,
    messages: body.messages,
    temperature: body.temperature,
    maxTokens: body.max_tokens,
    text: lastUser?.content ?? '',
  };
  if (body.stream) return streamResponse(c, call, openaiStreamEncoder(c.var.requestId, true));
  const outcome = await runChat(pipelineDeps(c), call);
  return c.json(openaiCompletionBody(outcome, c.var.requestId), 200, cacheHeaders(outcome.cache));
});
