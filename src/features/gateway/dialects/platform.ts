import { z } from '@hono/zod-openapi';
import type { Dialect, ErrorBody } from '../dialect';
import type { ChatOutcome, GatewayStreamEvent } from '../pipeline';
import { type ApiError, toEnvelope } from '../../../lib/errors';
import { sseData, type SseEncoder } from '../../../lib/sse';
import { isoNow } from '../../../lib/time';
import type { ChatMessage } from '../../providers';
import { Fallbacks, MAX_MESSAGES, MaxTokens, ModelSpec, Temperature, usageBody, UsageSchema } from './shared';

// The platform chat completion request (also the body of /chat/stream).
export const PlatformChatRequest = z
  .object({
    message: z.string().min(1).openapi({ example: 'Hello, how are you?' }),
    model: ModelSpec.optional().openapi({ example: 'gpt-3.5-turbo' }),
    temperature: Temperature.openapi({ example: 0.7 }),
    max_tokens: MaxTokens.openapi({ example: 1000 }),
    stream: z.boolean().optional(),
    system_prompt: z.string().max(100_000).optional().openapi({ example: 'You are a helpful assistant' }),
    conversation_history: z
      .array(z.object({ role: z.enum(['user', 'assistant', 'system']), content: z.string() }))
      .max(MAX_MESSAGES)
      .optional(),
    fallbacks: Fallbacks,
  })
  .openapi('ChatCompletionRequest');

export type PlatformChatRequest = z.infer<typeof PlatformChatRequest>;

export const PlatformChatResponse = z
  .object({
    response: z.string(),
    model: z.string(),
    provider: z.string(),
    request_id: z.string(),
    timestamp: z.string(),
    cached: z.boolean(),
    cache_key: z.string(),
    similarity_score: z.number().nullable(),
    finish_reason: z.string(),
    usage: UsageSchema,
  })
  .openapi('ChatCompletionResponse');

export type PlatformChatResponse = z.infer<typeof PlatformChatResponse>;

export function platformMessages(body: PlatformChatRequest): ChatMessage[] {
  return [
    ...(body.system_prompt ? [{ role: 'system' as const, content: body.system_prompt }] : []),
    ...(body.conversation_history ?? []),
    { role: 'user', content: body.message },
  ];
}

// The platform's one error envelope (docs/api.md), for every /api/v1 surface.
export const platformError: ErrorBody = (err, requestId) => toEnvelope(err, requestId, isoNow());

export function platformAnswer(outcome: ChatOutcome, requestId: string): PlatformChatResponse {
  return {
    response: outcome.result.text,
    model: outcome.result.model || outcome.target.model,
    provider: outcome.target.provider.id,
    request_id: requestId,
    timestamp: isoNow(),
    cached: outcome.cache.status === 'HIT',
    cache_key: outcome.cache.key,
    similarity_score: outcome.cache.similarity,
    finish_reason: outcome.result.finishReason,
    usage: usageBody(outcome.result.usage),
  };
}

// The platform chat's SSE frames: {"chunk","index"} per piece, then {"finished": true, "usage"}; a failure after
// the stream started ends it with {"finished": true, "error": {...}} in the platform error shape.
export function platformStreamEncoder(requestId: string): SseEncoder<GatewayStreamEvent> {
  let index = 0;
  let model = '';
  return {
    event(e) {
      if (e.type === 'start') {
        model = e.target.model;
        return '';
      }
      if (e.type === 'delta') return sseData({ chunk: e.text, index: index++ });
      // The platform dialects take no tools, so no call comes; text is all they tell.
      if (e.type === 'tool_call') return '';
      return sseData({
        finished: true,
        model: e.model || model,
        finish_reason: e.finishReason,
        request_id: requestId,
        usage: usageBody(e.usage),
      });
    },
    error(err: ApiError) {
      return sseData({ finished: true, ...toEnvelope(err, requestId, isoNow()) });
    },
    end: () => '',
  };
}

// The platform chat: /chat/completion answers JSON (or streams when asked), /chat/stream always streams.
export const platformDialect: Dialect<PlatformChatRequest, PlatformChatResponse> = {
  name: 'chat-completion',
  streamName: 'chat-stream',
  request: PlatformChatRequest,
  answer: PlatformChatResponse,
  toCall: (body) => ({
    model: body.model,
    fallbacks: body.fallbacks,
    messages: platformMessages(body),
    temperature: body.temperature,
    maxTokens: body.max_tokens,
    text: body.message,
  }),
  wantsStream: (body) => body.stream === true,
  body: platformAnswer,
  encoder: (_body, requestId) => platformStreamEncoder(requestId),
  error: platformError,
};
