// Bedrock's Converse wire format: the request body we send, and checks on every answer and event.
import { z } from 'zod';
import type { ApiError } from '../../../lib/errors';
import { providerFailure } from '../errors';
import { plainText } from '../messages';
import { structuredAnswer, structuredAnswerOfText, structuredTool, type StructuredTool } from '../tools';
import type { ChatRequest, FinishReason, ProviderId, StreamEvent, ToolCall, ToolChoice, Usage } from '../types';
import type { EventStreamEvent } from './event-stream';

export const BEDROCK: ProviderId = 'bedrock';

interface TextBlock {
  text: string;
}
interface ToolUseBlock {
  toolUse: { toolUseId: string; name: string; input: Record<string, unknown> };
}
interface ToolResultBlock {
  toolResult: { toolUseId: string; content: TextBlock[] };
}
type Block = TextBlock | ToolUseBlock | ToolResultBlock;
interface ConverseMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// A toolUse input must be an object: broken arguments sent back in the history go as {}.
function inputOf(args: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(args);
    return isRecord(v) ? v : {};
  } catch {
    return {};
  }
}

function toolChoice(choice: ToolChoice): Record<string, unknown> | undefined {
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  // Converse has no 'none': the tools stay defined (the history may use them), the model picks.
  if (choice === 'none') return undefined;
  return { tool: { name: choice.name } };
}

// toolConfig: the caller's tools and structured output as a forced tool (forced by name when alone,
// 'any' beside the caller's tools). Converse needs the tools defined whenever the history holds tool blocks.
function toolConfig(request: ChatRequest, structured: StructuredTool | undefined, history: boolean) {
  const own = request.toolChoice === 'none' && structured ? [] : (request.tools ?? []);
  const tools = [...own, ...(structured ? [structured.tool] : [])];
  if (tools.length === 0 || (request.toolChoice === 'none' && !structured && !history)) return undefined;
  const choice = structured
    ? own.length > 0
      ? { any: {} }
      : { tool: { name: structured.tool.name } }
    : request.toolChoice !== undefined
      ? toolChoice(request.toolChoice)
      : undefined;
  return {
    tools: tools.map((t) => ({
      toolSpec: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        inputSchema: { json: t.parameters },
      },
    })),
    ...(choice !== undefined ? { toolChoice: choice } : {}),
  };
}

// Bedrock wants a conversation that starts with the user and alternates; this turn opens one that
// would otherwise start with the assistant (or hold only system text).
export const OPENING_USER_TURN = 'Please continue.';

export function converseBody(request: ChatRequest) {
  const system: TextBlock[] = [];
  const messages: ConverseMessage[] = [];
  let history = false;
  // No catalogue model on Bedrock is marked 'vision': a message with an image is refused (400).
  for (const [i, m] of request.messages.entries()) {
    const text = plainText(m, i, BEDROCK);
    const blocks: Block[] = [];
    if (m.role === 'tool') {
      // Tool results go in a user turn; consecutive ones merge into one, as Converse requires.
      blocks.push({ toolResult: { toolUseId: m.toolCallId ?? '', content: [{ text }] } });
      history = true;
    } else {
      // Bedrock rejects blank text blocks with a ValidationException.
      if (text.trim() !== '') blocks.push({ text });
      if (m.role === 'assistant') {
        for (const c of m.toolCalls ?? []) {
          blocks.push({ toolUse: { toolUseId: c.id, name: c.name, input: inputOf(c.arguments) } });
          history = true;
        }
      }
    }
    if (blocks.length === 0) continue;
    if (m.role === 'system') {
      system.push({ text });
      continue;
    }
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const last = messages.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  }
  if (messages[0]?.role !== 'user') messages.unshift({ role: 'user', content: [{ text: OPENING_USER_TURN }] });
  const inferenceConfig = {
    ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { topP: request.topP } : {}),
    ...(request.stop !== undefined && request.stop.length > 0 ? { stopSequences: request.stop } : {}),
  };
  const tools = toolConfig(request, structuredOf(request), history);
  return {
    messages,
    ...(system.length > 0 ? { system } : {}),
    ...(Object.keys(inferenceConfig).length > 0 ? { inferenceConfig } : {}),
    ...(tools !== undefined ? { toolConfig: tools } : {}),
  };
}

export function structuredOf(request: ChatRequest): StructuredTool | undefined {
  return request.responseFormat ? structuredTool(request.responseFormat) : undefined;
}

const UsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
});
// Text and toolUse blocks are read; others (reasoningContent, …) are skipped.
const ToolUseSchema = z.object({
  toolUseId: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
});
const ContentBlockSchema = z.object({ text: z.string().optional(), toolUse: ToolUseSchema.optional() });

export const ConverseResponseSchema = z.object({
  output: z.object({ message: z.object({ role: z.literal('assistant'), content: z.array(ContentBlockSchema) }) }),
  stopReason: z.string(),
  usage: UsageSchema,
});

// An answer's text and tool calls; the structured-output tool's input becomes the text.
export function answerOf(
  content: z.infer<typeof ContentBlockSchema>[],
  structured: StructuredTool | undefined,
): { text: string; toolCalls: ToolCall[] } {
  let text = content.map((b) => b.text ?? '').join('');
  const toolCalls: ToolCall[] = [];
  let answered = false;
  for (const b of content) {
    if (!b.toolUse) continue;
    if (structured && b.toolUse.name === structured.tool.name && !answered) {
      text = structuredAnswer(b.toolUse.input, structured.wrapped);
      answered = true;
    } else {
      toolCalls.push({ id: b.toolUse.toolUseId, name: b.toolUse.name, arguments: JSON.stringify(b.toolUse.input) });
    }
  }
  return { text, toolCalls };
}

const MessageStartSchema = z.object({ role: z.literal('assistant') });
const ContentBlockDeltaSchema = z.object({
  contentBlockIndex: z.number().int().nonnegative(),
  delta: z.object({ text: z.string().optional(), toolUse: z.object({ input: z.string() }).optional() }),
});
const ContentBlockStartSchema = z.object({
  contentBlockIndex: z.number().int().nonnegative(),
  start: z.object({ toolUse: z.object({ toolUseId: z.string().min(1), name: z.string().min(1) }).optional() }),
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
  // Content block index -> tool call index (toolUse blocks, in order).
  private readonly toolIndex = new Map<number, number>();
  private structuredBlock: number | undefined;
  private structuredJson = '';

  constructor(
    private readonly model: string,
    private readonly structured?: StructuredTool,
  ) {}

  // The events a stream event stands for (text deltas and tool call pieces), if any.
  events(event: EventStreamEvent): StreamEvent[] {
    if (event.messageType === 'event' && event.eventType === 'contentBlockStart') {
      const { contentBlockIndex, start } = parse(ContentBlockStartSchema, event.payload);
      if (!start.toolUse) return [];
      if (this.structured && start.toolUse.name === this.structured.tool.name && this.structuredBlock === undefined) {
        this.structuredBlock = contentBlockIndex;
        return [];
      }
      const index = this.toolIndex.size;
      this.toolIndex.set(contentBlockIndex, index);
      return [{ type: 'tool_call', index, id: start.toolUse.toolUseId, name: start.toolUse.name, argumentsDelta: '' }];
    }
    if (event.messageType === 'event' && event.eventType === 'contentBlockDelta') {
      const { contentBlockIndex, delta } = parse(ContentBlockDeltaSchema, event.payload);
      if (delta.toolUse) {
        if (contentBlockIndex === this.structuredBlock) {
          this.structuredJson += delta.toolUse.input;
          return [];
        }
        const index = this.toolIndex.get(contentBlockIndex);
        if (index === undefined) throw malformed();
        return delta.toolUse.input === '' ? [] : [{ type: 'tool_call', index, argumentsDelta: delta.toolUse.input }];
      }
    }
    if (event.messageType === 'event' && event.eventType === 'messageStop' && this.structuredBlock !== undefined) {
      const text = this.apply(event);
      const answer = structuredAnswerOfText(this.structuredJson, this.structured?.wrapped ?? false);
      return [...(text ? [{ type: 'delta' as const, text }] : []), { type: 'delta', text: answer }];
    }
    const text = this.apply(event);
    return text === undefined ? [] : [{ type: 'delta', text }];
  }

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
    let reason = finishReason(this.stopReason);
    if (this.toolIndex.size > 0) reason = 'tool_calls';
    else if (reason === 'tool_calls') reason = 'stop';
    return { type: 'done', model: this.model, finishReason: reason, usage: this.usage };
  }
}
