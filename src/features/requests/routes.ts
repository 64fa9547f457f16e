import { createRoute, z } from '@hono/zod-openapi';
import { getDb } from '../../db/client';
import { REQUEST_STATUSES } from '../../db/schema';
import { ApiError } from '../../lib/errors';
import { createRouter, errorResponses } from '../../lib/router';
import { AI_READ, identify, protect } from '../accounts';
import { chatEndpoint, type Dialect, findRequest, platformError, UsageSchema } from '../gateway';

// The stored-request endpoints, POST /requests and GET /requests/{id}, mounted at /api/v1.
export const requestsRoutes = createRouter();

const CreateRequestBody = z
  .object({
    text: z
      .string({ error: (issue) => (issue.input === undefined ? 'Required' : 'Expected a string') })
      .refine((s) => s.trim().length > 0, 'Must not be empty')
      .openapi({ example: 'Explain HTTP caching in two sentences.' }),
  })
  .openapi('CreateRequest');

type CreateRequestBody = z.infer<typeof CreateRequestBody>;

const CreateRequestResponse = z
  .object({
    response: z.string().openapi({ example: 'HTTP caching stores responses ...' }),
    id: z.number().int().openapi({ example: 1 }),
  })
  .openapi('CreateRequestResponse');

type CreateRequestResponse = z.infer<typeof CreateRequestResponse>;

const RequestRecord = z
  .object({
    id: z.number().int(),
    user_id: z.string().nullable().openapi({ description: 'UUID of the user, null for anonymous requests' }),
    text: z.string(),
    response: z.string().nullable(),
    model: z.string(),
    provider: z.string(),
    status: z.enum(REQUEST_STATUSES),
    error_code: z.string().nullable(),
    usage: UsageSchema,
    latency_ms: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('RequestRecord');

// POST /requests answers 201 with the stored row's id, so this dialect waits for the record; it never streams.
const requestsDialect: Dialect<CreateRequestBody, CreateRequestResponse> = {
  name: 'requests',
  request: CreateRequestBody,
  answer: CreateRequestResponse,
  toCall: ({ text }, config) => {
    if (text.length > config.MAX_TEXT_CHARS) {
      throw new ApiError('VALIDATION_ERROR', undefined, {
        details: [{ field: 'text', message: `Must be at most ${config.MAX_TEXT_CHARS} characters` }],
      });
    }
    return { messages: [{ role: 'user', content: text }], text };
  },
  wantsStream: () => false,
  body: (outcome) => ({ response: outcome.result.text, id: outcome.recordId ?? 0 }),
  error: platformError,
  status: 201,
  awaitRecord: true,
};

chatEndpoint(requestsRoutes, requestsDialect, {
  path: '/requests',
  operationId: 'createRequest',
  tags: ['requests'],
  summary: 'Send text to the AI provider and store the request',
});

const getRequest = createRoute({
  method: 'get',
  path: '/requests/{id}',
  operationId: 'getRequest',
  middleware: [protect(AI_READ)],
  tags: ['requests'],
  summary: 'Get a stored request with its response',
  request: {
    params: z.object({
      id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '1', description: 'Integer id' }),
    }),
  },
  responses: {
    200: { description: 'The request', content: { 'application/json': { schema: RequestRecord } } },
    ...errorResponses(401, 404),
  },
});

requestsRoutes.openapi(getRequest, async (c) => {
  const raw = c.req.valid('param').id;
  // Request ids are integers; anything else cannot name a request, so it is simply not found.
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
  const row = Number.isSafeInteger(id) ? await findRequest(getDb(c.env.DB), id) : undefined;
  // A request made with an account is private to it: anyone else is told it does not exist.
  const who = await identify(c);
  if (!row || (row.userId !== null && row.userId !== who?.userId))
    throw new ApiError('RESOURCE_NOT_FOUND', 'Request not found');
  return c.json(
    {
      id: row.id,
      user_id: row.userId,
      text: row.text,
      response: row.response,
      model: row.model,
      provider: row.provider,
      status: row.status,
      error_code: row.errorCode,
      usage: {
        prompt_tokens: row.promptTokens,
        completion_tokens: row.completionTokens,
        total_tokens: row.totalTokens,
      },
      latency_ms: row.latencyMs,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
    },
    200,
  );
});
