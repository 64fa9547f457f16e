import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../config';
import { retryDelay, routeBudgetMs } from './router';

// Backoff is "full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th retry
// (n from 0) sleeps a uniformly random time in [0, min(cap, base * 2^n)). An upstream's Retry-After is
// a floor on that sleep, and a Retry-After longer than the cap means "do not retry here" (README,
// Reliability). Expectations below follow from that definition, with a base of 100 ms and a cap of 1 s.
const BASE = 100;
const CAP = 1_000;
const config = loadConfig({
  RETRY_BASE_DELAY_MS: String(BASE),
  RETRY_MAX_DELAY_MS: String(CAP),
  RETRY_MAX_RETRIES: '3',
  PROVIDER_TIMEOUT_MS: '2000',
});
const ceilingOf = (retry: number) => Math.min(CAP, BASE * 2 ** retry);

afterEach(() => vi.restoreAllMocks());

// Draws many delays with the real random source.
const draws = (retry: number, retryAfterMs?: number, n = 2_000) =>
  Array.from({ length: n }, () => retryDelay(config, retry, retryAfterMs));

describe('retry delay', () => {
  it('scales a uniform draw by the exponential ceiling: base, 2×base, 4×base, … up to the cap', () => {
    const random = vi.spyOn(Math, 'random');
    for (const r of [0, 0.25, 0.5, 0.999_999]) {
      random.mockReturnValue(r);
      expect([0, 1, 2, 3, 4, 5, 20].map((retry) => retryDelay(config, retry, undefined))).toEqual([
        r * 100,
        r * 200,
        r * 400,
        r * 800,
        r * 1_000,
        r * 1_000,
        r * 1_000,
      ]);
    }
  });

  it('is full jitter: spread over the whole of [0, ceiling), not bunched near the ceiling', () => {
    for (const retry of [0, 2, 5]) {
      const ceiling = ceilingOf(retry);
      const delays = draws(retry).map((d) => d ?? Number.NaN);
      for (const d of delays) {
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }
      // With 2,000 uniform draws each bound fails with probability 0.9^2000 (about 1e-92).
      expect(Math.min(...delays)).toBeLessThan(ceiling * 0.1);
      expect(Math.max(...delays)).toBeGreaterThan(ceiling * 0.9);
      // Not a handful of fixed values either.
      expect(new Set(delays).size).toBeGreaterThan(1_000);
    }
  });

  it('never waits less than Retry-After, whatever the draw', () => {
    const random = vi.spyOn(Math, 'random');
    random.mockReturnValue(0);
    expect(retryDelay(config, 0, 700)).toBe(700);
    expect(retryDelay(config, 3, 700)).toBe(700);
    // A draw above the floor is kept: the floor only raises short waits.
    random.mockReturnValue(0.99);
    expect(retryDelay(config, 3, 700)).toBe(0.99 * 800);
    random.mockRestore();
    for (const retry of [0, 1, 3]) {
      for (const d of draws(retry, 450, 500)) {
        expect(d).toBeGreaterThanOrEqual(450);
        expect(d).toBeLessThanOrEqual(Math.max(450, ceilingOf(retry)));
      }
    }
  });

  it('treats Retry-After: 0 like no Retry-After', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    expect(retryDelay(config, 1, 0)).toBe(retryDelay(config, 1, undefined));
  });

  it('gives up on the target when Retry-After is longer than the cap, and waits it out when it equals the cap', () => {
    expect(retryDelay(config, 0, CAP + 1)).toBeUndefined();
    expect(retryDelay(config, 3, 60_000)).toBeUndefined();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(retryDelay(config, 0, CAP)).toBe(CAP);
  });

  it('never sleeps longer than the cap, the bound the routing budget assumes', () => {
    for (const retry of [0, 1, 2, 3, 10, 60]) {
      for (const retryAfter of [undefined, 0, 500, CAP]) {
        for (const d of draws(retry, retryAfter, 200)) expect(d).toBeLessThanOrEqual(CAP);
      }
    }
  });
});

describe('routing budget', () => {
  // Each target: RETRY_MAX_RETRIES + 1 attempts at PROVIDER_TIMEOUT_MS each, and a backoff of at most
  // RETRY_MAX_DELAY_MS between two attempts (none after the last, none between targets).
  it('covers every attempt of every target at its full deadline plus the longest backoffs', () => {
    // 3 retries → 4 attempts × 2,000 ms + 3 backoffs × 1,000 ms = 11,000 ms per target.
    expect(routeBudgetMs(config, 1)).toBe(11_000);
    expect(routeBudgetMs(config, 3)).toBe(33_000);
    expect(routeBudgetMs(config, 0)).toBe(0);
  });

  it('is one deadline per target without retries', () => {
    const noRetries = loadConfig({ RETRY_MAX_RETRIES: '0', PROVIDER_TIMEOUT_MS: '2500', RETRY_MAX_DELAY_MS: '9000' });
    expect(routeBudgetMs(noRetries, 2)).toBe(5_000);
  });

  it('follows the defaults: 2 retries, 30 s deadlines, 5 s cap', () => {
    // 3 × 30,000 + 2 × 5,000 per target.
    expect(routeBudgetMs(loadConfig({}), 2)).toBe(2 * 100_000);
  });
});
