import { env, runDurableObjectAlarm } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countingLimiter } from '../../../test/helpers/counting-limiter';
import { acquire, limiter } from './acquire';
import { LeaseBook, type LeaseSettings } from './lease-book';
import { quotaPeriod } from './quota-ledger';
import type { LimitPolicy } from './rate-limiter';

// Leases across several isolates. Each LeaseBook plays one isolate (its leased tokens and demand); all of
// them talk to the same RateLimiter objects, as isolates on different machines would. The promise under
// test: however the books interleave, no more is admitted than the limit — and when demand exceeds it,
// exactly the limit is, because every leased token is spent or given back.

const SETTINGS: LeaseSettings = { ttlMs: 1_000, max: 32 };
const name = (prefix: string) => `${prefix}:${crypto.randomUUID()}`;
const books = (n: number) => Array.from({ length: n }, () => new LeaseBook());

async function admitted(takes: Promise<{ decision: { allowed: boolean } }>[]): Promise<number> {
  return (await Promise.all(takes)).filter((t) => t.decision.allowed).length;
}

afterEach(() => {
  vi.useRealTimers();
});

// The bucket refills a token every 600 ms; a stopped clock keeps the count about the limit alone (the
// test pool runs the objects in this isolate, so they see the faked Date too).
function freezeClock() {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now());
}

describe('leases across several isolates', () => {
  const bucket: LimitPolicy = { kind: 'bucket', capacity: 20, refillPerMinute: 100 };

  it('200 concurrent takes over 4 isolates against a burst of 20 admit exactly 20', async () => {
    freezeClock();
    const key = name('client:ip');
    const isolates = books(4);
    const takes = Array.from({ length: 200 }, (_, i) => acquire(env, key, bucket, SETTINGS, isolates[i % 4]));
    expect(await admitted(takes)).toBe(20);
  });

  it('still exactly 20 when the isolates already hold leases of several tokens', async () => {
    freezeClock();
    const key = name('client:ip');
    const isolates = books(4);
    const counting = countingLimiter();
    // Warm-up: sequential takes in each isolate build up demand, so calls lease more than one token.
    let warm = 0;
    for (const book of isolates) {
      for (let i = 0; i < 3; i += 1) {
        if ((await acquire(counting.env, key, bucket, SETTINGS, book)).decision.allowed) warm += 1;
      }
    }
    expect(warm).toBe(12);
    expect(counting.calls.lease).toBeLessThan(12);
    const flood = Array.from({ length: 200 }, (_, i) => acquire(counting.env, key, bucket, SETTINGS, isolates[i % 4]));
    expect(warm + (await admitted(flood))).toBe(20);
  });

  it('never admits more than an hourly window, however takes and time interleave', async () => {
    freezeClock();
    // Mid-hour, so the window cannot end during the test.
    const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 1_800_000;
    vi.setSystemTime(start);
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 6; round += 1) {
      const key = name('org');
      const limit = 10 + Math.floor(random() * 60);
      const window: LimitPolicy = { kind: 'window', limit, windowSeconds: 3600 };
      const isolates = books(2 + Math.floor(random() * 4));
      let total = 0;
      for (let wave = 0; wave < 12; wave += 1) {
        const size = 1 + Math.floor(random() * 40);
        const takes = Array.from({ length: size }, () =>
          acquire(env, key, window, SETTINGS, isolates[Math.floor(random() * isolates.length)]),
        );
        total += await admitted(takes);
        // Leases expire now and then; their unspent tokens go back with the next call.
        vi.setSystemTime(Date.now() + Math.floor(random() * 700));
        expect(total).toBeLessThanOrEqual(limit);
      }
      // Demand far above the limit: whatever was leased and not spent has come back or is spent now.
      vi.setSystemTime(Date.now() + SETTINGS.ttlMs);
      for (const book of isolates) {
        total += await admitted(Array.from({ length: limit }, () => acquire(env, key, window, SETTINGS, book)));
      }
      expect({ round, total }).toEqual({ round, total: limit });
    }
  }, 30_000);
});

describe('an isolate with a lease', () => {
  const window: LimitPolicy = { kind: 'window', limit: 10_000, windowSeconds: 3600 };

  it('spends locally: 200 sequential takes make a handful of object calls and count down by one', async () => {
    freezeClock();
    vi.setSystemTime(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 60_000);
    const key = name('org');
    const counting = countingLimiter();
    const book = new LeaseBook();
    const remaining: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      const taken = await acquire(counting.env, key, window, SETTINGS, book);
      expect(taken.decision.allowed).toBe(true);
      remaining.push(taken.decision.remaining);
    }
    expect(remaining).toEqual(Array.from({ length: 200 }, (_, i) => 9_999 - i));
    expect(counting.calls.lease).toBeLessThanOrEqual(15);
  });

  it('never spends an expired lease, and gives its unspent rest back with the next call', async () => {
    freezeClock();
    vi.setSystemTime(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 60_000);
    const key = name('org');
    const counting = countingLimiter();
    const book = new LeaseBook();
    for (let i = 0; i < 10; i += 1) await acquire(counting.env, key, window, SETTINGS, book);
    // The object counts this isolate's unspent tokens as taken (a direct take counts one more).
    const held = 10_000 - 10 - 1 - (await limiter(env, key).take(window)).remaining;
    expect(held).toBeGreaterThan(0);
    vi.setSystemTime(Date.now() + SETTINGS.ttlMs);
    const calls = counting.calls.lease;
    // A take that leases nothing new: exactly one call, which carries the expired lease's rest back.
    expect((await acquire(counting.env, key, window, { ttlMs: 0, max: 1 }, book)).decision.allowed).toBe(true);
    expect(counting.calls.lease).toBe(calls + 1);
    // 10 + 1 direct + 1 + this direct take: the held tokens are no longer counted.
    expect((await limiter(env, key).take(window)).remaining).toBe(10_000 - 13);
  });
});

describe('the monthly quota in the organization object', () => {
  async function organization(limit: number, used: number): Promise<string> {
    const id = crypto.randomUUID();
    await env.DB.prepare(
      'INSERT INTO organizations (id, name, slug, api_quota_limit, api_quota_used, quota_period) VALUES (?, ?, ?, ?, ?, ?)',
    )
      .bind(id, 'Quota', `quota-${id}`, limit, used, quotaPeriod())
      .run();
    return id;
  }

  const ledger = async (id: string) =>
    (
      await env.DB.prepare('SELECT api_quota_used AS used FROM organizations WHERE id = ?').bind(id).first<{
        used: number;
      }>()
    )?.used;

  it('50 parallel calls over 5 isolates with 10 left admit exactly 10; the ledger ends at the limit', async () => {
    const id = await organization(15, 5);
    const policy: LimitPolicy = { kind: 'quota', limit: 15, organizationId: id };
    const isolates = books(5);
    const takes = Array.from({ length: 50 }, (_, i) => acquire(env, `org:${id}`, policy, SETTINGS, isolates[i % 5]));
    expect(await admitted(takes)).toBe(10);
    const object = limiter(env, `org:${id}`);
    expect(await object.quotaUsed(id)).toBe(15);
    // Written behind: the alarm carries the change to D1 (run now, if it has not already run by itself).
    await runDurableObjectAlarm(object);
    expect(await ledger(id)).toBe(15);
  });

  it('seeds from the ledger, writes back only the change, and credits returned leases', async () => {
    const id = await organization(1_000, 40);
    const policy: LimitPolicy = { kind: 'quota', limit: 1_000, organizationId: id };
    const book = new LeaseBook();
    const object = limiter(env, `org:${id}`);
    for (let i = 0; i < 20; i += 1)
      expect((await acquire(env, `org:${id}`, policy, SETTINGS, book)).decision.allowed).toBe(true);
    const counted = await object.quotaUsed(id);
    // 40 before, 20 calls, plus whatever this isolate still holds.
    expect(counted).toBeGreaterThanOrEqual(60);
    // Meanwhile the ledger was changed by someone else (the D1 fallback, say): the object adds its change.
    await env.DB.prepare('UPDATE organizations SET api_quota_used = api_quota_used + 1 WHERE id = ?').bind(id).run();
    await runDurableObjectAlarm(object);
    expect(await ledger(id)).toBe(counted + 1);
    // The lease's unspent tokens come back with the next call once it expires.
    freezeClock();
    vi.setSystemTime(Date.now() + SETTINGS.ttlMs);
    await acquire(env, `org:${id}`, policy, { ttlMs: 0, max: 1 }, book);
    expect(await object.quotaUsed(id)).toBe(61);
    vi.useRealTimers();
    await runDurableObjectAlarm(object);
    expect(await ledger(id)).toBe(62);
  });

  it('starts a new month from zero, whatever the ledger says of the last', async () => {
    const id = await organization(3, 0);
    await env.DB.prepare("UPDATE organizations SET api_quota_used = 3, quota_period = '2000-01' WHERE id = ?")
      .bind(id)
      .run();
    const policy: LimitPolicy = { kind: 'quota', limit: 3, organizationId: id };
    const book = new LeaseBook();
    const takes = Array.from({ length: 6 }, () => acquire(env, `org:${id}`, policy, SETTINGS, book));
    expect(await admitted(takes)).toBe(3);
  });
});
