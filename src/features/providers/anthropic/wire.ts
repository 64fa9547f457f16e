// Anthropic Messages API shapes: what we send (built from a ChatRequest) and what we accept back.
// The SDK types responses but does not check them; a proxy or a broken upstream can send anything.
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { hasImages, plainText } from '../messages';
import type { ChatMessage, ChatRequest, FinishReason, Usage } from '../types';

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

// Text blocks must carry text; other block kinds (tool_use, thinking, …) are accepted and ignored.
const ContentBlockSchema = z
  .object({ type: z.string(), text: z.unknown().optional() })
  .refine((b) => b.type !== 'text' || typeof b.text === 'string');

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
    .object({ type: z.string(), text: z.unknown().optional() })
    .refine((d) => d.type !== 'text_delta' || typeof d.text === 'string'),
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
  ContentBlockDeltaSchema,
  MessageDeltaSchema,
  MessageStopSchema,
]);
export type WireEvent = z.infer<typeof EventSchema>;

const EventHeadSchema = z.object({ type: z.string() });
const CONSUMED_EVENTS = new Set(['message_start', 'content_block_delta', 'message_delta', 'message_stop']);

// undefined = malformed; 'ignore' = a well-formed event we have no use for (content_block_start/stop,
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

type Block = Anthropic.TextBlockParam | Anthropic.ImageBlockParam;
type Turn = { role: 'user' | 'assistant'; content: string | Block[] };

// A user message with images becomes Anthropic blocks, each image a base64 `source`; empty text blocks
// (which Anthropic rejects) are left out. Anything else is plain text, exactly as before.
function turnContent(m: ChatMessage, i: number): string | Block[] {
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
// open with the user: consecutive same-role messages are merged, a conversation that opens with the
// assistant gets a stand-in user turn, and empty messages (which Anthropic rejects) are dropped.
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
    const last = turns.at(-1);
    if (last?.role !== m.role) turns.push({ role: m.role, content });
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

export function requestParams(request: ChatRequest): RequestBody {
  const { system, turns } = toAnthropicConversation(request.messages);
  return {
    model: request.model,
    max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: turns,
    ...(system !== undefined ? { system } : {}),
    ...(request.stop !== undefined && request.stop.length > 0 ? { stop_sequences: request.stop } : {}),
  };
}
