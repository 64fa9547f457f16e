import { z } from '@hono/zod-openapi';
import type { Dialect } from '../dialect';
import type { ChatOutcome, GatewayStreamEvent } from '../pipeline';
import type { ApiError, ErrorCode } from '../../../lib/errors';
import { sseData, type SseEncoder } from '../../../lib/sse';
import type { ChatMessage, FinishReason } from '../../providers';
import {
  Fallbacks,
  MAX_MESSAGES,
  MaxTokens,
  messageWithDetails,
  NoTools,
  ModelSpec,
  Temperature,
  unixSeconds,
  usageBody,
  UsageSchema,
} from './shared';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(TextPart)]);

export const OpenAIChatRequest = z
  .object({
    model: ModelSpec.openapi({ example: 'gpt-4o-mini' }),
    messages: z
      .array(
        z.object({
          role: z.enum(['system', 'developer', 'user', 'assistant']),
          content: Content,
          name: z.string().optional(),
        }),
      )
      .min(1)
      .max(MAX_MESSAGES),
    temperature: Temperature,
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: MaxTokens,
    max_completion_tokens: MaxTokens,
    stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
    n: z.literal(1).optional().openapi({ description: 'Only 1 is supported' }),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
    user: z.string().optional(),
    tools: NoTools,
    functions: z.array(z.unknown()).max(0, 'Function calling is not supported').optional(),
    fallbacks: Fallbacks,
  })
  .openapi('OpenAIChatCompletionRequest');

export type OpenAIChatRequest = z.infer<typeof OpenAIChatRequest>;

export function openaiMessages(body: OpenAIChatRequest): ChatMessage[] {
  return body.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
}

export function openaiStop(stop: OpenAIChatRequest['stop']): string[] | undefined {
  return stop === undefined ? undefined : typeof stop === 'string' ? [stop] : stop;
}

export const OpenAIChatResponse = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
        logprobs: z.null(),
        finish_reason: z.string(),
      }),
    ),
    usage: UsageSchema,
  })
  .openapi('OpenAIChatCompletion');

export type OpenAIChatResponse = z.infer<typeof OpenAIChatResponse>;

function finish(reason: FinishReason): string {
  return reason === 'error' ? 'stop' : reason;
}

export function completionId(requestId: string): string {
  return `chatcmpl-${requestId.replace(/^req_/, '')}`;
}

export function openaiCompletionBody(outcome: ChatOutcome, requestId: string): OpenAIChatResponse {
  return {
    id: completionId(requestId),
    object: 'chat.completion' as const,
    created: unixSeconds(),
    model: outcome.result.model || outcome.target.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: outcome.result.text, refusal: null },
        logprobs: null,
        finish_reason: finish(outcome.result.finishReason),
      },
    ],
    usage: usageBody(outcome.result.usage),
  };
}

const ERROR_TYPES: Partial<Record<ErrorCode, string>> = {
  VALIDATION_ERROR: 'invalid_request_error',
  AUTHENTICATION_REQUIRED: 'authentication_error',
  INSUFFICIENT_PERMISSIONS: 'permission_error',
  RESOURCE_NOT_FOUND: 'not_found_error',
  METHOD_NOT_ALLOWED: 'invalid_request_error',
  CONFLICT: 'invalid_request_error',
  PAYLOAD_TOO_LARGE: 'invalid_request_error',
  RATE_LIMIT_EXCEEDED: 'rate_limit_error',
  QUOTA_EXCEEDED: 'insufficient_quota',
};

export const OpenAIError = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().openapi({ example: 'invalid_request_error' }),
      code: z.string().openapi({ example: 'validation_error' }),
      param: z.string().nullable(),
    }),
  })
  .openapi('OpenAIError');

// The shape the official openai SDK parses into APIError (message, type, code, param).
export function openaiErrorBody(err: ApiError) {
  const param = err.details?.[0]?.field ?? null;
  return {
    error: {
      message: messageWithDetails(err),
      type: ERROR_TYPES[err.code] ?? (err.status >= 500 ? 'api_error' : 'invalid_request_error'),
      code: err.code.toLowerCase(),
      param: param === 'body' ? null : param,
    },
  };
}

// chat.completion.chunk frames as OpenAI sends them, ending with `data: [DONE]`. With
// stream_options.include_usage the usage arrives in a last chunk with empty choices, as upstream does.
export function openaiStreamEncoder(requestId: string, includeUsage: boolean): SseEncoder<GatewayStreamEvent> {
  const id = completionId(requestId);
  const created = unixSeconds();
  let model = '';
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  return {
    event(e) {
      if (e.type === 'start') {
        model = e.target.model;
        return sseData(chunk({ role: 'assistant', content: '' }, null));
      }
      if (e.type === 'delta') return sseData(chunk({ content: e.text }, null));
      if (e.model) model = e.model;
      const last = sseData(chunk({}, finish(e.finishReason)));
      return includeUsage
        ? last +
            sseData({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageBody(e.usage) })
        : last;
    },
    error: (err) => sseData(openaiErrorBody(err)),
    end: () => 'data: [DONE]\n\n',
  };
}

// The OpenAI-compatible chat completions (the official `openai` SDK).
export const openaiDialect: Dialect<OpenAIChatRequest, OpenAIChatResponse> = {
  name: 'openai',
  request: OpenAIChatRequest,
  answer: OpenAIChatResponse,
  toCall: (body) => ({
    model: body.model,
    fallbacks: body.fallbacks,
    messages: openaiMessages(body),
    temperature: body.temperature,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    topP: body.top_p,
    stop: openaiStop(body.stop),
  }),
  wantsStream: (body) => body.stream === true,
  body: openaiCompletionBody,
  encoder: (body, requestId) => openaiStreamEncoder(requestId, body.stream_options?.include_usage === true),
  error: openaiErrorBody,
  errorSchema: OpenAIError,
};
