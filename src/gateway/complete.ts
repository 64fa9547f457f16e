import type { Config } from '../config';
import type { Database } from '../db/client';
import { insertRequest } from '../db/requests';
import { ApiError } from '../lib/errors';
import type { Logger } from '../lib/log';
import { isUpstreamFailure, providerFailure, providerTimeout } from '../providers/errors';
import { defaultProvider } from '../providers/registry';
import type { ChatMessage, ChatResult, Provider } from '../providers/types';

export interface GatewayDeps {
  config: Config;
  db: Database;
  log: Logger;
}

export interface CompletionCall {
  dialect: string;
  requestId: string;
  userId: string | null;
  organizationId: string | null;
  messages: ChatMessage[];
  // The text stored as the request's `text` (seed 000): the caller's own words, not the whole prompt.
  text: string;
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface CompletionOutcome {
  recordId: number;
  result: ChatResult;
  provider: Provider;
  latencyMs: number;
}

async function callProvider(provider: Provider, model: string, call: CompletionCall, config: Config): Promise<ChatResult> {
  const timeout = AbortSignal.timeout(config.PROVIDER_TIMEOUT_MS);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  try {
    return await provider.complete(
      { model, messages: call.messages, temperature: call.temperature, maxTokens: call.maxTokens },
      { config, signal },
    );
  } catch (err) {
    if (timeout.aborted) throw providerTimeout(provider.id);
    if (err instanceof ApiError) throw err;
    throw providerFailure(provider.id, 'unexpected');
  }
}

// Every call is recorded exactly once, success or failure, before the caller hears the outcome.
export async function complete(deps: GatewayDeps, call: CompletionCall): Promise<CompletionOutcome> {
  const provider = defaultProvider(deps.config);
  const model = provider.defaultModel(deps.config);
  const started = Date.now();
  let result: ChatResult;
  try {
    result = await callProvider(provider, model, call, deps.config);
  } catch (err) {
    const apiError = err instanceof ApiError ? err : providerFailure(provider.id, 'unexpected');
    const failure = isUpstreamFailure(apiError.cause) ? apiError.cause : undefined;
    deps.log.warn('provider call failed', {
      provider: provider.id,
      model,
      code: apiError.code,
      upstream_status: failure?.upstreamStatus,
      reason: failure?.reason,
    });
    await insertRequest(deps.db, {
      dialect: call.dialect,
      userId: call.userId,
      organizationId: call.organizationId,
      text: call.text,
      response: null,
      model,
      provider: provider.id,
      status: 'failed',
      errorCode: apiError.code,
      latencyMs: Date.now() - started,
      requestId: call.requestId,
    });
    throw apiError;
  }
  const latencyMs = Date.now() - started;
  const recordId = await insertRequest(deps.db, {
    dialect: call.dialect,
    userId: call.userId,
    organizationId: call.organizationId,
    text: call.text,
    response: result.text,
    model: result.model,
    provider: provider.id,
    status: 'completed',
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    totalTokens: result.usage.totalTokens,
    latencyMs,
    requestId: call.requestId,
  });
  return { recordId, result, provider, latencyMs };
}
