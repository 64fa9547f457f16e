import { createRoute, type OpenAPIHono, type RouteConfig, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { errorResponses } from '../../lib/router';
import { AI, protect } from '../accounts';
import { lastUserText } from '../providers';
import { pipelineDeps } from './call-context';
import { type Dialect, speaks } from './dialect';
import { runChat } from './pipeline';
import { beginCall, cacheHeaders, streamResponse } from './respond';
import { upstreamGuard } from './upstream-guard';

export interface ChatEndpointRoute {
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  // 'always': the endpoint only streams (its body's `stream` is not read); otherwise the dialect decides.
  stream?: 'always' | 'when-asked';
}

const SSE_CONTENT = { 'text/event-stream': { schema: { type: 'string' as const } } };

// The body as the route's validator parsed it against dialect.request (the widened route config
// cannot carry its type).
function validBody<Req>(c: Context<AppEnv>): Req {
  return (c.req as unknown as { valid(target: 'json'): Req }).valid('json');
}

// Error answers for the API document in a dialect's own error shape (the platform envelope by default).
export function dialectErrorResponses(schema: z.ZodType | undefined, ...statuses: number[]) {
  const platform = errorResponses(...statuses);
  if (!schema) return platform;
  return Object.fromEntries(
    Object.entries(platform).map(([status, r]) => [
      status,
      { description: r.description, content: { 'application/json': { schema } } },
    ]),
  );
}

// Admission, then the stream-or-complete branch, for any dialect: the one place an AI chat call is
// turned into an HTTP answer.
async function answer<Req, Ans>(
  c: Context<AppEnv>,
  dialect: Dialect<Req, Ans>,
  body: Req,
  alwaysStream: boolean,
): Promise<Response> {
  const input = dialect.toCall(body, c.var.config);
  const stream = dialect.encoder !== undefined && (alwaysStream || dialect.wantsStream(body));
  const name = stream ? (dialect.streamName ?? dialect.name) : dialect.name;
  const call = { ...(await beginCall(c, name)), ...input, text: input.text ?? lastUserText(input.messages) };
  if (stream && dialect.encoder) return streamResponse(c, call, dialect.encoder(body, c.var.requestId));
  const outcome = await runChat(pipelineDeps(c), call, dialect.awaitRecord === true);
  return c.json(dialect.body(outcome, c.var.requestId) as object, dialect.status ?? 200, cacheHeaders(outcome.cache));
}

/** Registers a POST chat endpoint that speaks `dialect`: its request and answer schemas, its errors. */
export function chatEndpoint<Req, Ans>(
  router: OpenAPIHono<AppEnv>,
  dialect: Dialect<Req, Ans>,
  route: ChatEndpointRoute,
): void {
  const alwaysStream = route.stream === 'always';
  const status = dialect.status ?? 200;
  const json = { 'application/json': { schema: dialect.answer } };
  const content = alwaysStream ? SSE_CONTENT : dialect.encoder ? { ...json, ...SSE_CONTENT } : json;
  // Widened on purpose: the answer's type varies by dialect, so the handler returns a plain Response.
  const config: RouteConfig = createRoute({
    method: 'post',
    path: route.path,
    operationId: route.operationId,
    middleware: [speaks(dialect.error), protect(AI), upstreamGuard],
    tags: route.tags,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    request: { body: { required: true, content: { 'application/json': { schema: dialect.request } } } },
    responses: {
      [status]: { description: alwaysStream ? 'Server-sent events' : 'The answer', content },
      ...dialectErrorResponses(dialect.errorSchema, 400, 401, 403, 413, 429, 502, 503, 504),
    },
  });
  router.openapi(config, (c) => answer(c, dialect, validBody<Req>(c), alwaysStream));
}
