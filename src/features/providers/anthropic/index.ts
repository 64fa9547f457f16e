import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import type { Config } from '../../../config';
import { ApiError } from '../../../lib/errors';
import { estimateTokens } from '../../../lib/tokens';
import { parseRetryAfter, providerFailure, providerTimeout } from '../errors';
import { upstreamFetch } from '../http';
import { checkedToolCalls, structuredAnswer, structuredAnswerOfText } from '../tools';
import type { ChatRequest, ChatResult, FinishReason, Provider, ProviderContext, StreamEvent, ToolCall } from '../types';
import {
  anthropicCall,
  finishReason,
  MessageSchema,
  parseEvent,
  promptTokensOf,
  textOf,
  toolUsesOf,
  usageOf,
  type AnthropicCall,
} from './wire';

const ID = 'anthropic';
export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_DEFAULT_MODEL = 'claude-3-5-haiku-latest';

// The HTTP status Anthropic gives each error type; an `error` event inside a 200 stream has only the type.
const STATUS_OF_ERROR_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

const clients = new WeakMap<Config, Anthropic>();
function client(config: Config): Anthropic {
  let c = clients.get(config);
  if (!c) {
    c = new Anthropic({
      // Never null: without a credential the SDK would go looking for one in env vars and config files.
      apiKey: config.ANTHROPIC_API_KEY ?? 'none',
      baseURL: config.ANTHROPIC_BASE_URL ?? ANTHROPIC_DEFAULT_BASE_URL,
      timeout: config.PROVIDER_TIMEOUT_MS,
      // The gateway does the retries.
      maxRetries: 0,
      fetch: upstreamFetch(ID),
      // The SDK logs unparseable stream data verbatim at level error; upstream bodies stay out of our logs.
      logLevel: 'off',
      // No spans and no traceparent header sent upstream.
      openTelemetry: false,
    });
    clients.set(config, c);
  }
  return c;
}

function mapError(err: unknown, signal: AbortSignal, fallback: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof APIConnectionTimeoutError) return providerTimeout(ID);
  if (err instanceof APIUserAbortError || signal.aborted) return providerFailure(ID, 'aborted');
  if (err instanceof APIError) {
    // The SDK wraps our fetch's own ApiError (a refused redirect) as a connection error.
    if (err.cause instanceof ApiError) return err.cause;
    if (err instanceof APIConnectionError) return providerFailure(ID, 'connection');
    // An `error` event in a stream that had answered 200: only the error type tells what went wrong.
    if (err.status === undefined) {
      return providerFailure(ID, 'stream-error', err.type === null ? undefined : STATUS_OF_ERROR_TYPE[err.type]);
    }
    const retryAfter = err.headers instanceof Headers ? parseRetryAfter(err.headers.get('retry-after')) : undefined;
    return providerFailure(ID, 'status', err.status, retryAfter);
  }
  return providerFailure(ID, err instanceof SyntaxError ? 'malformed-response' : fallback);
}

function params(request: ChatRequest): AnthropicCall {
  const p = anthropicCall(request);
  if (p.body.messages.length === 0) {
    throw new ApiError('VALIDATION_ERROR', undefined, {
      details: [{ field: 'messages', message: 'must contain a user or assistant message with content' }],
    });
  }
  return p;
}

export const anthropicProvider: Provider = {
  id: ID,
  defaultModel: () => ANTHROPIC_DEFAULT_MODEL,
  isConfigured: (config) => config.ANTHROPIC_API_KEY !== undefined,

  async complete(request: ChatRequest, ctx: ProviderContext): Promise<ChatResult> {
    const { body, structured } = params(request);
    let raw: unknown;
    try {
      raw = await client(ctx.config).messages.create({ ...body, stream: false }, { signal: ctx.signal });
    } catch (err) {
      throw mapError(err, ctx.signal, 'unexpected');
    }
    const parsed = MessageSchema.safeParse(raw);
    if (!parsed.success) throw providerFailure(ID, 'malformed-response');
    const { usage } = parsed.data;
    let text = textOf(parsed.data.content);
    const toolCalls: ToolCall[] = [];
    let answered = false;
    for (const use of toolUsesOf(parsed.data.content)) {
      // The forced structured-output tool's input is the answer, not a call for the client to run.
      if (structured && use.name === structured.tool.name && !answered) {
        text = structuredAnswer(use.input, structured.wrapped);
        answered = true;
      } else toolCalls.push({ id: use.id, name: use.name, arguments: JSON.stringify(use.input) });
    }
    checkedToolCalls(ID, toolCalls);
    const reason = finishReason(parsed.data.stop_reason);
    return {
      text,
      model: parsed.data.model,
      finishReason: toolCalls.length > 0 ? 'tool_calls' : reason === 'tool_calls' ? 'stop' : reason,
      usage: usageOf(promptTokensOf(usage), usage.output_tokens),
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    };
  },

  // Deltas are yielded as they arrive; the closing `done` is built from message_start (model, prompt
  // tokens) and message_delta (stop reason, output tokens). A stream that ends before message_stop
  // fails: it must never end silently.
  async *stream(request: ChatRequest, ctx: ProviderContext): AsyncIterable<StreamEvent> {
    const { body, structured } = params(request);
    let model = request.model;
    // Anthropic block index -> the tool call index the stream gives it (its tool_use blocks, in order).
    const toolIndex = new Map<number, number>();
    // The structured-output tool's block, whose input is gathered and given as the answer's text.
    let structuredBlock: number | undefined;
    let structuredJson = '';
    let promptTokens: number | undefined;
    let completionTokens: number | undefined;
    let reason: FinishReason = 'stop';
    let text = '';
    let started = false;
    let stopped = false;
    let phase = 'unexpected';
    try {
      const events = await client(ctx.config).messages.create({ ...body, stream: true }, { signal: ctx.signal });
      phase = 'stream-interrupted';
      for await (const raw of events) {
        const event = parseEvent(raw);
        if (event === undefined) throw providerFailure(ID, 'malformed-chunk');
        if (event === 'ignore') continue;
        if (event.type === 'message_start') {
          started = true;
          model = event.message.model;
          promptTokens = promptTokensOf(event.message.usage);
          continue;
        }
        // Anything before message_start means we are not reading a Messages stream.
        if (!started) throw providerFailure(ID, 'malformed-chunk');
        if (event.type === 'content_block_start') {
          const block = event.content_block;
          if (block.type !== 'tool_use' || typeof block.id !== 'string' || typeof block.name !== 'string') continue;
          if (structured && block.name === structured.tool.name && structuredBlock === undefined) {
            structuredBlock = event.index;
            continue;
          }
          const index = toolIndex.size;
          toolIndex.set(event.index, index);
          yield { type: 'tool_call', index, id: block.id, name: block.name, argumentsDelta: '' };
        } else if (event.type === 'content_block_delta') {
          if (event.delta.type === 'text_delta' && typeof event.delta.text === 'string' && event.delta.text !== '') {
            text += event.delta.text;
            yield { type: 'delta', text: event.delta.text };
          } else if (event.delta.type === 'input_json_delta' && typeof event.delta.partial_json === 'string') {
            if (event.index === structuredBlock) {
              structuredJson += event.delta.partial_json;
              continue;
            }
            const index = toolIndex.get(event.index);
            // Input for a block that never opened as tool_use: not a Messages stream we can follow.
            if (index === undefined) throw providerFailure(ID, 'malformed-chunk');
            if (event.delta.partial_json !== '') {
              yield { type: 'tool_call', index, argumentsDelta: event.delta.partial_json };
            }
          }
        } else if (event.type === 'message_delta') {
          if (event.delta.stop_reason !== null) reason = finishReason(event.delta.stop_reason);
          // Usage in message_delta is cumulative; input_tokens there, when present, supersedes message_start's.
          completionTokens = event.usage.output_tokens;
          if (event.usage.input_tokens != null) promptTokens = promptTokensOf(event.usage);
        } else {
          stopped = true;
          break;
        }
      }
    } catch (err) {
      throw mapError(err, ctx.signal, phase);
    }
    // The SDK ends an aborted stream quietly, exactly like one the upstream cut short.
    if (!stopped) throw providerFailure(ID, ctx.signal.aborted ? 'aborted' : 'incomplete-stream');
    if (structured && structuredBlock !== undefined) {
      const answer = structuredAnswerOfText(structuredJson, structured.wrapped);
      text += answer;
      yield { type: 'delta', text: answer };
    }
    if (toolIndex.size > 0) reason = 'tool_calls';
    else if (reason === 'tool_calls') reason = 'stop';
    yield {
      type: 'done',
      model,
      finishReason: reason,
      usage: usageOf(promptTokens ?? 0, completionTokens ?? estimateTokens(text)),
    };
  },
};
