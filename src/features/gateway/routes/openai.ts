import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '../../../lib/errors';
import { createRouter } from '../../../lib/router';
import { AI_READ, protect } from '../../accounts';
import { CATALOGUE, findModel } from '../../models';
import { chatEndpoint, dialectErrorResponses } from '../chat-endpoint';
import { OpenAIError, openaiDialect } from '../dialects/openai';

// The OpenAI-compatible surface: the official `openai` SDK with baseURL = <host>/v1.
export const openaiRoutes = createRouter();

chatEndpoint(openaiRoutes, openaiDialect, {
  path: '/chat/completions',
  operationId: 'createOpenAIChatCompletion',
  tags: ['openai'],
  summary: 'OpenAI-compatible chat completions (stream and non-stream)',
});

const ModelObject = z
  .object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() })
  .openapi('OpenAIModel');
const CREATED = 1_704_067_200; // 2024-01-01: the catalogue has no per-model dates

openaiRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/models',
    operationId: 'listOpenAIModels',
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
      ...dialectErrorResponses(OpenAIError, 401, 429),
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
    operationId: 'retrieveOpenAIModel',
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
      ...dialectErrorResponses(OpenAIError, 401, 404, 429),
    },
  }),
  (c) => {
    const m = findModel(c.req.valid('param').model);
    if (!m) throw new ApiError('RESOURCE_NOT_FOUND', 'Model not found');
    return c.json({ id: m.id, object: 'model' as const, created: CREATED, owned_by: m.provider }, 200);
  },
);
