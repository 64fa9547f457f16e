// Anthropic Messages API shapes: what we send (built from a ChatRequest) and what we accept back.
// The SDK types responses but does not check them; a proxy or a broken upstream can send anything.
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { hasImages, plainText } from '../messages';
import { structuredTool, type StructuredTool } from '../tools';
import type { ChatMessage, ChatRequest, FinishReason, ToolChoice, Usage } from '../types';

// Anthropic requires max_tokens on every request.
export const DEFAULT_MAX_TOKENS = 1024;

// Stands in for the user turn Anthropic expects before a conversation that opens with the assistant.
export const OPENING_USER_TURN = '(conversation continues)';

const count = z.number().int().nonnegative();
const maybeCount = count.nullish();

const UsageSchema = z.object({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: maybeCount,
  cache_read_input_tokens: maybeCount,
});

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// Text blocks must carry text, tool_use blocks an id, a name and an object input; other block kinds
// (thinking, …) are accepted and ignored.
const ContentBlockSchema = z
  .object({
    type: z.string(),
    text: z.unknown().optional(),
    id: z.unknown().optional(),
    name: z.unknown().optional(),
    input: z.unknown().optional(),
  })
  .refine((b) => b.type !== 'text' || typeof b.text === 'string')
  .refine(
    (b) =>
      b.type !== 'tool_use' ||
      (typeof b.id === 'string' && b.id !== '' && typeof b.name === 'string' && b.name !== '' && isRecord(b.input)),
  );

export const MessageSchema = z.object({
  type: z.literal('message'),
  model: z.string(),
  content: z.array(ContentBlockSchema),
  stop_reason: z.string().nullable(),
  usage: UsageSchema,
});

const MessageStartSchema = z.object({
  type: z.literal('message_start'),
  message: z.object({ model: z.string(), usage: UsageSchema.partial({ output_tokens: true }) }),
});
const ContentBlockDeltaSchema = z.object({
  type: z.literal('content_block_delta'),
  index: count,
  delta: z
    .object({ type: z.string(), text: z.unknown().optional(), partial_json: z.unknown().optional() })
    .refine((d) => d.type !== 'text_delta' || typeof d.text === 'string')
    .refine((d) => d.type !== 'input_json_delta' || typeof d.partial_json === 'string'),
});
// A tool_use block opens with its id and name (its input arrives as input_json_delta pieces).
const ContentBlockStartSchema = z.object({
  type: z.literal('content_block_start'),
  index: count,
  content_block: z
    .object({ type: z.string(), id: z.unknown().optional(), name: z.unknown().optional() })
    .refine(
      (b) =>
        b.type !== 'tool_use' ||
        (typeof b.id === 'string' && b.id !== '' && typeof b.name === 'string' && b.name !== ''),
    ),
});
const MessageDeltaSchema = z.object({
  type: z.literal('message_delta'),
  delta: z.object({ stop_reason: z.string().nullable() }),
  usage: z.object({
    output_tokens: count,
    input_tokens: maybeCount,
    cache_creation_input_tokens: maybeCount,
    cache_read_input_tokens: maybeCount,
  }),
});
const MessageStopSchema = z.object({ type: z.literal('message_stop') });

const EventSchema = z.discriminatedUnion('type', [
  MessageStartSchema,
  ContentBlockStartSchema,
  ContentBlockDeltaSchema,
  MessageDeltaSchema,
  MessageStopSchema,
]);
export type WireEvent = z.infer<typeof EventSchema>;

const EventHeadSchema = z.object({ type: z.string() });
const CONSUMED_EVENTS = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'message_delta',
  'message_stop',
]);

// undefined = malformed; 'ignore' = a well-formed event we have no use for (content_block_stop,
// ping, and event types added after this was written, which Anthropic says clients must tolerate).
// `error` events never get here: the SDK turns them into an APIError.
export function parseEvent(raw: unknown): WireEvent | 'ignore' | undefined {
  const head = EventHeadSchema.safeParse(raw);
  if (!head.success) return undefined;
  if (!CONSUMED_EVENTS.has(head.data.type)) return 'ignore';
  const parsed = EventSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

export function textOf(content: z.infer<typeof MessageSchema>['content']): string {
  return content.map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('');
}

export function finishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, pause_turn, and anything newer.
      return 'stop';
  }
}

// Anthropic counts cached prompt tokens apart from input_tokens; the prompt is all three.
export function promptTokensOf(u: {
  input_tokens?: number | null | undefined;
  cache_creation_input_tokens?: number | null | undefined;
  cache_read_input_tokens?: number | null | undefined;
}): number {
  return (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

// The tool_use blocks of an answer, as {id, name, input}.
export function toolUsesOf(
  content: z.infer<typeof MessageSchema>['content'],
): { id: string; name: string; input: Record<string, unknown> }[] {
  return content.flatMap((b) =>
    b.type === 'tool_use' && typeof b.id === 'string' && typeof b.name === 'string' && isRecord(b.input)
      ? [{ id: b.id, name: b.name, input: b.input }]
      : [],
  );
}

type Block =
  Anthropic.TextBlockParam | Anthropic.ImageBlockParam | Anthropic.ToolUseBlockParam | Anthropic.ToolResultBlockParam;
type Turn = { role: 'user' | 'assistant'; content: string | Block[] };

// A tool call's input must be an object; arguments that are not one (the model's own broken JSON, sent
// back in the history) go as an empty object rather than failing the whole call.
function inputOf(args: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(args);
    return isRecord(v) ? v : {};
  } catch {
    return {};
  }
}

// A user message with images becomes Anthropic blocks, each image a base64 `source`; empty text blocks
// (which Anthropic rejects) are left out. Anything else is plain text, exactly as before.
function turnContent(m: ChatMessage, i: number): string | Block[] {
  if (m.role === 'tool') {
    return [{ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: plainText(m, i, 'anthropic') }];
  }
  if (m.role === 'assistant' && m.toolCalls !== undefined && m.toolCalls.length > 0) {
    const text = plainText(m, i, 'anthropic').trimEnd();
    return [
      ...(text.trim() === '' ? [] : [{ type: 'text' as const, text }]),
      ...m.toolCalls.map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: inputOf(c.arguments) })),
    ];
  }
  // plainText refuses images outside a user message.
  if (typeof m.content === 'string' || m.role !== 'user' || !hasImages([m])) return plainText(m, i, 'anthropic');
  return m.content.flatMap((p): Block[] => {
    if (p.type === 'image')
      return [{ type: 'image', source: { type: 'base64', media_type: p.mediaType, data: p.data } }];
    return p.text.trim() === '' ? [] : [{ type: 'text', text: p.text }];
  });
}

const blocksOf = (content: string | Block[]): Block[] =>
  typeof content === 'string' ? [{ type: 'text', text: content }] : content;

// System messages become the top-level `system` prompt. The rest must alternate user/assistant and
// open with the user: consecutive same-role messages are merged (so consecutive tool results become one
// user turn, as Anthropic requires), a conversation that opens with the assistant gets a stand-in user
// turn, and empty messages (which Anthropic rejects) are dropped.
export function toAnthropicConversation(messages: ChatMessage[]): { system: string | undefined; turns: Turn[] } {
  const system = messages
    .map((m, i) => (m.role === 'system' ? plainText(m, i, 'anthropic') : ''))
    .filter((text) => text.trim() !== '')
    .join('\n\n');
  const turns: Turn[] = [];
  for (const [i, m] of messages.entries()) {
    if (m.role === 'system') continue;
    const content = turnContent(m, i);
    if (typeof content === 'string' ? content.trim() === '' : content.length === 0) continue;
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const last = turns.at(-1);
    if (last?.role !== role) turns.push({ role, content });
    else if (typeof last.content === 'string' && typeof content === 'string') last.content += `\n\n${content}`;
    else last.content = [...blocksOf(last.content), ...blocksOf(content)];
  }
  if (turns[0]?.role === 'assistant') turns.unshift({ role: 'user', content: OPENING_USER_TURN });
  // A final assistant turn is a prefill, which Anthropic rejects if it ends in whitespace.
  const last = turns.at(-1);
  if (last?.role === 'assistant' && typeof last.content === 'string') last.content = last.content.trimEnd();
  return { system: system === '' ? undefined : system, turns };
}

// temperature and top_p are not sent: the SDK pins API version 2026-10-21, whose Messages API has no
// sampling parameters (the SDK's MessageCreateParams no longer declares them).
export type RequestBody = Omit<Anthropic.MessageCreateParamsNonStreaming, 'stream'>;

function toolChoice(choice: ToolChoice): Anthropic.ToolChoice {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  return { type: 'tool', name: choice.name };
}

// Tools, and structured output as a forced tool: alone it is forced by name; beside the caller's own
// tools the model must call one of them or it ('any').
function toolParams(request: ChatRequest, structured: StructuredTool | undefined) {
  const own = request.toolChoice === 'none' && structured ? [] : (request.tools ?? []);
  const tools = [...own, ...(structured ? [structured.tool] : [])].map((t): Anthropic.Tool => ({
    name: t.name,
    ...(t.description !== undefined ? { description: t.description } : {}),
    input_schema: t.parameters as Anthropic.Tool.InputSchema,
  }));
  if (tools.length === 0) return {};
  const choice: Anthropic.ToolChoice | undefined = structured
    ? own.length > 0
      ? { type: 'any' }
      : { type: 'tool', name: structured.tool.name }
    : request.toolChoice !== undefined
      ? toolChoice(request.toolChoice)
      : undefined;
  return { tools, ...(choice !== undefined ? { tool_choice: choice } : {}) };
}

export interface AnthropicCall {
  body: RequestBody;
  // Set when structured output goes as a forced tool: its input is the answer's text.
  structured: StructuredTool | undefined;
}

export function anthropicCall(request: ChatRequest): AnthropicCall {
  const { system, turns } = toAnthropicConversation(request.messages);
  const structured = request.responseFormat ? structuredTool(request.responseFormat) : undefined;
  return {
    body: {
      model: request.model,
      max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
      messages: turns,
      ...(system !== undefined ? { system } : {}),
      ...(request.stop !== undefined && request.stop.length > 0 ? { stop_sequences: request.stop } : {}),
      ...toolParams(request, structured),
    },
    structured,
  };
}

export function requestParams(request: ChatRequest): RequestBody {
  return anthropicCall(request).body;
}
