import { z } from '@hono/zod-openapi';
import type { Dialect } from '../dialect';
import type { ChatOutcome, GatewayStreamEvent } from '../pipeline';
import type { ApiError, ErrorCode } from '../../../lib/errors';
import { sseData, type SseEncoder } from '../../../lib/sse';
import type { ChatMessage, FinishReason, ResponseFormat, ToolChoice, ToolDefinition } from '../../providers';
import {
  checkToolNames,
  Fallbacks,
  MAX_MESSAGES,
  MAX_TOOLS,
  MaxTokens,
  messageWithDetails,
  ModelSpec,
  OutputSchema,
  Temperature,
  ToolDescription,
  ToolName,
  ToolSchema,
  unixSeconds,
  usageBody,
  UsageSchema,
} from './shared';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(TextPart)]);

const WireToolCall = z.object({
  id: z.string().min(1).max(256),
  type: z.literal('function'),
  function: z.object({ name: ToolName, arguments: z.string().max(1_000_000) }),
});

const Message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    // null (or absent) only for an assistant turn that made tool calls.
    content: Content.nullish(),
    name: z.string().optional(),
    tool_calls: z.array(WireToolCall).max(MAX_TOOLS).optional(),
    tool_call_id: z.string().min(1).max(256).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.role === 'tool' && m.tool_call_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tool_call_id'], message: "is required for role 'tool'" });
    }
    if (m.tool_calls !== undefined && m.role !== 'assistant') {
      ctx.addIssue({ code: 'custom', path: ['tool_calls'], message: "only an 'assistant' message has tool calls" });
    }
    if ((m.content === undefined || m.content === null) && !(m.role === 'assistant' && m.tool_calls?.length)) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'is required' });
    }
  });

const Tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: ToolName,
    description: ToolDescription,
    parameters: ToolSchema.optional(),
    strict: z.boolean().nullish(),
  }),
});

const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: ToolName }) }),
]);

const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: ToolName,
      description: z.string().max(8192).optional(),
      schema: OutputSchema.optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

export const OpenAIChatRequest = z
  .object({
    model: ModelSpec.openapi({ example: 'gpt-4o-mini' }),
    messages: z.array(Message).min(1).max(MAX_MESSAGES),
    temperature: Temperature,
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: MaxTokens,
    max_completion_tokens: MaxTokens,
    stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
    n: z.literal(1).optional().openapi({ description: 'Only 1 is supported' }),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
    user: z.string().optional(),
    tools: z.array(Tool).max(MAX_TOOLS).optional(),
    tool_choice: ToolChoiceSchema.optional(),
    // Accepted for the SDKs' sake; whether calls come in parallel is the model's affair.
    parallel_tool_calls: z.boolean().optional(),
    response_format: ResponseFormatSchema.optional(),
    // The legacy function-calling fields: use tools.
    functions: z.array(z.unknown()).max(0, 'Function calling is not supported: use tools').optional(),
    fallbacks: Fallbacks,
  })
  .superRefine((body, ctx) => {
    const forced = typeof body.tool_choice === 'object' ? body.tool_choice.function.name : undefined;
    checkToolNames(
      (body.tools ?? []).map((t) => t.function.name),
      forced,
      ctx,
      'tools',
    );
  })
  .openapi('OpenAIChatCompletionRequest');

export type OpenAIChatRequest = z.infer<typeof OpenAIChatRequest>;

export function openaiMessages(body: OpenAIChatRequest): ChatMessage[] {
  return body.messages.map((m) => {
    const content =
      m.content === undefined || m.content === null
        ? ''
        : typeof m.content === 'string'
          ? m.content
          : m.content.map((p) => p.text).join('');
    const message: ChatMessage = { role: m.role === 'developer' ? 'system' : m.role, content };
    if (m.role === 'assistant' && m.tool_calls?.length) {
      message.toolCalls = m.tool_calls.map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      }));
    }
    if (m.role === 'tool') message.toolCallId = m.tool_call_id;
    return message;
  });
}

export function openaiTools(body: Pick<OpenAIChatRequest, 'tools'>): ToolDefinition[] | undefined {
  if (body.tools === undefined || body.tools.length === 0) return undefined;
  return body.tools.map((t) => ({
    name: t.function.name,
    ...(t.function.description !== undefined ? { description: t.function.description } : {}),
    parameters: t.function.parameters ?? { type: 'object', properties: {} },
  }));
}

export function openaiToolChoice(choice: OpenAIChatRequest['tool_choice']): ToolChoice | undefined {
  if (choice === undefined) return undefined;
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

export function openaiResponseFormat(format: OpenAIChatRequest['response_format']): ResponseFormat | undefined {
  if (format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  const { name, schema, strict } = format.json_schema;
  return {
    type: 'json_schema',
    name,
    schema: schema ?? { type: 'object' },
    ...(strict !== undefined && strict !== null ? { strict } : {}),
  };
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
        message: z.object({
          role: z.literal('assistant'),
          // null when the answer is tool calls only, as OpenAI sends it.
          content: z.string().nullable(),
          refusal: z.null(),
          tool_calls: z.array(WireToolCall).optional(),
        }),
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
  const calls = (outcome.result.toolCalls ?? []).map((c) => ({
    id: c.id,
    type: 'function' as const,
    function: { name: c.name, arguments: c.arguments },
  }));
  return {
    id: completionId(requestId),
    object: 'chat.completion' as const,
    created: unixSeconds(),
    model: outcome.result.model || outcome.target.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: calls.length > 0 && outcome.result.text === '' ? null : outcome.result.text,
          refusal: null,
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
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
      if (e.type === 'tool_call') {
        // The first piece of a call carries its id, type and name, as OpenAI streams it.
        const piece =
          e.id !== undefined
            ? {
                index: e.index,
                id: e.id,
                type: 'function',
                function: { name: e.name ?? '', arguments: e.argumentsDelta },
              }
            : { index: e.index, function: { arguments: e.argumentsDelta } };
        return sseData(chunk({ tool_calls: [piece] }, null));
      }
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
    tools: openaiTools(body),
    toolChoice: openaiToolChoice(body.tool_choice),
    responseFormat: openaiResponseFormat(body.response_format),
  }),
  wantsStream: (body) => body.stream === true,
  body: openaiCompletionBody,
  encoder: (body, requestId) => openaiStreamEncoder(requestId, body.stream_options?.include_usage === true),
  error: openaiErrorBody,
  errorSchema: OpenAIError,
};
