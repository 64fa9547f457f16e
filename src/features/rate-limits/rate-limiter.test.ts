import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { LimitPolicy } from './rate-limiter';

// The limiter's arithmetic at a clock the test sets (take(policy, now)). A token bucket of capacity C
// refilled at R per minute holds min(C, tokens + elapsed × R/60,000 ms) and admits while a whole token
// is left; a fixed window of W seconds is aligned to the epoch, [k·W, (k+1)·W). test/integration/
// rate-limit.test.ts covers the seed values (20 burst, 100/min, hourly windows), refunds and clean-up.

// 2030-01-01T00:00:00Z: a whole number of hours and minutes since the epoch, and later than any alarm
// the object schedules could fire during the test.
const T0 = Date.UTC(2030, 0, 1);
const limiter = () => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`unit:${crypto.randomUUID()}`));

describe('token bucket', () => {
  it('admits exactly the capacity of concurrent takes, each with a distinct remaining count', async () => {
    const stub = limiter();
    const policy: LimitPolicy = { kind: 'bucket', capacity: 10, refillPerMinute: 60 };
    const decisions = await Promise.all(Array.from({ length: 50 }, () => stub.take(policy, T0)));
    const admitted = decisions.filter((d) => d.allowed);
    expect(admitted).toHaveLength(10);
    expect(admitted.map((d) => d.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const d of decisions.filter((x) => !x.allowed)) expect(d).toMatchObject({ remaining: 0, limit: 60 });
  });

  it('asks a refused client to wait until one whole token has refilled, rounded up to the second', async () => {
    const stub = limiter();
    // 7 per minute: a token every 60/7 s ≈ 8.57 s, so Retry-After is 9.
    const policy: LimitPolicy = { kind: 'bucket', capacity: 1, refillPerMinute: 7 };
    expect((await stub.take(policy, T0)).allowed).toBe(true);
    expect(await stub.take(policy, T0)).toMatchObject({ allowed: false, retryAfterSeconds: 9 });
    // Half a token later, half the wait is left: 60/14 s ≈ 4.29 s → 5.
    expect(await stub.take(policy, T0 + 60_000 / 14)).toMatchObject({ allowed: false, retryAfterSeconds: 5 });
    expect((await stub.take(policy, T0 + 60_000 / 7 + 1)).allowed).toBe(true);
  });

  it('does not charge refused takes: the next token comes when it would have anyway', async () => {
    const stub = limiter();
    const policy: LimitPolicy = { kind: 'bucket', capacity: 2, refillPerMinute: 60 }; // a token a second
    await stub.take(policy, T0);
    await stub.take(policy, T0);
    for (let i = 0; i < 5; i++) expect((await stub.take(policy, T0 + 500)).allowed).toBe(false);
    expect(await stub.take(policy, T0 + 1_000)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('reports remaining as whole tokens and the reset as the second the bucket is full again', async () => {
    const stub = limiter();
    const policy: LimitPolicy = { kind: 'bucket', capacity: 3, refillPerMinute: 60 };
    await stub.take(policy, T0);
    await stub.take(policy, T0);
    // 1.5 s later: 1 + 1.5 = 2.5 tokens; this take leaves 1.5, shown as 1, full in 1.5 s.
    expect(await stub.take(policy, T0 + 1_500)).toMatchObject({
      allowed: true,
      remaining: 1,
      resetAt: Math.ceil((T0 + 3_000) / 1000),
    });
  });
});

describe('fixed window', () => {
  it('is aligned to the epoch, whatever the moment of the first take', async () => {
    const stub = limiter();
    const minute: LimitPolicy = { kind: 'window', limit: 2, windowSeconds: 60 };
    const start = T0 / 1000;
    // 59.9 s into a minute: the window still resets at the minute, 1 s (rounded up) away.
    expect(await stub.take(minute, T0 + 59_900)).toMatchObject({ allowed: true, remaining: 1, resetAt: start + 60 });
    expect(await stub.take(minute, T0 + 59_950)).toMatchObject({ allowed: true, remaining: 0, resetAt: start + 60 });
    expect(await stub.take(minute, T0 + 59_999)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    // The next window is fresh.
    expect(await stub.take(minute, T0 + 60_000)).toMatchObject({ allowed: true, remaining: 1, resetAt: start + 120 });
  });

  it('keeps windows of different lengths apart in one object', async () => {
    const stub = limiter();
    const minute: LimitPolicy = { kind: 'window', limit: 1, windowSeconds: 60 };
    const hour: LimitPolicy = { kind: 'window', limit: 3, windowSeconds: 3600 };
    expect((await stub.take(minute, T0)).allowed).toBe(true);
    expect((await stub.take(minute, T0)).allowed).toBe(false);
    expect(await stub.take(hour, T0)).toMatchObject({ allowed: true, remaining: 2, windowSeconds: 3600 });
  });

  it('reports the limit and window it counts in', async () => {
    const d = await limiter().take({ kind: 'window', limit: 5, windowSeconds: 3600 }, T0 + 1_000);
    expect(d).toMatchObject({ allowed: true, limit: 5, remaining: 4, windowSeconds: 3600, retryAfterSeconds: 0 });
    expect(d.resetAt).toBe(T0 / 1000 + 3600);
  });
});

describe('leases', () => {
  it('are sized to what is left: a quarter of it while plenty is left, one at a time near empty, never beyond', async () => {
    const stub = limiter();
    const window: LimitPolicy = { kind: 'window', limit: 100, windowSeconds: 3600 };
    // 99 left after the caller's own token: 1 + ⌊99 / 4⌋ = 25.
    expect(await stub.lease(window, 32, T0)).toMatchObject({ allowed: true, granted: 25, remaining: 75 });
    // Asking for less gets no more than asked.
    expect(await stub.lease(window, 3, T0)).toMatchObject({ granted: 3, remaining: 72 });
    const grants: number[] = [];
    for (;;) {
      const lease = await stub.lease(window, 32, T0);
      if (!lease.allowed) break;
      grants.push(lease.granted);
    }
    // Shrinking shares, then single tokens, and exactly the limit in all.
    expect(25 + 3 + grants.reduce((a, b) => a + b, 0)).toBe(100);
    expect(grants.slice(-4)).toEqual([1, 1, 1, 1]);
    expect(grants).toEqual([...grants].sort((a, b) => b - a));
  });

  it('lease from a bucket the same way, and a refused lease grants nothing', async () => {
    const stub = limiter();
    const bucket: LimitPolicy = { kind: 'bucket', capacity: 20, refillPerMinute: 60 };
    expect(await stub.lease(bucket, 32, T0)).toMatchObject({ granted: 5, remaining: 15 });
    let total = 5;
    for (let lease = await stub.lease(bucket, 32, T0); lease.allowed; lease = await stub.lease(bucket, 32, T0)) {
      total += lease.granted;
    }
    expect(total).toBe(20);
    expect(await stub.lease(bucket, 32, T0)).toMatchObject({ allowed: false, granted: 0, retryAfterSeconds: 1 });
  });

  it('takes back the unspent rest of a lease, into the window it was charged to only', async () => {
    const stub = limiter();
    const window: LimitPolicy = { kind: 'window', limit: 10, windowSeconds: 3600 };
    const first = await stub.lease(window, 32, T0);
    expect(first).toMatchObject({ granted: 3, remaining: 7 });
    // Two of three unspent: given back with the next call, which leases again from 9 left.
    expect(await stub.lease(window, 1, T0, { count: 2, resetAt: first.resetAt })).toMatchObject({ remaining: 8 });
    // A return for another window is ignored.
    expect(await stub.lease(window, 1, T0, { count: 5, resetAt: first.resetAt - 3600 })).toMatchObject({
      remaining: 7,
    });
  });
});
