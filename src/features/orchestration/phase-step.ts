import type { Config } from '../../config';
import { getDb, type Database } from '../../db/client';
import { ApiError, ERROR_CATALOGUE } from '../../lib/errors';
import type { CallSummary } from '../../lib/call-slot';
import type { Logger } from '../../lib/log';
import { isoNow } from '../../lib/time';
import type { Identity } from '../accounts';
import { cachePolicy } from '../cache';
import { realtimeDeps, runChat } from '../gateway';
import { isUpstreamFailure } from '../providers';
import { admit, chargeOrganizationQuota } from '../rate-limits';
import { logRealtimeCall } from '../request-log';
import { phaseMessages, type PriorPhase } from './phases';
import { appendEvent, beat, getPhases, getRun, refreshCounters, runStatus, setPhase, type RunRow } from './run-store';

// One phase of a run, as one Workflow step: an AI call through the gateway pipeline (the organization's
// limits and quota, the cache, the router with its retries and fallbacks, the request log), with the topic
// and the earlier phases' outputs, stored in D1. A step gets no abort signal from the engine, so the step
// carries its own: it watches the run's status in D1 and aborts the upstream call when the run is cancelled.
// Why: docs/design/orchestration.md

export interface PhaseDeps {
  env: Env;
  config: Config;
  log: Logger;
  waitUntil(p: Promise<unknown>): void;
}

export interface PhaseResult {
  status: 'completed' | 'cancelled';
  phaseId: string;
  executionTimeMs: number;
  totalTokens: number;
}

// Thrown for what retrying cannot fix (a cancelled run, a refused model): the workflow fails the phase at once.
export class PhaseFatal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PhaseFatal';
  }
}

const RETRYABLE = new Set([
  'PROVIDER_ERROR',
  'PROVIDER_TIMEOUT',
  'SERVICE_UNAVAILABLE',
  'RATE_LIMIT_EXCEEDED',
  'INTERNAL_ERROR',
]);

function statusOf(code: string): number {
  const known: Partial<Record<string, { status: number }>> = ERROR_CATALOGUE;
  return known[code]?.status ?? 500;
}

// The run's creator as the caller of its AI calls: their rate limit, their organization's tier and quota
// (the limiter reads the organization itself; the role is not consulted past the POST that started the run).
function runIdentity(run: RunRow): Identity | null {
  if (!run.createdBy) return null;
  return { via: 'jwt', userId: run.createdBy, organizationId: run.organizationId, role: 'member' };
}

// The engine retries a failing phase, with backoff over seconds to minutes; the router's immediate retries
// would only repeat that inside one attempt. Fallback models still apply. One derived config per config, so
// what is cached per config (per isolate) stays cached.
const phaseConfigs = new WeakMap<Config, Config>();
function engineRetries(config: Config): Config {
  let derived = phaseConfigs.get(config);
  if (!derived) {
    derived = { ...config, RETRY_MAX_RETRIES: 0 };
    phaseConfigs.set(config, derived);
  }
  return derived;
}

// Polls the run's status while the call is in flight (a cancel aborts the call), and beats the run's
// heartbeat every HEARTBEAT_MS so the run is not taken for stalled (recover.ts).
const HEARTBEAT_MS = 5_000;

function watchCancel(db: Database, runId: string, abort: AbortController, everyMs: number): () => void {
  let stopped = false;
  let beatAt = Date.now();
  const tick = async () => {
    while (!stopped && !abort.signal.aborted) {
      await new Promise((r) => setTimeout(r, everyMs));
      if (stopped) return;
      const status = await runStatus(db, runId).catch(() => undefined);
      if (status === 'cancelled') abort.abort(new Error('run cancelled'));
      if (Date.now() - beatAt >= HEARTBEAT_MS) {
        beatAt = Date.now();
        await beat(db, runId).catch(() => undefined);
      }
    }
  };
  void tick();
  return () => {
    stopped = true;
  };
}

export async function runPhase(d: PhaseDeps, runId: string, position: number, attempt: number): Promise<PhaseResult> {
  const db = getDb(d.env.DB);
  const run = await getRun(db, runId);
  if (!run) throw new PhaseFatal('RESOURCE_NOT_FOUND', 'The run no longer exists');
  const phases = await getPhases(db, runId);
  const phase = phases.find((p) => p.position === position);
  if (!phase) throw new PhaseFatal('RESOURCE_NOT_FOUND', `The run has no phase ${position}`);
  if (run.status === 'cancelled') return { status: 'cancelled', phaseId: phase.id, executionTimeMs: 0, totalTokens: 0 };
  // A phase completed by an earlier attempt whose result the engine did not record is not paid for twice.
  if (phase.status === 'completed') {
    return {
      status: 'completed',
      phaseId: phase.id,
      executionTimeMs: phase.executionTimeMs ?? 0,
      totalTokens: (phase.promptTokens ?? 0) + (phase.completionTokens ?? 0),
    };
  }
  const startedAt = isoNow();
  await beat(db, runId);
  await setPhase(db, phase.id, {
    status: 'running',
    attempts: attempt,
    startedAt: phase.startedAt ?? startedAt,
    error: null,
  });
  if (attempt === 1)
    await appendEvent(db, runId, 'phase.started', { phase_code: phase.phaseCode, phase_name: phase.phaseName });

  const prior: PriorPhase[] = phases
    .filter((p) => p.position < position && p.status === 'completed')
    .map((p) => ({ name: p.phaseName, output: p.responseText ?? '' }));
  const settings = run.settings as { ai_model?: string; max_tokens?: number; temperature?: number };
  const who = runIdentity(run);
  const requestId = `req_${crypto.randomUUID().replaceAll('-', '')}`;
  const arrivedAt = Date.now();
  const started = performance.now();
  let summary: CallSummary | undefined;
  let errorCode: string | null = null;
  const abort = new AbortController();
  const stopWatching = watchCancel(db, runId, abort, d.config.ORCHESTRATION_CANCEL_POLL_MS);
  try {
    const clientKey = who ? `user:${who.userId}` : `run:${runId}`;
    const decision = await admit(d, clientKey, who);
    if (decision && !decision.allowed) {
      throw new ApiError('RATE_LIMIT_EXCEEDED', `Rate limit exceeded; retry in ${decision.retryAfterSeconds} s`);
    }
    if (!(await chargeOrganizationQuota(d.env, d.config, d.log, run.organizationId))) {
      throw new ApiError('QUOTA_EXCEEDED', 'The organization has used its API quota for this month');
    }
    const outcome = await runChat(
      realtimeDeps(
        { env: d.env, config: engineRetries(d.config), db, log: d.log, waitUntil: d.waitUntil },
        (s) => (summary = s),
      ),
      {
        dialect: 'orchestration',
        requestId,
        userId: run.createdBy,
        organizationId: run.organizationId,
        tenant: `org:${run.organizationId}`,
        // Exact matches only: every phase's prompt differs from its neighbours' in a few lines (the phase name,
        // one more earlier output), which the semantic cache would take for the same question.
        cachePolicy: { ...cachePolicy(new Headers(), d.config), semantic: false },
        model: settings.ai_model,
        messages: phaseMessages(run.topic, { name: phase.phaseName, position }, phases.length, prior),
        temperature: settings.temperature,
        maxTokens: settings.max_tokens,
        text: `${run.topic} — ${phase.phaseName}`,
        signal: abort.signal,
      },
    );
    const executionTimeMs = Math.round(performance.now() - started);
    const usage = outcome.result.usage;
    await setPhase(db, phase.id, {
      status: 'completed',
      responseText: outcome.result.text,
      model: outcome.result.model || outcome.target.model,
      executionTimeMs,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      completedAt: isoNow(),
    });
    await refreshCounters(db, runId);
    return { status: 'completed', phaseId: phase.id, executionTimeMs, totalTokens: usage.totalTokens };
  } catch (err) {
    if (abort.signal.aborted) {
      errorCode = 'CLIENT_CLOSED';
      return { status: 'cancelled', phaseId: phase.id, executionTimeMs: 0, totalTokens: 0 };
    }
    const apiError = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
    if (!(err instanceof ApiError)) d.log.error('phase failed', { runId, position, error: String(err) });
    errorCode = apiError.code;
    await setPhase(db, phase.id, { error: `${apiError.code}: ${apiError.message}` });
    // A provider's refusal of the request itself (a 4xx other than 429) will not change on a retry.
    const refused = isUpstreamFailure(apiError.cause) && !apiError.cause.retryable;
    if (!RETRYABLE.has(apiError.code) || refused) throw new PhaseFatal(apiError.code, apiError.message);
    throw new Error(`${apiError.code}: ${apiError.message}`, { cause: err });
  } finally {
    stopWatching();
    d.waitUntil(
      logRealtimeCall(
        d.env,
        d.log,
        {
          requestId,
          route: '/api/v1/orchestrate',
          method: 'WORKFLOW',
          arrivedAt,
          startedAt: started,
          organizationId: run.organizationId,
          userId: run.createdBy,
          apiKeyId: null,
          errorCode,
          status: errorCode === null ? 200 : errorCode === 'CLIENT_CLOSED' ? 499 : statusOf(errorCode),
        },
        summary,
      ),
    );
  }
}
