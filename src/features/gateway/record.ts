import type { Database } from '../../db/client';
import { insertRequest } from './request-rows';
import type { NewRequestRow, RequestStatus } from '../../db/schema';
import type { ApiError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { isUpstreamFailure } from '../providers';
import type { Usage } from '../providers';
import type { CacheStatus } from '../cache';
import { costUsd } from '../models';
import type { Target } from '../models';

export interface RecordedCall {
  dialect: string;
  requestId: string;
  userId: string | null;
  organizationId: string | null;
  text: string;
}

export interface Settled {
  status: RequestStatus;
  target: Target;
  attempts: number;
  latencyMs: number;
  ttftMs: number | null;
  stream: boolean;
  response: string | null;
  usage: Usage | null;
  errorCode: string | null;
  cacheStatus: CacheStatus;
  // Time spent waiting on providers (retries and backoff included); latency minus this is the
  // gateway's own overhead.
  upstreamMs: number;
}

export function requestRow(call: RecordedCall, s: Settled): NewRequestRow {
  const usage = s.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  return {
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
    costUsd: s.cacheStatus === 'HIT' ? 0 : costUsd(s.target.entry, usage.promptTokens, usage.completionTokens),
    latencyMs: Math.round(s.latencyMs),
    ttftMs: s.ttftMs === null ? null : Math.round(s.ttftMs),
    stream: s.stream,
    attempts: s.attempts,
    cacheStatus: s.cacheStatus,
    requestId: call.requestId,
  };
}

// One row per call, whatever its dialect and outcome. A cache hit costs nothing upstream.
// Written here only where the answer needs the row's id (the requests endpoint); every other call's row
// goes with its request-log event (call-context.ts reports it).
export function recordCall(db: Database, call: RecordedCall, s: Settled): Promise<number> {
  return insertRequest(db, requestRow(call, s));
}

export function logFailure(log: Logger, err: ApiError, target: Target): void {
  const failure = isUpstreamFailure(err.cause) ? err.cause : undefined;
  log.warn('provider call failed', {
    provider: failure?.provider ?? target.provider.id,
    model: target.model,
    code: err.code,
    upstream_status: failure?.upstreamStatus,
    reason: failure?.reason,
  });
}
