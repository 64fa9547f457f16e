import { z } from '@hono/zod-openapi';
import type { Dialect } from '../dialect';
import type { ChatOutcome, GatewayStreamEvent } from '../pipeline';
import type { ApiError, ErrorCode } from '../../../lib/errors';
import { sseData, type SseEncoder } from '../../../lib/sse';
import type { ChatMessage, FinishReason } from '../../providers';
import { Fallbacks, MAX_MESSAGES, messageWithDetails, ModelSpec, NoTools, Temperature } from './shared';

const TextBlock = z.object({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(TextBlock).min(1)]);

export const AnthropicMessagesRequest = z
  .object({
    model: ModelSpec.openapi({ example: 'claude-3-5-haiku-latest' }),
    messages: z
      .array(z.object({ role: z.enum(['user', 'assistant']), content: Content }))
      .min(1)
      .max(MAX_MESSAGES),
    system: Content.optional(),
    max_tokens: z.number().int().min(1).max(1_000_000),
    temperature: Temperature,
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    stop_sequences: z.array(z.string()).max(8).optional(),
    stream: z.boolean().optional(),
    metadata: z.object({ user_id: z.string().optional() }).optional(),
    tools: NoTools,
    fallbacks: Fallbacks,
  })
  .openapi('AnthropicMessagesRequest');

export type AnthropicMessagesRequest = z.infer<typeof AnthropicMessagesRequest>;

const text = (c: z.infer<typeof Content>) => (typeof c === 'string' ? c : c.map((b) => b.text).join(''));

export function anthropicMessages(body: AnthropicMessagesRequest): ChatMessage[] {
  return [
    ...(body.system !== undefined ? [{ role: 'system' as const, content: text(body.system) }] : []),
    ...body.messages.map((m) => ({ role: m.role, content: text(m.content) })),
  ];
}

export function messageId(requestId: string): string {
  return `msg_${requestId.replace(/^req_/, '')}`;
}

function stopReason(reason: FinishReason): string {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

export const AnthropicMessage = z
  .object({
    id: z.string(),
    type: z.literal('message'),
    role: z.literal('assistant'),
    model: z.string(),
    content: z.array(z.object({ type: z.literal('text'), text: z.string() })),
    stop_reason: z.string(),
    stop_sequence: z.null(),
    usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }),
  })
  .openapi('AnthropicMessage');

export type AnthropicMessage = z.infer<typeof AnthropicMessage>;

export function anthropicMessageBody(outcome: ChatOutcome, requestId: string): AnthropicMessage {
  return {
    id: messageId(requestId),
    type: 'message' as const,
    role: 'assistant' as const,
    model: outcome.result.model || outcome.target.model,
    content: [{ type: 'text' as const, text: outcome.result.text }],
    stop_reason: stopReason(outcome.result.finishReason),
    stop_sequence: null,
    usage: { input_tokens: outcome.result.usage.promptTokens, output_tokens: outcome.result.usage.completionTokens },
  };
}

const ERROR_TYPES: Partial<Record<ErrorCode, string>> = {
  VALIDATION_ERROR: 'invalid_request_error',
  AUTHENTICATION_REQUIRED: 'authentication_error',
  INSUFFICIENT_PERMISSIONS: 'permission_error',
  RESOURCE_NOT_FOUND: 'not_found_error',
  METHOD_NOT_ALLOWED: 'invalid_request_error',
  PAYLOAD_TOO_LARGE: 'request_too_large',
  RATE_LIMIT_EXCEEDED: 'rate_limit_error',
  QUOTA_EXCEEDED: 'rate_limit_error',
  PROVIDER_TIMEOUT: 'timeout_error',
};

export const AnthropicError = z
  .object({
    type: z.literal('error'),
    error: z.object({ type: z.string().openapi({ example: 'invalid_request_error' }), message: z.string() }),
  })
  .openapi('AnthropicError');

// The shape @anthropic-ai/sdk parses: {"type": "error", "error": {"type", "message"}}.
export function anthropicErrorBody(err: ApiError) {
  const message = messageWithDetails(err);
  return { type: 'error' as const, error: { type: ERROR_TYPES[err.code] ?? 'api_error', message } };
}

// Anthropic's event sequence: message_start, content_block_start, ping, content_block_delta…,
// content_block_stop, message_delta (stop_reason, output_tokens), message_stop; or an `error` event.
export function anthropicStreamEncoder(requestId: string): SseEncoder<GatewayStreamEvent> {
  return {
    event(e) {
      if (e.type === 'start') {
        const message = {
          id: messageId(requestId),
          type: 'message',
          role: 'assistant',
          model: e.target.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0 },
        };
        return (
          sseData({ type: 'message_start', message }, 'message_start') +
          sseData(
            { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
            'content_block_start',
          ) +
          sseData({ type: 'ping' }, 'ping')
        );
      }
      if (e.type === 'delta') {
        return sseData(
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: e.text } },
          'content_block_delta',
        );
      }
      return (
        sseData({ type: 'content_block_stop', index: 0 }, 'content_block_stop') +
        sseData(
          {
            type: 'message_delta',
            delta: { stop_reason: stopReason(e.finishReason), stop_sequence: null },
            usage: { input_tokens: e.usage.promptTokens, output_tokens: e.usage.completionTokens },
          },
          'message_delta',
        ) +
        sseData({ type: 'message_stop' }, 'message_stop')
      );
    },
    error: (err) => sseData(anthropicErrorBody(err), 'error'),
    end: () => '',
  };
}

// The Anthropic-compatible Messages API (the official @anthropic-ai/sdk).
export const anthropicDialect: Dialect<AnthropicMessagesRequest, AnthropicMessage> = {
  name: 'anthropic',
  request: AnthropicMessagesRequest,
  answer: AnthropicMessage,
  toCall: (body) => ({
    model: body.model,
    fallbacks: body.fallbacks,
    messages: anthropicMessages(body),
    temperature: body.temperature,
    maxTokens: body.max_tokens,
    topP: body.top_p,
    stop: body.stop_sequences,
  }),
  wantsStream: (body) => body.stream === true,
  body: anthropicMessageBody,
  encoder: (_body, requestId) => anthropicStreamEncoder(requestId),
  error: anthropicErrorBody,
  errorSchema: AnthropicError,
};
