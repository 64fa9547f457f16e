import { ApiError } from '../../lib/errors';
import type { ProviderId } from './types';

// What the gateway needs to know about an upstream failure to decide on retries and to record it.
// It rides as the ApiError's cause so the client only ever sees the generic message.
export interface UpstreamFailure {
  provider: ProviderId;
  upstreamStatus: number | undefined;
  retryable: boolean;
  retryAfterMs: number | undefined;
  reason: string;
}

export function isUpstreamFailure(value: unknown): value is UpstreamFailure {
  return typeof value === 'object' && value !== null && 'provider' in value && 'retryable' in value;
}

export function providerTimeout(provider: ProviderId, reason = 'timeout'): ApiError {
  const cause: UpstreamFailure = {
    provider,
    upstreamStatus: undefined,
    retryable: true,
    retryAfterMs: undefined,
    reason,
  };
  return new ApiError('PROVIDER_TIMEOUT', undefined, { cause });
}

export function providerFailure(
  provider: ProviderId,
  reason: string,
  upstreamStatus?: number,
  retryAfterMs?: number,
): ApiError {
  const retryable = upstreamStatus === undefined || upstreamStatus === 429 || upstreamStatus >= 500;
  const cause: UpstreamFailure = { provider, upstreamStatus, retryable, retryAfterMs, reason };
  const message =
    upstreamStatus === undefined
      ? 'The AI provider failed to answer'
      : `The AI provider failed to answer (upstream status ${upstreamStatus})`;
  return new ApiError('PROVIDER_ERROR', message, { cause });
}

// Retry-After is either delta-seconds or an HTTP date.
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
