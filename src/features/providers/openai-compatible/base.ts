// Request and response shapes are the openai SDK's types; the calls themselves are plain fetches through
// upstreamFetch. The SDK's client cost ~0.3 ms of CPU per call and ~0.6 ms per stream on the hot path
// (issue 11, measured against this code on workerd) and a megabyte of bundle.
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ResponseFormatJSONObject, ResponseFormatJSONSchema } from 'openai/resources/shared';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from 'openai/resources/embeddings';
import { z } from 'zod';
import type { Config } from '../../../config';
import { ApiError } from '../../../lib/errors';
import { SseParseError, SseParser, type SseEvent } from '../../../lib/sse-parser';
import { estimateTokens } from '../../../lib/tokens';
import { parseRetryAfter, providerFailure, providerTimeout } from '../errors';
import { upstreamFetch } from '../http';
import { openAIAudio } from './audio';
import { contentText, plainText, UsageSchema } from '../messages';
import type {
  ChatMessage,
  ChatRequest,
  ChatResult,
  FinishReason,
  Provider,
  ProviderContext,
  ProviderId,
  StreamEvent,
  ToolCall,
  ToolChoice,
  Usage,
} from '../types';
import { checkedToolCalls } from '../tools';

// What distinguishes one OpenAI-wire vendor from another: where it lives and which key it takes.
export interface OpenAICompatibleSpec {
  id: ProviderId;
  baseUrl(config: Config): string | undefined;
  apiKey(config: Config): string | undefined;
  defaultModel(config: Config): string;
  // Self-hosted servers (Ollama, vLLM) need no key, only a base URL.
  keyRequired: boolean;
  // Whether the vendor serves POST /embeddings (Groq does not).
  embeddings: boolean;
}

// Types describe answers but do not check them; a proxy or a broken upstream can send anything.
// A function call; `custom` tool calls (never asked for here) are accepted by the schema and refused below.
const ToolCallWireSchema = z.object({
  id: z.string(),
  type: z.string().optional(),
  function: z.object({ name: z.string(), arguments: z.string() }).optional(),
  custom: z.unknown().optional(),
});
const CompletionSchema = z.object({
  model: z.string(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable(), tool_calls: z.array(ToolCallWireSchema).nullish() }),
        finish_reason: z.string().nullable(),
      }),
    )
    .min(1),
  usage: UsageSchema.nullish(),
});
// One piece of a streamed tool call: the first piece of an index carries its id and name.
const ToolCallPieceSchema = z.object({
  index: z.number().int().nonnegative().max(1023),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});
const ChunkSchema = z.object({
  model: z.string().optional(),
  choices: z.array(
    z.object({
      delta: z.object({ content: z.string().nullish(), tool_calls: z.array(ToolCallPieceSchema).nullish() }).nullish(),
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: UsageSchema.nullish(),
});

// Floats are asked for explicitly: a server may default to base64, and what is checked here must be the
// numbers the server sent.
const MAX_EMBEDDING_DIMENSIONS = 16_384;
const EmbeddingsSchema = z.object({
  data: z.array(
    z.object({
      index: z.number().int().nonnegative().optional(),
      embedding: z.array(z.number()).min(1).max(MAX_EMBEDDING_DIMENSIONS),
    }),
  ),
});

// Compile-time guards: every answer the SDK's types describe passes the schemas above, so the schemas
// refuse only what the wire format itself does not allow.
type Accepts<Schema extends z.ZodType, Answer extends z.input<Schema>> = Answer;
type _CompletionFits = Accepts<typeof CompletionSchema, ChatCompletion>;
type _ChunkFits = Accepts<typeof ChunkSchema, ChatCompletionChunk>;
type _EmbeddingsFit = Accepts<typeof EmbeddingsSchema, CreateEmbeddingResponse>;

// One vector per input, placed by `index` when the server gives it, all of one length.
function vectorsOf(raw: unknown, count: number): number[][] | undefined {
  const parsed = EmbeddingsSchema.safeParse(raw);
  if (!parsed.success || parsed.data.data.length !== count) return undefined;
  const out: (number[] | undefined)[] = Array.from({ length: count }, () => undefined);
  for (const [i, item] of parsed.data.data.entries()) {
    const at = item.index ?? i;
    if (at >= count || out[at] !== undefined) return undefined;
    out[at] = item.embedding;
  }
  const dims = out[0]?.length;
  return out.every((v) => v !== undefined && v.length === dims) ? (out as number[][]) : undefined;
}

// A caller's own deadline (AbortSignal.timeout) reads as a timeout, not as the client going away.
const deadlinePassed = (signal: AbortSignal) =>
  signal.aborted && signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError';

function finishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case 'length':
    case 'content_filter':
    case 'tool_calls':
      return raw;
    case 'function_call':
      return 'tool_calls';
    default:
      return 'stop';
  }
}

function usageOf(raw: z.infer<typeof UsageSchema> | null | undefined, request: ChatRequest, text: string): Usage {
  if (raw)
    return { promptTokens: raw.prompt_tokens, completionTokens: raw.completion_tokens, totalTokens: raw.total_tokens };
  // Words only: images are not estimated (every vision vendor served here reports its usage).
  const promptTokens = request.messages.reduce((s, m) => s + estimateTokens(contentText(m.content)), 0);
  const completionTokens = estimateTokens(text);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

// A string stays a string (text-only calls are sent as they always were); a user message with images
// becomes OpenAI's content parts, each image an `image_url` holding a `data:` URL.
function wireMessage(m: ChatMessage, i: number, provider: ProviderId): ChatCompletionMessageParam {
  if (m.role === 'tool') {
    return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: plainText(m, i, provider) };
  }
  if (m.role === 'assistant' && m.toolCalls !== undefined && m.toolCalls.length > 0) {
    const text = plainText(m, i, provider);
    return {
      role: 'assistant',
      content: text === '' ? null : text,
      tool_calls: m.toolCalls.map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: c.arguments },
      })),
    };
  }
  if (typeof m.content === 'string' || m.role !== 'user') return { role: m.role, content: plainText(m, i, provider) };
  return {
    role: 'user',
    content: m.content.map((p): ChatCompletionContentPart =>
      p.type === 'text'
        ? { type: 'text', text: p.text }
        : { type: 'image_url', image_url: { url: `data:${p.mediaType};base64,${p.data}` } },
    ),
  };
}

function toolChoice(choice: ToolChoice): ChatCompletionToolChoiceOption {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function responseFormat(request: ChatRequest): ResponseFormatJSONObject | ResponseFormatJSONSchema | undefined {
  const f = request.responseFormat;
  if (f === undefined) return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: { name: f.name, schema: f.schema, ...(f.strict !== undefined ? { strict: f.strict } : {}) },
  };
}

// Tools go only when there are some (tool_choice without tools is refused by OpenAI).
function toolParams(request: ChatRequest) {
  const tools = request.tools ?? [];
  const format = responseFormat(request);
  return {
    ...(tools.length > 0
      ? {
          tools: tools.map((t) => ({
            type: 'function' as const,
            function: {
              name: t.name,
              ...(t.description !== undefined ? { description: t.description } : {}),
              parameters: t.parameters,
            },
          })),
          ...(request.toolChoice !== undefined ? { tool_choice: toolChoice(request.toolChoice) } : {}),
        }
      : {}),
    ...(format !== undefined ? { response_format: format } : {}),
  };
}

// The calls of an answer, checked: a call that is not a function call with an id and a name is malformed.
function toolCallsOf(raw: z.infer<typeof ToolCallWireSchema>[] | null | undefined, provider: ProviderId): ToolCall[] {
  const calls = (raw ?? []).map((c) => {
    if (c.function === undefined) throw providerFailure(provider, 'malformed-tool-call');
    return { id: c.id, name: c.function.name, arguments: c.function.arguments };
  });
  return checkedToolCalls(provider, calls);
}

function params(request: ChatRequest, provider: ProviderId) {
  return {
    model: request.model,
    messages: request.messages.map((m, i) => wireMessage(m, i, provider)),
    ...toolParams(request),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    ...(request.stop !== undefined ? { stop: request.stop } : {}),
  };
}

// An `error` member is how OpenAI-wire servers report a failure inside a stream that had answered 200.
const isErrorPayload = (value: unknown) => typeof value === 'object' && value !== null && 'error' in value;

// Where a vendor lives for one config: its endpoint prefix and the headers every call carries.
interface Endpoint {
  base: string;
  headers: Record<string, string>;
}

// One upstream call in flight. Its signal is aborted when the caller's is (the client went away, or the
// router's or the embedder's deadline passed) or when PROVIDER_TIMEOUT_MS passes before disarm().
interface Call {
  response: Response;
  // Stops the timeout: a stream is under it only until the answer's headers, as it was with the SDK;
  // after them the router's idle deadline governs.
  disarm(): void;
  // Maps a failure of the body's read (or of its parse) to the provider error it stands for.
  failure(err: unknown, fallback: string): ApiError;
  // Ends the call: the timer and the caller's abort listener go.
  release(): void;
}

export function createOpenAICompatibleProvider(spec: OpenAICompatibleSpec): Provider {
  const fetchUpstream = upstreamFetch(spec.id);
  const endpoints = new WeakMap<Config, Endpoint>();
  const endpoint = (config: Config): Endpoint => {
    let e = endpoints.get(config);
    if (!e) {
      const base = spec.baseUrl(config);
      if (base === undefined) throw providerFailure(spec.id, 'not-configured');
      const key = spec.apiKey(config);
      e = {
        base: base.replace(/\/+$/, ''),
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'Edgeway',
          // Self-hosted servers without a key get no Authorization header at all.
          ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
        },
      };
      endpoints.set(config, e);
    }
    return e;
  };

  async function post(path: string, body: string, ctx: ProviderContext): Promise<Call> {
    const { signal, config } = ctx;
    const { base, headers } = endpoint(config);
    let timedOut = false;
    const controller = new AbortController();
    // The default reason (an AbortError) on purpose: workerd may surface an aborted body read's internal
    // promise as an unhandled rejection carrying it (cloudflare/workerd#501), and that one is known.
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, config.PROVIDER_TIMEOUT_MS);
    const onAbort = () => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const release = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const failure = (err: unknown, fallback: string): ApiError => {
      if (err instanceof ApiError) return err;
      if (timedOut || deadlinePassed(signal)) return providerTimeout(spec.id);
      if (signal.aborted) return providerFailure(spec.id, 'aborted');
      return providerFailure(spec.id, err instanceof SyntaxError ? 'malformed-response' : fallback);
    };
    if (signal.aborted) {
      release();
      throw failure(undefined, 'aborted');
    }
    let response: Response;
    try {
      response = await fetchUpstream(`${base}${path}`, { method: 'POST', headers, body, signal: controller.signal });
    } catch (err) {
      release();
      throw failure(err, 'connection');
    }
    if (!response.ok) {
      release();
      // The error body is not read: its message is not passed on, and reading it would take time.
      await response.body?.cancel().catch(() => undefined);
      throw providerFailure(spec.id, 'status', response.status, parseRetryAfter(response.headers.get('retry-after')));
    }
    return { response, disarm: () => clearTimeout(timer), failure, release };
  }

  // A JSON answer, read under the call's timeout.
  async function postJson(path: string, body: string, ctx: ProviderContext): Promise<unknown> {
    const call = await post(path, body, ctx);
    try {
      return await call.response.json();
    } catch (err) {
      throw call.failure(err, 'connection');
    } finally {
      call.release();
    }
  }

  return {
    // POST /audio/transcriptions and /audio/speech (./audio.ts).
    ...openAIAudio(spec),
    id: spec.id,
    defaultModel: spec.defaultModel,
    isConfigured: (config) =>
      spec.baseUrl(config) !== undefined && (!spec.keyRequired || spec.apiKey(config) !== undefined),

    async complete(request: ChatRequest, ctx: ProviderContext): Promise<ChatResult> {
      const body: ChatCompletionCreateParamsNonStreaming = { ...params(request, spec.id), stream: false };
      const raw = await postJson('/chat/completions', JSON.stringify(body), ctx);
      const parsed = CompletionSchema.safeParse(raw);
      if (!parsed.success) throw providerFailure(spec.id, 'malformed-response');
      const choice = parsed.data.choices[0];
      const text = choice?.message.content ?? '';
      const toolCalls = toolCallsOf(choice?.message.tool_calls, spec.id);
      return {
        text,
        model: parsed.data.model,
        // Some servers (Ollama) say 'stop' when they answered with calls.
        finishReason: toolCalls.length > 0 ? 'tool_calls' : finishReason(choice?.finish_reason),
        usage: usageOf(parsed.data.usage, request, text),
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
      };
    },

    // Deltas are yielded as their events arrive. The stream ends at `data: [DONE]`, or at the end of the
    // body if that comes between events; a body that ends inside an event was cut short and fails.
    async *stream(request: ChatRequest, ctx: ProviderContext): AsyncIterable<StreamEvent> {
      const body: ChatCompletionCreateParamsStreaming = {
        ...params(request, spec.id),
        stream: true,
        stream_options: { include_usage: true },
      };
      const call = await post('/chat/completions', JSON.stringify(body), ctx);
      call.disarm();
      const reader = call.response.body?.getReader();
      const parser = new SseParser();
      let text = '';
      let model = request.model;
      let reason: FinishReason = 'stop';
      let usage: z.infer<typeof UsageSchema> | null | undefined;
      let chunks = 0;
      let drained = reader === undefined;
      // Tool call indexes seen so far: the first piece of each must name the call.
      const calls = new Set<number>();
      try {
        reading: while (reader) {
          let read: ReadableStreamReadResult<Uint8Array>;
          try {
            read = await reader.read();
          } catch (err) {
            throw call.failure(err, 'stream-interrupted');
          }
          if (read.done) {
            drained = true;
            // Cut inside an event after answer text: a truncated answer. With no event at all, below.
            if (!parser.end() && chunks > 0) throw providerFailure(spec.id, 'incomplete-stream');
            break;
          }
          let events: SseEvent[];
          try {
            events = parser.push(read.value);
          } catch (err) {
            if (err instanceof SseParseError) throw providerFailure(spec.id, 'malformed-chunk');
            throw err;
          }
          for (const event of events) {
            if (event.data === '[DONE]') break reading;
            let data: unknown;
            try {
              data = JSON.parse(event.data);
            } catch {
              throw providerFailure(spec.id, 'malformed-chunk');
            }
            if (event.type === 'error' || isErrorPayload(data)) throw providerFailure(spec.id, 'stream-error');
            const parsed = ChunkSchema.safeParse(data);
            if (!parsed.success) throw providerFailure(spec.id, 'malformed-chunk');
            chunks++;
            if (parsed.data.model) model = parsed.data.model;
            if (parsed.data.usage) usage = parsed.data.usage;
            for (const choice of parsed.data.choices) {
              const delta = choice.delta?.content;
              if (delta) {
                text += delta;
                yield { type: 'delta', text: delta };
              }
              for (const piece of choice.delta?.tool_calls ?? []) {
                const first = !calls.has(piece.index);
                const id = piece.id ?? undefined;
                const name = piece.function?.name ?? undefined;
                if (first && (!id || !name)) throw providerFailure(spec.id, 'malformed-tool-call');
                calls.add(piece.index);
                yield {
                  type: 'tool_call',
                  index: piece.index,
                  ...(first ? { id, name } : {}),
                  argumentsDelta: piece.function?.arguments ?? '',
                };
              }
              if (choice.finish_reason) reason = finishReason(choice.finish_reason);
            }
          }
        }
      } finally {
        call.release();
        // Stopped early (by [DONE], a failure, or the consumer): the rest of the body is not wanted.
        if (!drained) void reader?.cancel().catch(() => undefined);
      }
      // A body with no event at all (e.g. a JSON or truncated answer to a stream request) is not an empty
      // answer: it is a failure, and before the first token, so the router may still retry or fail over.
      if (chunks === 0) throw providerFailure(spec.id, 'malformed-stream');
      if (calls.size > 0 && reason === 'stop') reason = 'tool_calls';
      yield { type: 'done', model, finishReason: reason, usage: usageOf(usage, request, text) };
    },

    ...(spec.embeddings
      ? {
          async embed(texts: string[], model: string, ctx: ProviderContext): Promise<number[][]> {
            if (texts.length === 0) return [];
            const body: EmbeddingCreateParams = {
              model,
              // A lone string is the form every OpenAI-wire server accepts.
              input: texts.length === 1 ? (texts[0] ?? '') : texts,
              encoding_format: 'float',
            };
            const vectors = vectorsOf(await postJson('/embeddings', JSON.stringify(body), ctx), texts.length);
            if (!vectors) throw providerFailure(spec.id, 'malformed-response');
            return vectors;
          },
        }
      : {}),
  };
}
