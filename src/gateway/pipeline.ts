import type { Config } from '../config';
import type { Database } from '../db/client';
import { insertRequest } from '../db/requests';
import type { RequestStatus } from '../db/schema';
import { ApiError } from '../lib/errors';
import type { Logger } from '../lib/log';
import { isUpstreamFailure } from '../providers/errors';
import type { ChatMessage, ChatResult, FinishReason, Usage } from '../providers/types';
import { costUsd } from './catalogue';
import { parseTarget, requireConfigured, type Target } from './resolve';
import { attemptsOf, routeComplete, routeStream, type RoutedEvent } from './router';

export interface PipelineDeps {
  config: Config;
  db: Database;
  log: Logger;
  waitUntil(promise: Promise<unknown>): void;
}

export interface ChatCall {
  dialect: string;
  requestId: string;
  userId: string | null;
  organizationId: string | null;
  model?: string;
  fallbacks?: string[];
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
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
  return [primary, ...fallbacks];
}

interface Settled {
  status: RequestStatus;
  target: Target;
  attempts: number;
  latencyMs: number;
  ttftMs: number | null;
  stream: boolean;
  response: string | null;
  usage: Usage | null;
  errorCode: string | null;
}

function record(deps: PipelineDeps, call: ChatCall, s: Settled): Promise<number> {
  const usage = s.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  return insertRequest(deps.db, {
    dialect: call.dialect,
    userId: call.userId,
    organizationId: call.organizationId,
    text: call.text,
    response: s.response,
    model: s.target.model,
    provider: s.target.provider.id,
    status: s.status,
    errorCode: s.errorCode,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    totalTokens: usage.totalTokens,
    costUsd: costUsd(s.target.entry, usage.promptTokens, usage.completionTokens),
    latencyMs: Math.round(s.latencyMs),
    ttftMs: s.ttftMs === null ? null : Math.round(s.ttftMs),
    stream: s.stream,
    attempts: s.attempts,
    requestId: call.requestId,
  });
}

function logFailure(deps: PipelineDeps, err: ApiError, target: Target): void {
  const failure = isUpstreamFailure(err.cause) ? err.cause : undefined;
  deps.log.warn('provider call failed', {
    provider: failure?.provider ?? target.provider.id,
    model: target.model,
    code: err.code,
    upstream_status: failure?.upstreamStatus,
    reason: failure?.reason,
  });
}

// Non-streaming: one routed call, recorded once. `awaitRecord` is for dialects that must return the
// row id (seed 000); the others record in the background so the answer is not held up by D1.
export async function runChat(deps: PipelineDeps, call: ChatCall, awaitRecord = false): Promise<ChatOutcome> {
  const targets = planTargets(call, deps.config);
  const started = performance.now();
  const base = { stream: false, ttftMs: null } as const;
  try {
    const { result, target, attempts } = await routeComplete(targets, call, {
      config: deps.config,
      signal: call.signal,
    });
    const latencyMs = performance.now() - started;
    const written = record(deps, call, {
      ...base,
      status: 'completed',
      target: { ...target, model: result.model || target.model },
      attempts,
      latencyMs,
      response: result.text,
      usage: result.usage,
      errorCode: null,
    });
    if (!awaitRecord)
      deps.waitUntil(written.catch((e: unknown) => deps.log.error('recording failed', { error: String(e) })));
    return { result, target, attempts, latencyMs, recordId: awaitRecord ? await written : undefined };
  } catch (err) {
    const apiError = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
    const target = targets[0] as Target;
    logFailure(deps, apiError, target);
    const written = record(deps, call, {
      ...base,
      status: call.signal.aborted ? 'cancelled' : 'failed',
      target,
      attempts: attemptsOf(err),
      latencyMs: performance.now() - started,
      response: null,
      usage: null,
      errorCode: apiError.code,
    });
    if (awaitRecord) await written;
    else deps.waitUntil(written.catch(() => undefined));
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

// Streaming: the routed events, passed through as they come, with the call recorded exactly once
// when the stream settles — finished, failed, or abandoned by the client.
export async function* streamChat(deps: PipelineDeps, call: ChatCall): AsyncGenerator<GatewayStreamEvent> {
  const targets = planTargets(call, deps.config);
  const started = performance.now();
  let target = targets[0] as Target;
  let attempts = 1;
  let ttftMs: number | null = null;
  let text = '';
  let settled: Omit<Settled, 'target' | 'attempts' | 'latencyMs' | 'ttftMs' | 'stream'> | undefined;
  try {
    for await (const event of routeStream(targets, call, { config: deps.config, signal: call.signal })) {
      if (event.type === 'start') {
        target = event.target;
        attempts = event.attempts;
      } else if (event.type === 'delta') {
        ttftMs ??= performance.now() - started;
        text += event.text;
      } else {
        target = { ...target, model: event.model || target.model };
        settled = { status: 'completed', response: text, usage: event.usage, errorCode: null };
      }
      yield event;
    }
  } catch (err) {
    const apiError = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
    attempts = Math.max(attempts, attemptsOf(err));
    logFailure(deps, apiError, target);
    settled = {
      status: call.signal.aborted ? 'cancelled' : 'failed',
      response: text || null,
      usage: null,
      errorCode: apiError.code,
    };
    throw apiError;
  } finally {
    settled ??= { status: 'cancelled', response: text || null, usage: null, errorCode: 'CLIENT_CLOSED' };
    const written = record(deps, call, {
      ...settled,
      target,
      attempts,
      latencyMs: performance.now() - started,
      ttftMs,
      stream: true,
    });
    deps.waitUntil(written.catch((e: unknown) => deps.log.error('recording failed', { error: String(e) })));
  }
}
