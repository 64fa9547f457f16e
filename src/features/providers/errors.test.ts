import { afterEach, describe, expect, it, vi } from 'vitest';
import { isUpstreamFailure, parseRetryAfter, providerFailure, providerTimeout } from './errors';

// Retry-After (RFC 9110 §10.2.3) is either delay-seconds (a non-negative integer) or an HTTP-date
// (IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete RFC 850 / asctime forms).
// The result is the wait in milliseconds; undefined when there is no usable value.

afterEach(() => vi.useRealTimers());

describe('Retry-After parsing', () => {
  it('reads delay-seconds as milliseconds', () => {
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter('1')).toBe(1_000);
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(' 7 ')).toBe(7_000);
  });

  it('reads an HTTP-date as the time left until it, in each of the three date forms', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(1994, 10, 6, 8, 49, 0));
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(37_000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(37_000);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994')).toBe(37_000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 09:49:00 GMT')).toBe(3_600_000);
  });

  it('reads a date already past as no wait', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2030, 0, 1));
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBe(0);
  });

  it('has no value for a missing, empty or unreadable header', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('   ')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('NaN')).toBeUndefined();
    expect(parseRetryAfter('Infinity')).toBeUndefined();
  });
});

describe('upstream failures', () => {
  // README, Reliability: 429, 5xx and network failures (no status) are retried; other 4xx never.
  it('marks 429, 5xx and status-less failures retryable, and every other status not', () => {
    const retryable = (status?: number) => {
      const cause = providerFailure('openai', 'test', status).cause;
      return isUpstreamFailure(cause) ? cause.retryable : 'not an upstream failure';
    };
    expect([undefined, 429, 500, 502, 503, 504, 529].map(retryable)).toEqual(Array(7).fill(true));
    expect([400, 401, 403, 404, 408, 409, 413, 422, 302].map(retryable)).toEqual(Array(9).fill(false));
  });

  it('carries the status and Retry-After to the router, and only a generic message to the client', () => {
    const err = providerFailure('anthropic', 'status:429', 429, 1_500);
    expect(err).toMatchObject({ code: 'PROVIDER_ERROR', status: 502 });
    expect(err.cause).toEqual({
      provider: 'anthropic',
      upstreamStatus: 429,
      retryable: true,
      retryAfterMs: 1_500,
      reason: 'status:429',
    });
    expect(err.message).not.toContain('status:429');
  });

  it('reports a timeout as PROVIDER_TIMEOUT (504), retryable', () => {
    const err = providerTimeout('bedrock');
    expect(err).toMatchObject({ code: 'PROVIDER_TIMEOUT', status: 504 });
    expect(err.cause).toMatchObject({ provider: 'bedrock', retryable: true, upstreamStatus: undefined });
  });
});
