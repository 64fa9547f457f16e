import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { ApiError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type {
  ChatMessage,
  ChatResult,
  FinishReason,
  ResponseFormat,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  Usage,
} from '../providers';
import { type CacheDeps, type CacheLookup, type CachePolicy, lookup, promptOf, store } from '../cache';
import type { FlightDeps } from '../single-flight';
import type { Routed } from '../single-flight';
import { logFailure, recordCall, type Settled } from './record';
import { parseTarget, requireConfigured, type Target, targetOf } from '../models';
import { attemptsOf, routeBudgetMs, routeComplete, routeStream, type RoutedEvent } from './router';
import { completeShared, streamShared } from '../single-flight';

export interface PipelineDeps {
  env: Env;
  config: Config;
  db: Database;
  log: Logger;
  waitUntil(promise: Promise<unknown>): void;
  // Told once how each call settled: the request log carries the call's `requests` row to its consumer
  // unless `stored` (the row is already written). Why: docs/design/request-log.md#the-event
  report(call: ChatCall, settled: Settled, stored: boolean): void;
}

export interface ChatCall {
  dialect: string;
  requestId: string;
  userId: string | null;
  organizationId: string | null;
  // Cache scope: the organization, or the anonymous scope; answers never cross it.
  tenant: string;
  cachePolicy: CachePolicy;
  model?: string;
  fallbacks?: string[];
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  // The caller's tools and structured output, passed to the provider as they are (and part of the cache key).
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
  // Stored as the request's `text`: the caller's own last words, not the whole prompt.
  text: string;
  signal: AbortSignal;
}

export interface ChatOutcome {
  result: ChatResult;
  target: Target;
  attempts: number;
  latencyMs: number;
  recordId: number | undefined;
  cache: CacheLookup;
}

// Primary first, then the request's fallbacks (or the configured ones). An unknown model anywhere
// is the caller's mistake (400); an unconfigured primary is the deployment's (503).
export function planTargets(call: Pick<ChatCall, 'model' | 'fallbacks'>, config: Config): Target[] {
  const primary = parseTarget(call.model, config);
  requireConfigured(primary, config);
  const specs = call.fallbacks ?? config.FALLBACK_MODELS;
  const fallbacks = specs.map((spec, i) =>
    parseTarget(spec, config, call.fallbacks ? `fallbacks.${i}` : 'FALLBACK_MODELS'),
  );
  const targets = [primary, ...fallbacks];
  targets.forEach((t, i) =>
    refuseEmbeddingModel(t, i === 0 ? 'model' : call.fallbacks ? `fallbacks.${i - 1}` : 'FALLBACK_MODELS'),
  );
  return targets;
}

// An embedding model answers POST /v1/embeddings, not a chat: sending it a conversation would only fail
// upstream (or, on the local provider, answer as a chat model would), so the caller hears why here.
function refuseEmbeddingModel(target: Target, field: string): void {
  const caps = target.entry?.capabilities;
  if (!caps || !caps.includes('embedding') || caps.includes('chat')) return;
  throw new ApiError('VALIDATION_ERROR', `Model '${target.model}' is an embedding model: use POST /v1/embeddings`, {
    details: [{ field, message: `'${target.model}' does not chat; choose a chat model (GET /api/v1/models)` }],
  });
}

const cacheDeps = (deps: PipelineDeps, call: ChatCall): CacheDeps => ({
  env: deps.env,
  config: deps.config,
  tenant: call.tenant,
  waitUntil: deps.waitUntil,
  log: deps.log,
});

const flightDeps = (deps: PipelineDeps): FlightDeps => ({ env: deps.env, log: deps.log, waitUntil: deps.waitUntil });

// What a call's row records as its answer: the text, or the tool calls when the model asked for tools.
export function responseOf(text: string, toolCalls: ToolCall[] | undefined): string {
  return toolCalls && toolCalls.length > 0 && text === '' ? JSON.stringify({ tool_calls: toolCalls }) : text;
}

// Tool calls gathered from a stream's pieces, in index order (the first piece of each names it).
export class ToolCallAssembler {
  private readonly calls = new Map<number, ToolCall>();

  add(event: { index: number; id?: string; name?: string; argumentsDelta: string }): void {
    const call = this.calls.get(event.index) ?? { id: '', name: '', arguments: '' };
    if (event.id) call.id = event.id;
    if (event.name) call.name = event.name;
    call.arguments += event.argumentsDelta;
    this.calls.set(event.index, call);
  }

  list(): ToolCall[] | undefined {
    if (this.calls.size === 0) return undefined;
    return [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  }
}

// No D1 write on the call's path: its row travels with the request's log event and the queue consumer
// writes it. Only a dialect that answers with the row's id (the requests endpoint) stores it itself.
function record(deps: PipelineDeps, call: ChatCall, settled: Settled, awaitIt: boolean): Promise<number | undefined> {
  deps.report(call, settled, awaitIt);
  return awaitIt ? recordCall(deps.db, call, settled) : Promise.resolve(undefined);
}

// Non-streaming: cache (exact, then semantic), then one routed call shared by identical concurrent
// misses, recorded once per caller. `awaitRecord` is for dialects that return the row id (the requests endpoint).
export async function runChat(deps: PipelineDeps, call: ChatCall, awaitRecord = false): Promise<ChatOutcome> {
  const targets = planTargets(call, deps.config);
  const primary = targets[0] as Target;
  const started = performance.now();
  const cache = await lookup(cacheDeps(deps, call), primary, call, call.cachePolicy);
  const base = { stream: false, ttftMs: null } as const;
  if (cache.answer) {
    const target = targetOf(cache.answer, primary);
    const result: ChatResult = {
      text: cache.answer.text,
      model: cache.answer.model,
      finishReason: cache.answer.finishReason,
      usage: cache.answer.usage,
      ...(cache.answer.toolCalls && cache.answer.toolCalls.length > 0 ? { toolCalls: cache.answer.toolCalls } : {}),
    };
    const latencyMs = performance.now() - started;
    const settled: Settled = {
      ...base,
      status: 'completed',
      target,
      attempts: 0,
      latencyMs,
      response: responseOf(result.text, result.toolCalls),
      usage: result.usage,
      errorCode: null,
      cacheStatus: 'HIT',
      upstreamMs: 0,
    };
    return { result, target, attempts: 0, latencyMs, recordId: await record(deps, call, settled, awaitRecord), cache };
  }
  try {
    const upstreamFrom = performance.now();
    // Only the leader calls upstream, and it stores the answer (in the background).
    const route = async (signal: AbortSignal): Promise<Routed> => {
      const routed = await routeComplete(targets, call, { config: deps.config, signal });
      if (call.cachePolicy.write) {
        void store(cacheDeps(deps, call), primary, call, cache, {
          text: routed.result.text,
          model: routed.result.model || routed.target.model,
          provider: routed.target.provider.id,
          finishReason: routed.result.finishReason,
          usage: routed.result.usage,
          ...(routed.result.toolCalls ? { toolCalls: routed.result.toolCalls } : {}),
          prompt: promptOf(call),
          createdAt: new Date().toISOString(),
        });
      }
      return routed;
    };
    const budgetMs = routeBudgetMs(deps.config, targets.length);
    const { value, leader } = await completeShared(flightDeps(deps), call, cache, primary, budgetMs, route);
    const { result, target, attempts } = value;
    const upstreamMs = performance.now() - upstreamFrom;
    const latencyMs = performance.now() - started;
    const settled: Settled = {
      ...base,
      status: 'completed',
      target: { ...target, model: result.model || target.model },
      attempts: leader ? attempts : 0,
      latencyMs,
      response: responseOf(result.text, result.toolCalls),
      usage: result.usage,
      errorCode: null,
      cacheStatus: cache.status,
      upstreamMs,
    };
    return { result, target, attempts, latencyMs, recordId: await record(deps, call, settled, awaitRecord), cache };
  } catch (err) {
    const apiError = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
    logFailure(deps.log, apiError, primary);
    const settled: Settled = {
      ...base,
      status: call.signal.aborted ? 'cancelled' : 'failed',
      target: primary,
      attempts: attemptsOf(err),
      latencyMs: performance.now() - started,
      response: null,
      usage: null,
      errorCode: apiError.code,
      cacheStatus: cache.status,
      upstreamMs: performance.now() - started,
    };
    await record(deps, call, settled, awaitRecord);
    throw apiError;
  }
}

export type GatewayStreamEvent = RoutedEvent;

export interface StreamSummary {
  text: string;
  model: string;
  finishReason: FinishReason;
  usage: Usage;
}

// A cached answer told again as a stream, word by word, in whatever dialect asked.
async function* replay(answer: CacheLookup['answer'] & object, target: Target): AsyncGenerator<GatewayStreamEvent> {
  yield { type: 'start', target, attempts: 0 };
  const words = answer.text === '' ? [] : answer.text.split(/(?=\s)/);
  for (const w of words) yield { type: 'delta', text: w };
  for (const [index, c] of (answer.toolCalls ?? []).entries()) {
    yield { type: 'tool_call', index, id: c.id, name: c.name, argumentsDelta: c.arguments };
  }
  yield { type: 'done', model: answer.model, finishReason: answer.finishReason, usage: answer.usage };
}

// The upstream side of a stream: routed events, and the answer stored in the cache when it completes.
async function* upstream(
  deps: PipelineDeps,
  call: ChatCall,
  targets: Target[],
  cache: CacheLookup,
  signal: AbortSignal,
): AsyncGenerator<GatewayStreamEvent> {
  let text = '';
  const tools = new ToolCallAssembler();
  let provider = (targets[0] as Target).provider.id;
  let stored: Promise<void> = Promise.resolve();
  for await (const event of routeStream(targets, call, { config: deps.config, signal })) {
    if (event.type === 'start') provider = event.target.provider.id;
    if (event.type === 'delta') text += event.text;
    if (event.type === 'tool_call') tools.add(event);
    if (event.type === 'done' && call.cachePolicy.write) {
      const toolCalls = tools.list();
      stored = store(cacheDeps(deps, call), targets[0] as Target, call, cache, {
        text,
        model: event.model,
        provider,
        finishReason: event.finishReason,
        usage: event.usage,
        ...(toolCalls ? { toolCalls } : {}),
        prompt: promptOf(call),
        createdAt: new Date().toISOString(),
      });
    }
    yield event;
  }
  // Ending only once the answer is readable keeps the flight joinable until a late twin would hit.
  await stored;
}

// Streaming: a cache hit replays; a miss joins (or starts) the one upstream stream for identical
// requests in flight. Each caller's stream is recorded once, when it settles — finished, failed,
// or abandoned by its client. The cache verdict is known before the first event, for the headers.
export async function openStream(
  deps: PipelineDeps,
  call: ChatCall,
): Promise<{ cache: CacheLookup; events: AsyncGenerator<GatewayStreamEvent> }> {
  const targets = planTargets(call, deps.config);
  const started = performance.now();
  const cache = await lookup(cacheDeps(deps, call), targets[0] as Target, call, call.cachePolicy);
  const primary = targets[0] as Target;
  const source = cache.answer
    ? replay(cache.answer, targetOf(cache.answer, primary))
    : await streamShared(flightDeps(deps), call, cache, primary, (signal) =>
        upstream(deps, call, targets, cache, signal),
      );
  const upstreamFrom = cache.answer ? undefined : performance.now();
  return {
    cache,
    events: tracked(deps, call, source, { target: primary, started, cache, upstreamFrom }),
  };
}

async function* tracked(
  deps: PipelineDeps,
  call: ChatCall,
  source: AsyncGenerator<GatewayStreamEvent>,
  ctx: { target: Target; started: number; cache: CacheLookup; upstreamFrom: number | undefined },
): AsyncGenerator<GatewayStreamEvent> {
  let target = ctx.target;
  let attempts = 1;
  let ttftMs: number | null = null;
  let text = '';
  const tools = new ToolCallAssembler();
  let settled: Pick<Settled, 'status' | 'response' | 'usage' | 'errorCode'> | undefined;
  try {
    for await (const event of source) {
      if (event.type === 'start') {
        target = event.target;
        attempts = event.attempts;
      } else if (event.type === 'delta') {
        ttftMs ??= performance.now() - ctx.started;
        text += event.text;
      } else if (event.type === 'tool_call') {
        ttftMs ??= performance.now() - ctx.started;
        tools.add(event);
      } else {
        target = { ...target, model: event.model || target.model };
        settled = {
          status: 'completed',
          response: responseOf(text, tools.list()),
          usage: event.usage,
          errorCode: null,
        };
      }
      yield event;
    }
  } catch (err) {
    const apiError = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
    attempts = Math.max(attempts, attemptsOf(err));
    logFailure(deps.log, apiError, target);
    settled = {
      status: call.signal.aborted ? 'cancelled' : 'failed',
      response: text || null,
      usage: null,
      errorCode: apiError.code,
    };
    throw apiError;
  } finally {
    settled ??= { status: 'cancelled', response: text || null, usage: null, errorCode: 'CLIENT_CLOSED' };
    const full: Settled = {
      ...settled,
      target,
      attempts,
      latencyMs: performance.now() - ctx.started,
      ttftMs,
      stream: true,
      cacheStatus: ctx.cache.status,
      upstreamMs: ctx.upstreamFrom === undefined ? 0 : performance.now() - ctx.upstreamFrom,
    };
    void record(deps, call, full, false);
  }
}
