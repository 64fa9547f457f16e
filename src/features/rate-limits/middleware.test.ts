import { describe, expect, it } from 'vitest';
import type { Identity } from '../accounts';
import { loadConfig } from '../../config';
import { clientKeyOf, mostConstrained, rateLimitError, rateLimitHeaders, tierLimit } from './middleware';
import type { LimitDecision } from './rate-limiter';

// API.md, rate limits: per client a bucket, per organization an hourly limit by tier (free, pro,
// enterprise; custom as configured); every response carries the X-RateLimit-* headers of the most
// constrained limit, and a 429 adds Retry-After.

const decision = (o: Partial<LimitDecision>): LimitDecision => ({
  allowed: true,
  limit: 100,
  remaining: 10,
  resetAt: 2_000_000_000,
  windowSeconds: 60,
  retryAfterSeconds: 0,
  ...o,
});

const refused = (retryAfterSeconds: number, o: Partial<LimitDecision> = {}) =>
  decision({ allowed: false, remaining: 0, retryAfterSeconds, ...o });

// Every ordering of `items`: the choice must not depend on which limiter answered first.
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

function expectChosen(decisions: readonly LimitDecision[], chosen: LimitDecision) {
  for (const order of permutations(decisions)) expect(mostConstrained(order)).toBe(chosen);
}

describe('the most constrained limit', () => {
  it('is the only one when there is one', () => {
    const only = decision({});
    expect(mostConstrained([only])).toBe(only);
  });

  it('is a refusal over any admission, even one with nothing left', () => {
    const no = refused(5, { windowSeconds: 3600 });
    expectChosen([decision({ remaining: 0 }), no], no);
  });

  it('among refusals, the longest wait, since that is when a retry can succeed', () => {
    const longest = refused(900, { windowSeconds: 3600, limit: 100 });
    expectChosen([refused(1), longest, refused(30)], longest);
  });

  it('among admissions, the fewest remaining', () => {
    const tightest = decision({ remaining: 3, windowSeconds: 3600, resetAt: 2_000_003_000 });
    expectChosen([decision({ remaining: 5 }), tightest, decision({ remaining: 80 })], tightest);
  });

  it('among equally tight admissions, the earliest reset', () => {
    const earliest = decision({ remaining: 4, resetAt: 2_000_000_010, windowSeconds: 3600 });
    expectChosen([decision({ remaining: 4, resetAt: 2_000_000_060 }), earliest], earliest);
  });

  it('has no answer without decisions', () => {
    expect(() => mostConstrained([])).toThrow(RangeError);
  });
});

describe('tier limits', () => {
  // Distinct values, so each tier is seen to read its own setting.
  const config = loadConfig({ TIER_LIMIT_FREE: '7', TIER_LIMIT_PRO: '70', TIER_LIMIT_ENTERPRISE: '700' });

  it('reads free, pro and enterprise from their settings, whatever the organization settings say', () => {
    const settings = { rate_limit_per_hour: 5 };
    expect(tierLimit(config, 'free', settings)).toBe(7);
    expect(tierLimit(config, 'pro', settings)).toBe(70);
    expect(tierLimit(config, 'enterprise', settings)).toBe(700);
  });

  it('defaults to the seed values: free 100, pro 1,000, enterprise 10,000 per hour', () => {
    const defaults = loadConfig({});
    expect(['free', 'pro', 'enterprise'].map((tier) => tierLimit(defaults, tier, null))).toEqual([100, 1_000, 10_000]);
  });

  it('gives custom its own positive whole rate_limit_per_hour', () => {
    expect(tierLimit(config, 'custom', { rate_limit_per_hour: 1 })).toBe(1);
    expect(tierLimit(config, 'custom', { rate_limit_per_hour: 250_000, other: true })).toBe(250_000);
  });

  it('gives custom the enterprise limit when its setting is unusable, never zero or a lock-out', () => {
    for (const settings of [
      null,
      undefined,
      {},
      { rate_limit_per_hour: 0 },
      { rate_limit_per_hour: -5 },
      { rate_limit_per_hour: 2.5 },
      { rate_limit_per_hour: '250' },
      { rate_limit_per_hour: Number.NaN },
      { rate_limit_per_hour: Number.POSITIVE_INFINITY },
      { rate_limit_per_hour: null },
    ]) {
      expect(tierLimit(config, 'custom', settings), JSON.stringify(settings)).toBe(700);
    }
  });
});

describe('rate-limit headers', () => {
  it('report limit, remaining, reset (Unix seconds) and window, without Retry-After when admitted', () => {
    expect(
      rateLimitHeaders(decision({ limit: 100, remaining: 42, resetAt: 2_000_000_123, windowSeconds: 60 })),
    ).toEqual({
      'X-RateLimit-Limit': '100',
      'X-RateLimit-Remaining': '42',
      'X-RateLimit-Reset': '2000000123',
      'X-RateLimit-Window': '60',
    });
  });

  it('add Retry-After to a refusal, which is a 429 RATE_LIMIT_EXCEEDED', () => {
    const no = refused(17, { limit: 5, resetAt: 2_000_003_600, windowSeconds: 3600 });
    expect(rateLimitHeaders(no)).toEqual({
      'X-RateLimit-Limit': '5',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '2000003600',
      'X-RateLimit-Window': '3600',
      'Retry-After': '17',
    });
    expect(rateLimitError(no)).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      status: 429,
      headers: expect.objectContaining({ 'Retry-After': '17' }),
    });
  });
});

describe('the client a request counts against', () => {
  const user: Identity = { via: 'jwt', userId: 'u1', organizationId: 'o1', role: 'member' };
  const headers = new Headers({ 'cf-connecting-ip': '203.0.113.9', 'x-forwarded-for': '198.51.100.1' });

  it('is the API key, else the user, else the IP Cloudflare saw', () => {
    expect(clientKeyOf({ ...user, via: 'api_key', apiKeyId: 'k1' }, headers)).toBe('key:k1');
    expect(clientKeyOf(user, headers)).toBe('user:u1');
    expect(clientKeyOf(null, headers)).toBe('ip:203.0.113.9');
  });

  it('never takes the IP from a header the client can write', () => {
    expect(
      clientKeyOf(null, new Headers({ 'x-forwarded-for': '198.51.100.1', 'x-real-ip': '198.51.100.2' })),
    ).not.toMatch(/198\.51\.100/);
  });
});
