import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { z } from 'zod';
import type { Config } from '../../../config';
import { ApiError } from '../../../lib/errors';
import { estimateTokens } from '../../../lib/tokens';
import { parseRetryAfter, providerFailure, providerTimeout } from '../errors';
import { upstreamFetch } from '../http';
import { UsageSchema } from '../messages';
import type {
  ChatRequest,
  ChatResult,
  FinishReason,
  Provider,
  ProviderContext,
  ProviderId,
  StreamEvent,
  Usage,
} from '../types';

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

// The SDK types responses but does not check them; a proxy or a broken upstream can send anything.
const CompletionSchema = z.object({
  model: z.string(),
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullable() }), finish_reason: z.string().nullable() }))
    .min(1),
  usage: UsageSchema.nullish(),
});
const ChunkSchema = z.object({
  model: z.string().optional(),
  choices: z.array(
    z.object({ delta: z.object({ content: z.string().nullish() }).nullish(), finish_reason: z.string().nullish() }),
  ),
  usage: UsageSchema.nullish(),
});

// Floats are asked for explicitly: left to itself the SDK asks for base64 and decodes it, and then
// what is checked here would be the SDK's decoding rather than what the server sent.
const MAX_EMBEDDING_DIMENSIONS = 16_384;
const EmbeddingsSchema = z.object({
  data: z.array(
    z.object({
      index: z.number().int().nonnegative().optional(),
      embedding: z.array(z.number()).min(1).max(MAX_EMBEDDING_DIMENSIONS),
    }),
  ),
});

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
  const promptTokens = request.messages.reduce((s, m) => s + estimateTokens(m.content), 0);
  const completionTokens = estimateTokens(text);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

function mapError(id: ProviderId, err: unknown, signal: AbortSignal): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof APIConnectionTimeoutError) return providerTimeout(id);
  if (err instanceof APIUserAbortError || signal.aborted) return providerFailure(id, 'aborted');
  if (err instanceof APIError) {
    // The SDK wraps our fetch's own ApiError (a refused redirect) as a connection error.
    if (err.cause instanceof ApiError) return err.cause;
    const retryAfter = err.headers instanceof Headers ? parseRetryAfter(err.headers.get('retry-after')) : undefined;
    return providerFailure(id, err.status === undefined ? 'connection' : 'status', err.status, retryAfter);
  }
  return providerFailure(id, err instanceof SyntaxError ? 'malformed-response' : 'unexpected');
}

function params(request: ChatRequest) {
  return {
    model: request.model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    ...(request.stop !== undefined ? { stop: request.stop } : {}),
  };
}

export function createOpenAICompatibleProvider(spec: OpenAICompatibleSpec): Provider {
  const clients = new WeakMap<Config, OpenAI>();
  const client = (config: Config): OpenAI => {
    let c = clients.get(config);
    if (!c) {
      c = new OpenAI({
        apiKey: spec.apiKey(config) ?? 'none',
        baseURL: spec.baseUrl(config) ?? null,
        timeout: config.PROVIDER_TIMEOUT_MS,
        maxRetries: 0,
        fetch: upstreamFetch(spec.id),
      });
      clients.set(config, c);
    }
    return c;
  };
  return {
    id: spec.id,
    defaultModel: spec.defaultModel,
    isConfigured: (config) =>
      spec.baseUrl(config) !== undefined && (!spec.keyRequired || spec.apiKey(config) !== undefined),

    async complete(request: ChatRequest, ctx: ProviderContext): Promise<ChatResult> {
      let raw: unknown;
      try {
        raw = await client(ctx.config).chat.completions.create(
          { ...params(request), stream: false },
          { signal: ctx.signal },
        );
      } catch (err) {
        throw mapError(spec.id, err, ctx.signal);
      }
      const parsed = CompletionSchema.safeParse(raw);
      if (!parsed.success) throw providerFailure(spec.id, 'malformed-response');
      const choice = parsed.data.choices[0];
      const text = choice?.message.content ?? '';
      return {
        text,
        model: parsed.data.model,
        finishReason: finishReason(choice?.finish_reason),
        usage: usageOf(parsed.data.usage, request, text),
      };
    },

    async *stream(request: ChatRequest, ctx: ProviderContext): AsyncIterable<StreamEvent> {
      let text = '';
      let model = request.model;
      let reason: FinishReason = 'stop';
      let usage: z.infer<typeof UsageSchema> | null | undefined;
      let chunks = 0;
      try {
        const stream = await client(ctx.config).chat.completions.create(
          { ...params(request), stream: true, stream_options: { include_usage: true } },
          { signal: ctx.signal },
        );
        for await (const chunk of stream) {
          const parsed = ChunkSchema.safeParse(chunk);
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
            if (choice.finish_reason) reason = finishReason(choice.finish_reason);
          }
        }
      } catch (err) {
        throw mapError(spec.id, err, ctx.signal);
      }
      // A body with no event at all (e.g. a JSON or truncated answer to a stream request) is not an empty
      // answer: it is a failure, and before the first token, so the router may still retry or fail over.
      if (chunks === 0) throw providerFailure(spec.id, 'malformed-stream');
      yield { type: 'done', model, finishReason: reason, usage: usageOf(usage, request, text) };
    },

    ...(spec.embeddings
      ? {
          async embed(texts: string[], model: string, ctx: ProviderContext): Promise<number[][]> {
            if (texts.length === 0) return [];
            let raw: unknown;
            try {
              raw = await client(ctx.config).embeddings.create(
                // A lone string is the form every OpenAI-wire server accepts.
                { model, input: texts.length === 1 ? (texts[0] ?? '') : texts, encoding_format: 'float' },
                { signal: ctx.signal },
              );
            } catch (err) {
              throw deadlinePassed(ctx.signal) ? providerTimeout(spec.id) : mapError(spec.id, err, ctx.signal);
            }
            const vectors = vectorsOf(raw, texts.length);
            if (!vectors) throw providerFailure(spec.id, 'malformed-response');
            return vectors;
          },
        }
      : {}),
  };
}
