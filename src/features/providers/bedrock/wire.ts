// Bedrock's Converse wire format: the request body we send, and checks on every answer and event.
import { z } from 'zod';
import type { ApiError } from '../../../lib/errors';
import { providerFailure } from '../errors';
import { textOnly } from '../messages';
import type { ChatRequest, FinishReason, ProviderId, StreamEvent, Usage } from '../types';
import type { EventStreamEvent } from './event-stream';

export const BEDROCK: ProviderId = 'bedrock';

interface TextBlock {
  text: string;
}
interface ConverseMessage {
  role: 'user' | 'assistant';
  content: TextBlock[];
}

// Bedrock wants a conversation that starts with the user and alternates; this turn opens one that
// would otherwise start with the assistant (or hold only system text).
export const OPENING_USER_TURN = 'Please continue.';

export function converseBody(request: ChatRequest) {
  const system: TextBlock[] = [];
  const messages: ConverseMessage[] = [];
  // No catalogue model on Bedrock is marked 'vision': a message with an image is refused (400).
  for (const m of textOnly(request.messages, BEDROCK)) {
    // Bedrock rejects blank text blocks with a ValidationException.
    if (m.content.trim() === '') continue;
    if (m.role === 'system') {
      system.push({ text: m.content });
      continue;
    }
    const last = messages.at(-1);
    if (last?.role === m.role) last.content.push({ text: m.content });
    else messages.push({ role: m.role, content: [{ text: m.content }] });
  }
  if (messages[0]?.role !== 'user') messages.unshift({ role: 'user', content: [{ text: OPENING_USER_TURN }] });
  const inferenceConfig = {
    ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { topP: request.topP } : {}),
    ...(request.stop !== undefined && request.stop.length > 0 ? { stopSequences: request.stop } : {}),
  };
  return {
    messages,
    ...(system.length > 0 ? { system } : {}),
    ...(Object.keys(inferenceConfig).length > 0 ? { inferenceConfig } : {}),
  };
}

const UsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
});
// Blocks other than text (toolUse, reasoningContent, …) carry no `text` and are skipped.
const ContentBlockSchema = z.object({ text: z.string().optional() });

export const ConverseResponseSchema = z.object({
  output: z.object({ message: z.object({ role: z.literal('assistant'), content: z.array(ContentBlockSchema) }) }),
  stopReason: z.string(),
  usage: UsageSchema,
});

const MessageStartSchema = z.object({ role: z.literal('assistant') });
const ContentBlockDeltaSchema = z.object({
  contentBlockIndex: z.number().int().nonnegative(),
  delta: ContentBlockSchema,
});
const ContentBlockStopSchema = z.object({ contentBlockIndex: z.number().int().nonnegative() });
const MessageStopSchema = z.object({ stopReason: z.string() });
const MetadataSchema = z.object({ usage: UsageSchema });

export function finishReason(stopReason: string): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default: // end_turn, stop_sequence
      return 'stop';
  }
}

export function usageOf(raw: z.infer<typeof UsageSchema>): Usage {
  return { promptTokens: raw.inputTokens, completionTokens: raw.outputTokens, totalTokens: raw.totalTokens };
}

// The HTTP status AWS documents for each exception, so retry decisions match the HTTP path; stream
// errors AWS says to retry (modelStreamErrorException, modelTimeoutException) carry none: retryable.
const EXCEPTION_STATUS: Record<string, number> = {
  validationexception: 400,
  accessdeniedexception: 403,
  resourcenotfoundexception: 404,
  servicequotaexceededexception: 400,
  throttlingexception: 429,
  internalserverexception: 500,
  serviceunavailableexception: 503,
};

// Vendor error names are echoed into our records only when they look like one.
export function errorName(raw: string | null | undefined): string | undefined {
  const name = raw?.split(':')[0]?.trim();
  return name && /^[A-Za-z]{1,64}$/.test(name) ? name : undefined;
}

export function exceptionStatus(name: string | undefined): number | undefined {
  return name === undefined ? undefined : EXCEPTION_STATUS[name.toLowerCase()];
}

function malformed(): ApiError {
  return providerFailure(BEDROCK, 'malformed-event');
}

function parse<T>(schema: z.ZodType<T>, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw malformed();
  return parsed.data;
}

// Folds ConverseStream events into deltas and, once messageStop and metadata have both arrived, the
// final event. A stream that ends before both is a failure, never a silent short answer.
export class ConverseStreamState {
  private stopReason: string | undefined;
  private usage: Usage | undefined;

  constructor(private readonly model: string) {}

  // Returns the text to emit, if the event carries any.
  apply(event: EventStreamEvent): string | undefined {
    if (event.messageType === 'exception' || event.messageType === 'error') {
      const name = errorName(event.exceptionType);
      throw providerFailure(BEDROCK, `stream-exception:${name ?? 'unknown'}`, exceptionStatus(name));
    }
    if (event.messageType !== 'event') throw malformed();
    switch (event.eventType) {
      case 'messageStart':
        parse(MessageStartSchema, event.payload);
        return undefined;
      case 'contentBlockDelta': {
        const text = parse(ContentBlockDeltaSchema, event.payload).delta.text;
        return text === undefined || text === '' ? undefined : text;
      }
      case 'contentBlockStop':
        parse(ContentBlockStopSchema, event.payload);
        return undefined;
      case 'messageStop':
        this.stopReason = parse(MessageStopSchema, event.payload).stopReason;
        return undefined;
      case 'metadata':
        this.usage = usageOf(parse(MetadataSchema, event.payload).usage);
        return undefined;
      default: // contentBlockStart (tool use) and events added later carry no text
        return undefined;
    }
  }

  done(): StreamEvent {
    if (this.stopReason === undefined || this.usage === undefined) throw providerFailure(BEDROCK, 'incomplete-stream');
    return { type: 'done', model: this.model, finishReason: finishReason(this.stopReason), usage: this.usage };
  }
}
