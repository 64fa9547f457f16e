import { createRoute, z } from '@hono/zod-openapi';
import { pipelineDeps } from '../call-context';
import {
  OpenAIChatRequest,
  OpenAIChatResponse,
  openaiCompletionBody,
  openaiMessages,
  openaiStop,
  openaiStreamEncoder,
} from '../dialects/openai';
import { beginCall, cacheHeaders, streamResponse } from '../respond';
import { CATALOGUE, findModel } from '../../models';
import { runChat } from '../pipeline';
import { ApiError } from '../../../lib/errors';
import { createRouter, errorResponses } from '../../../lib/router';
import { AI, AI_READ, protect } from '../../accounts';
import { upstreamGuard } from '../upstream-guard';

// The OpenAI-compatible surface: the official `openai` SDK with baseURL = <host>/v1.
export const openaiRoutes = createRouter();

const ModelObject = z
  .object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() })
  .openapi('OpenAIModel');
const CREATED = 1_704_067_200; // 2024-01-01: the catalogue has no per-model dates

openaiRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/chat/completions',
    middleware: [protect(AI), upstreamGuard],
    tags: ['openai'],
    summary: 'OpenAI-compatible chat completions (stream and non-stream)',
    request: { body: { required: true, content: { 'application/json': { schema: OpenAIChatRequest } } } },
    responses: {
      200: {
        description: 'chat.completion, or chat.completion.chunk events when stream is true',
        content: {
          'application/json': { schema: OpenAIChatResponse },
          'text/event-stream': { schema: { type: 'string' } },
        },
      },
      ...errorResponses(400, 401, 413, 502, 503, 504),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const messages = openaiMessages(body);
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const call = {
      ...(await beginCall(c, 'openai')),
      model: body.model,
      fallbacks: body.fallbacks,
      messages,
      temperature: body.temperature,
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      topP: body.top_p,
      stop: openaiStop(body.stop),
      text: lastUser?.content ?? '',
    };
    if (body.stream) {
      return streamResponse(c, call, openaiStreamEncoder(c.var.requestId, body.stream_options?.include_usage === true));
    }
    const outcome = await runChat(pipelineDeps(c), call);
    return c.json(openaiCompletionBody(outcome, c.var.requestId), 200, cacheHeaders(outcome.cache));
  },
);

openaiRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/models',
    middleware: [protect(AI_READ)],
    tags: ['openai'],
    summary: 'OpenAI-compatible model list',
    responses: {
      200: {
        description: 'Models',
        content: {
          'application/json': { schema: z.object({ object: z.literal('list'), data: z.array(ModelObject) }) },
        },
      },
      ...errorResponses(),
    },
  }),
  (c) =>
    c.json(
      {
        object: 'list' as const,
        data: CATALOGUE.map((m) => ({ id: m.id, object: 'model' as const, created: CREATED, owned_by: m.provider })),
      },
      200,
    ),
);

openaiRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/models/{model}',
    middleware: [protect(AI_READ)],
    tags: ['openai'],
    summary: 'OpenAI-compatible model retrieval',
    request: {
      params: z.object({
        model: z
          .string()
          .max(200)
          .openapi({ param: { name: 'model', in: 'path' } }),
      }),
    },
    responses: {
      200: { description: 'Model', content: { 'application/json': { schema: ModelObject } } },
      ...errorResponses(404),
    },
  }),
  (c) => {
    const m = findModel(c.req.valid('param').model);
    if (!m) throw new ApiError('RESOURCE_NOT_FOUND', 'Model not found');
    return c.json({ id: m.id, object: 'model' as const, created: CREATED, owned_by: m.provider }, 200);
  },
);
