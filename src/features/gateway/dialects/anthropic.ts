import { z } from '@hono/zod-openapi';
import type { Dialect } from '../dialect';
import type { ChatOutcome, GatewayStreamEvent } from '../pipeline';
import type { ApiError, ErrorCode } from '../../../lib/errors';
import { sseData, type SseEncoder } from '../../../lib/sse';
import type { ChatMessage, FinishReason, ToolCall, ToolChoice, ToolDefinition } from '../../providers';
import {
  checkToolNames,
  Fallbacks,
  MAX_MESSAGES,
  MAX_TOOLS,
  messageWithDetails,
  ModelSpec,
  Temperature,
  ToolDescription,
  ToolName,
  ToolSchema,
} from './shared';

const TextBlock = z.object({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(TextBlock).min(1)]);

const ToolUseBlock = z.object({
  type: z.literal('tool_use'),
  id: z.string().min(1).max(256),
  name: ToolName,
  input: z.record(z.string(), z.unknown()),
});
const ToolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1).max(256),
  content: z.union([z.string(), z.array(TextBlock)]).optional(),
  is_error: z.boolean().optional(),
});
const MessageContent = z.union([
  z.string(),
  z.array(z.discriminatedUnion('type', [TextBlock, ToolUseBlock, ToolResultBlock])).min(1),
]);

const Message = z.object({ role: z.enum(['user', 'assistant']), content: MessageContent }).superRefine((m, ctx) => {
  if (typeof m.content === 'string') return;
  m.content.forEach((b, i) => {
    if (b.type === 'tool_use' && m.role !== 'assistant') {
      ctx.addIssue({ code: 'custom', path: ['content', i], message: 'tool_use blocks belong to assistant turns' });
    }
    if (b.type === 'tool_result' && m.role !== 'user') {
      ctx.addIssue({ code: 'custom', path: ['content', i], message: 'tool_result blocks belong to user turns' });
    }
  });
});

const Tool = z.object({
  // Client tools only: Anthropic's server tools (bash, web search, …) are not relayed.
  type: z.literal('custom').optional(),
  name: ToolName,
  description: ToolDescription,
  input_schema: ToolSchema,
});

const ToolChoiceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('tool'), name: ToolName, disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('none') }),
]);

export const AnthropicMessagesRequest = z
  .object({
    model: ModelSpec.openapi({ example: 'claude-3-5-haiku-latest' }),
    messages: z.array(Message).min(1).max(MAX_MESSAGES),
    system: Content.optional(),
    max_tokens: z.number().int().min(1).max(1_000_000),
    temperature: Temperature,
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    stop_sequences: z.array(z.string()).max(8).optional(),
    stream: z.boolean().optional(),
    metadata: z.object({ user_id: z.string().optional() }).optional(),
    tools: z.array(Tool).max(MAX_TOOLS).optional(),
    tool_choice: ToolChoiceSchema.optional(),
    fallbacks: Fallbacks,
  })
  .superRefine((body, ctx) => {
    const forced = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined;
    checkToolNames(
      (body.tools ?? []).map((t) => t.name),
      forced,
      ctx,
      'tools',
    );
  })
  .openapi('AnthropicMessagesRequest');

export type AnthropicMessagesRequest = z.infer<typeof AnthropicMessagesRequest>;

const text = (c: z.infer<typeof Content>) => (typeof c === 'string' ? c : c.map((b) => b.text).join(''));

// One Anthropic turn as gateway messages: an assistant turn's tool_use blocks become its tool calls; a
// user turn's tool_result blocks become one 'tool' message each (in order), its text a user message.
function turnMessages(m: z.infer<typeof Message>): ChatMessage[] {
  if (typeof m.content === 'string') return [{ role: m.role, content: m.content }];
  const words = m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  if (m.role === 'assistant') {
    const calls: ToolCall[] = m.content.flatMap((b) =>
      b.type === 'tool_use' ? [{ id: b.id, name: b.name, arguments: JSON.stringify(b.input) }] : [],
    );
    return [{ role: 'assistant', content: words, ...(calls.length > 0 ? { toolCalls: calls } : {}) }];
  }
  const results: ChatMessage[] = m.content.flatMap((b) =>
    b.type === 'tool_result'
      ? [
          {
            role: 'tool' as const,
            toolCallId: b.tool_use_id,
            content: b.content === undefined ? '' : text(b.content),
          },
        ]
      : [],
  );
  const hasText = m.content.some((b) => b.type === 'text');
  return [...results, ...(hasText || results.length === 0 ? [{ role: 'user' as const, content: words }] : [])];
}

export function anthropicMessages(body: AnthropicMessagesRequest): ChatMessage[] {
  return [
    ...(body.system !== undefined ? [{ role: 'system' as const, content: text(body.system) }] : []),
    ...body.messages.flatMap(turnMessages),
  ];
}

export function anthropicTools(body: Pick<AnthropicMessagesRequest, 'tools'>): ToolDefinition[] | undefined {
  if (body.tools === undefined || body.tools.length === 0) return undefined;
  return body.tools.map((t) => ({
    name: t.name,
    ...(t.description !== undefined ? { description: t.description } : {}),
    parameters: t.input_schema,
  }));
}

export function anthropicToolChoice(choice: AnthropicMessagesRequest['tool_choice']): ToolChoice | undefined {
  switch (choice?.type) {
    case undefined:
      return undefined;
    case 'auto':
    case 'none':
      return choice.type;
    case 'any':
      return 'required';
    case 'tool':
      return { name: choice.name };
  }
}

// A call's arguments as a tool_use input (an object): arguments another vendor's model wrote that are
// not a JSON object cannot be told in this wire shape, and go as {}.
function inputOf(args: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(args);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
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
    content: z.array(
      z.union([
        z.object({ type: z.literal('text'), text: z.string() }),
        z.object({
          type: z.literal('tool_use'),
          id: z.string(),
          name: z.string(),
          input: z.record(z.string(), z.unknown()),
        }),
      ]),
    ),
    stop_reason: z.string(),
    stop_sequence: z.null(),
    usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }),
  })
  .openapi('AnthropicMessage');

export type AnthropicMessage = z.infer<typeof AnthropicMessage>;

export function anthropicMessageBody(outcome: ChatOutcome, requestId: string): AnthropicMessage {
  const calls = outcome.result.toolCalls ?? [];
  return {
    id: messageId(requestId),
    type: 'message' as const,
    role: 'assistant' as const,
    model: outcome.result.model || outcome.target.model,
    content: [
      // Always one block at least; no empty text block before tool calls.
      ...(outcome.result.text !== '' || calls.length === 0
        ? [{ type: 'text' as const, text: outcome.result.text }]
        : []),
      ...calls.map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: inputOf(c.arguments) })),
    ],
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
  // The open content block: the text block 0 opened at the start, or the tool_use block of a tool call
  // (each tool call index gets its own block, numbered after the blocks before it).
  let open: { block: number; tool: number | undefined } | undefined;
  let blocks = 0;
  const stop = () => {
    if (!open) return '';
    const frame = sseData({ type: 'content_block_stop', index: open.block }, 'content_block_stop');
    open = undefined;
    return frame;
  };
  const jsonDelta = (block: number, partial: string) =>
    sseData(
      { type: 'content_block_delta', index: block, delta: { type: 'input_json_delta', partial_json: partial } },
      'content_block_delta',
    );
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
        open = { block: 0, tool: undefined };
        blocks = 1;
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
        let frames = '';
        if (open?.tool !== undefined || !open) {
          // Text after a tool call: a new text block.
          frames += stop();
          open = { block: blocks++, tool: undefined };
          frames += sseData(
            { type: 'content_block_start', index: open.block, content_block: { type: 'text', text: '' } },
            'content_block_start',
          );
        }
        return (
          frames +
          sseData(
            { type: 'content_block_delta', index: open.block, delta: { type: 'text_delta', text: e.text } },
            'content_block_delta',
          )
        );
      }
      if (e.type === 'tool_call') {
        if (open?.tool === e.index) return e.argumentsDelta === '' ? '' : jsonDelta(open.block, e.argumentsDelta);
        // A new call: the block before it ends, this one opens with the call's id and name.
        let frames = stop();
        open = { block: blocks++, tool: e.index };
        frames += sseData(
          {
            type: 'content_block_start',
            index: open.block,
            content_block: { type: 'tool_use', id: e.id ?? '', name: e.name ?? '', input: {} },
          },
          'content_block_start',
        );
        return frames + (e.argumentsDelta === '' ? '' : jsonDelta(open.block, e.argumentsDelta));
      }
      return (
        stop() +
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
    tools: anthropicTools(body),
    toolChoice: anthropicToolChoice(body.tool_choice),
  }),
  wantsStream: (body) => body.stream === true,
  body: anthropicMessageBody,
  encoder: (_body, requestId) => anthropicStreamEncoder(requestId),
  error: anthropicErrorBody,
  errorSchema: AnthropicError,
};
