import { createRoute, z } from '@hono/zod-openapi';
import type { Config } from '../../config';
import { CATALOGUE, type CatalogueEntry, findModel } from './catalogue';
import { ApiError } from '../../lib/errors';
import { compareBy, parseSort, sortParams } from '../../lib/list-query';
import { PaginationQuery, PaginationSchema, paginate, paginationHeaders, window } from '../../lib/pagination';
import { AI_READ, protect } from '../accounts';
import { createRouter, errorResponses } from '../../lib/router';
import { getProvider } from '../providers';

// The model catalogue: a bare array at /models, a paginated list at /model.
export const modelsRoutes = createRouter();

export const ModelSchema = z
  .object({
    id: z.string().openapi({ example: 'gpt-4' }),
    name: z.string(),
    provider: z.string(),
    context_length: z.number().int(),
    description: z.string(),
    capabilities: z.array(z.string()),
    available: z.boolean().openapi({ description: 'Its provider is configured on this deployment' }),
    cost_per_token: z
      .object({ input: z.number(), output: z.number() })
      .openapi({ description: 'USD per 1,000 tokens' }),
  })
  .openapi('Model');

// GET /model sorts by these (src/lib/list-query.ts); without `sort`, catalogue order.
const SORTABLE: Record<string, (m: CatalogueEntry) => string | number> = {
  id: (m) => m.id,
  name: (m) => m.name,
  provider: (m) => m.provider,
  context_length: (m) => m.context_length,
};

export function modelView(entry: CatalogueEntry, config: Config) {
  return { ...entry, available: getProvider(entry.provider).isConfigured(config) };
}

modelsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/models',
    operationId: 'listModels',
    middleware: [protect(AI_READ)],
    tags: ['models'],
    summary: 'List models (seed 002: a bare array)',
    responses: {
      200: { description: 'Models', content: { 'application/json': { schema: z.array(ModelSchema) } } },
      ...errorResponses(401),
    },
  }),
  (c) =>
    c.json(
      CATALOGUE.map((m) => modelView(m, c.var.config)),
      200,
    ),
);

modelsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/models/{model_id}',
    operationId: 'getModel',
    middleware: [protect(AI_READ)],
    tags: ['models'],
    summary: 'One model',
    request: {
      params: z.object({
        model_id: z
          .string()
          .max(200)
          .openapi({ param: { name: 'model_id', in: 'path' }, example: 'gpt-4' }),
      }),
    },
    responses: {
      200: { description: 'The model', content: { 'application/json': { schema: ModelSchema } } },
      ...errorResponses(401, 404),
    },
  }),
  (c) => {
    const entry = findModel(c.req.valid('param').model_id);
    if (!entry) throw new ApiError('RESOURCE_NOT_FOUND', 'Model not found');
    return c.json(modelView(entry, c.var.config), 200);
  },
);

modelsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/model',
    operationId: 'listModelsPaginated',
    middleware: [protect(AI_READ)],
    tags: ['models'],
    summary: 'List models with pagination (seed 004)',
    request: {
      query: PaginationQuery.extend({
        provider: z.string().max(50).optional(),
        available: z.enum(['true', 'false']).optional(),
        ...sortParams(Object.keys(SORTABLE), ''),
      }),
    },
    responses: {
      200: {
        description: 'A page of models; `X-Total-Count` and `Link` headers too',
        content: {
          'application/json': { schema: z.object({ data: z.array(ModelSchema), pagination: PaginationSchema }) },
        },
      },
      ...errorResponses(400, 401),
    },
  }),
  (c) => {
    const q = c.req.valid('query');
    const { limit, offset } = window(q, Object.keys(SORTABLE));
    const keys = parseSort(q.sort, q.order, Object.keys(SORTABLE), '');
    const all = CATALOGUE.map((m) => modelView(m, c.var.config))
      .filter(
        (m) =>
          (q.provider === undefined || m.provider === q.provider) &&
          (q.available === undefined || String(m.available) === q.available),
      )
      .sort(compareBy(keys, SORTABLE));
    const pagination = paginate(all.length, limit, offset);
    return c.json(
      { data: all.slice(offset, offset + limit), pagination },
      200,
      paginationHeaders(c.req.url, pagination),
    );
  },
);
