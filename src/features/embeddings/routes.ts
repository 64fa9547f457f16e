import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { createRouter, ErrorSchema, errorResponses } from '../../lib/router';
import { AI, protect } from '../accounts';
import { beginCall, type ChatCall, openaiDialect, pipelineDeps, type PipelineDeps } from '../gateway';
import { isUpstreamFailure } from '../providers';
import type { Target } from '../models';
import { embedTexts } from './embed';
import { LOCAL_DIMENSIONS } from './hashing';
import { resolveEmbeddingTarget } from './resolve';
import { EmbeddingsRequest, EmbeddingsResponse, embeddingsBody, inputTexts } from './wire';

// Recorded as the request's dialect in the request log.
export const EMBEDDINGS_DIALECT = 'openai-embeddings';
// The request log keeps what was embedded, but not megabytes of it.
const LOGGED_TEXT_CHARS = 10_000;
// The local embedder answers count × dimensions floats in one JSON body: bounded like a request body.
const MAX_LOCAL_VALUES = 1_048_576;

type Settled = Parameters<PipelineDeps['report']>[1];

export const embeddingsRoutes = createRouter();

// Error answers for the API document, in the OpenAI error shape the /v1 surface speaks.
function openaiErrors(...statuses: number[]) {
  return Object.fromEntries(
    Object.entries(errorResponses(...statuses)).map(([status, r]) => [
      status,
      {
        description: r.description,
        content: { 'application/json': { schema: openaiDialect.errorSchema ?? ErrorSchema } },
      },
    ]),
  );
}

function loggedText(texts: string[]): string {
  const all = texts.join('\n');
  return all.length > LOGGED_TEXT_CHARS ? `${all.slice(0, LOGGED_TEXT_CHARS - 1)}…` : all;
}

function settled(target: Target, started: number, outcome: Partial<Settled>): Settled {
  const latencyMs = performance.now() - started;
  return {
    status: 'completed',
    target,
    attempts: 1,
    latencyMs,
    ttftMs: null,
    stream: false,
    response: null,
    usage: null,
    errorCode: null,
    // Embeddings are not cached: every call is embedded anew.
    cacheStatus: 'BYPASS',
    upstreamMs: target.provider.id === 'local' ? 0 : latencyMs,
    ...outcome,
  };
}

// Admission as for a chat call (protect(AI) and the client's rate limit before this; the organization's
// quota in beginCall), one embeddings call, and its `requests` row reported whatever the outcome.
async function answer(c: Context<AppEnv>, body: EmbeddingsRequest): Promise<EmbeddingsResponse> {
  const config = c.var.config;
  const texts = inputTexts(body.input, config);
  const target = resolveEmbeddingTarget(body.model, config, body.dimensions);
  if (target.provider.id === 'local' && texts.length * (body.dimensions ?? LOCAL_DIMENSIONS) > MAX_LOCAL_VALUES) {
    throw new ApiError(
      'PAYLOAD_TOO_LARGE',
      `The answer would hold more than ${MAX_LOCAL_VALUES} numbers; send fewer inputs or ask for fewer dimensions`,
    );
  }
  const base = await beginCall(c, EMBEDDINGS_DIALECT);
  const call: ChatCall = { ...base, messages: [], text: loggedText(texts) };
  const deps = pipelineDeps(c);
  const started = performance.now();
  try {
    const { vectors, promptTokens } = await embedTexts(target, texts, {
      config,
      signal: base.signal,
      timeoutMs: config.EMBEDDINGS_TIMEOUT_MS,
      dimensions: body.dimensions,
    });
    const size = vectors[0]?.length ?? 0;
    deps.report(
      call,
      settled(target, started, {
        response: `${vectors.length} ${vectors.length === 1 ? 'embedding' : 'embeddings'} of ${size} dimensions`,
        usage: { promptTokens, completionTokens: 0, totalTokens: promptTokens },
      }),
      false,
    );
    return embeddingsBody(vectors, target.model, promptTokens, body.encoding_format);
  } catch (err) {
    const apiError = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
    const failure = isUpstreamFailure(apiError.cause) ? apiError.cause : undefined;
    deps.log.warn('provider embeddings call failed', {
      provider: target.provider.id,
      model: target.model,
      code: apiError.code,
      upstream_status: failure?.upstreamStatus,
      reason: failure?.reason,
    });
    deps.report(
      call,
      settled(target, started, { status: base.signal.aborted ? 'cancelled' : 'failed', errorCode: apiError.code }),
      false,
    );
    throw apiError;
  }
}

embeddingsRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/embeddings',
    operationId: 'createOpenAIEmbeddings',
    middleware: [protect(AI)],
    tags: ['openai'],
    summary: 'OpenAI-compatible embeddings (float or base64, string or array input, dimensions)',
    description:
      'Routed like chat: a catalogue embedding model (text-embedding-3-small, text-embedding-3-large, edgeway-embed) or provider:model on openai or openai-compatible. Counted, limited and logged like a chat call.',
    request: { body: { required: true, content: { 'application/json': { schema: EmbeddingsRequest } } } },
    responses: {
      200: {
        description: 'One vector per input, in input order',
        content: { 'application/json': { schema: EmbeddingsResponse } },
      },
      ...openaiErrors(400, 401, 403, 413, 429, 502, 503, 504),
    },
  }),
  async (c) => c.json(await answer(c, c.req.valid('json')), 200),
);
