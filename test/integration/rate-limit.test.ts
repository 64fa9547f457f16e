import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config';
import type { LimitDecision, LimitPolicy, RateLimiter } from '../../src/features/rate-limits/rate-limiter';
import { mostConstrained, takeWebSocketSlot, tierLimit } from '../../src/features/rate-limits/middleware';
import { createApiKey, memberOf, register, type Account } from '../helpers/auth';
import { call, expectEnvelope, type EnvOverrides } from '../helpers/http';

// The suite runs with generous limits (vitest.config.ts); this file restores the seeds' values.
const REAL = {
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_PER_MINUTE: '100',
  RATE_LIMIT_BURST: '20',
  TIER_LIMIT_FREE: '100',
  TIER_LIMIT_PRO: '1000',
  TIER_LIMIT_ENTERPRISE: '10000',
  WS_CONNECTIONS_PER_MINUTE: '5',
} satisfies EnvOverrides;

const freshIp = () => `2001:db8:${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}::1`;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const header = (res: Response, name: string) => res.headers.get(name);
const rateHeaders = (res: Response) => ({
  limit: header(res, 'x-ratelimit-limit'),
  remaining: header(res, 'x-ratelimit-remaining'),
  reset: Number(header(res, 'x-ratelimit-reset')),
  window: header(res, 'x-ratelimit-window'),
});

function models(headers: Record<string, string>, overrides: EnvOverrides = REAL) {
  return call('/api/v1/models', { headers }, overrides);
}

function burst(n: number, headers: Record<string, string>, overrides: EnvOverrides = REAL) {
  return Promise.all(Array.from({ length: n }, () => models(headers, overrides)));
}

// Fixed windows are aligned to the epoch; a test that must stay inside one waits out a boundary
// that is about to pass.
async function clearOfBoundary(windowSeconds: number, marginSeconds = 3) {
  const left = windowSeconds - ((Date.now() / 1000) % windowSeconds);
  if (left < marginSeconds) await new Promise((r) => setTimeout(r, left * 1000 + 50));
}

async function setTier(account: Account, tier: string, settings: Record<string, unknown> = {}) {
  await env.DB.prepare('UPDATE organizations SET subscription_tier = ?, settings = ? WHERE id = ?')
    .bind(tier, JSON.stringify(settings), account.organizationId)
    .run();
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

// The bucket refills a token every 600 ms, so how many of a batch are admitted depends on how long the
// batch takes. To test the count alone, the clock is stopped: the test pool runs the worker and its
// Durable Objects in the test's isolate, so they see the faked Date as well.
async function atFrozenClock<T>(work: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now());
  try {
    return await work();
  } finally {
    vi.useRealTimers();
  }
}

describe('configuration', () => {
  it('defaults to the seeds: 100/min with burst 20, free 100/h, pro 1,000/h, enterprise 10,000/h, 5 WS/min', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      RATE_LIMIT_ENABLED: true,
      RATE_LIMIT_PER_MINUTE: 100,
      RATE_LIMIT_BURST: 20,
      TIER_LIMIT_FREE: 100,
      TIER_LIMIT_PRO: 1000,
      TIER_LIMIT_ENTERPRISE: 10000,
      WS_CONNECTIONS_PER_MINUTE: 5,
    });
    expect(tierLimit(config, 'free', {})).toBe(100);
    expect(tierLimit(config, 'pro', {})).toBe(1000);
    expect(tierLimit(config, 'enterprise', {})).toBe(10000);
    expect(tierLimit(config, 'custom', { rate_limit_per_hour: 250 })).toBe(250);
    // Unusable custom settings fall back to the enterprise limit rather than locking the organization out.
    expect(tierLimit(config, 'custom', {})).toBe(10000);
    expect(tierLimit(config, 'custom', { rate_limit_per_hour: '250' })).toBe(10000);
    expect(tierLimit(config, 'custom', { rate_limit_per_hour: -1 })).toBe(10000);
  });

  it('picks the most constrained limit: refusals first (longest wait), then lowest remaining, then earliest reset', () => {
    const d = (o: Partial<LimitDecision>): LimitDecision => ({
      allowed: true,
      limit: 100,
      remaining: 10,
      resetAt: 1000,
      windowSeconds: 60,
      retryAfterSeconds: 0,
      ...o,
    });
    expect(mostConstrained([d({ remaining: 5 }), d({ remaining: 3, windowSeconds: 3600 })]).windowSeconds).toBe(3600);
    expect(mostConstrained([d({ resetAt: 900 }), d({ resetAt: 800, windowSeconds: 3600 })]).resetAt).toBe(800);
    const refused = d({ allowed: false, remaining: 0, retryAfterSeconds: 30, windowSeconds: 3600 });
    expect(mostConstrained([d({ remaining: 0 }), refused])).toBe(refused);
    const longer = d({ allowed: false, remaining: 0, retryAfterSeconds: 900, windowSeconds: 3600 });
    expect(mostConstrained([d({ allowed: false, remaining: 0, retryAfterSeconds: 1 }), longer])).toBe(longer);
  });
});

describe('per-client token bucket (100/min, burst 20)', () => {
  it('admits exactly the burst of 200 concurrent requests; the admitted ones count down 19..0', async () => {
    const headers = { 'cf-connecting-ip': freshIp() };
    const responses = await atFrozenClock(() => burst(200, headers));

    const admitted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(20);
    expect(refused).toHaveLength(180);
    const remaining = admitted.map((r) => Number(header(r, 'x-ratelimit-remaining'))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const r of admitted) {
      expect(header(r, 'x-ratelimit-limit')).toBe('100');
      expect(header(r, 'x-ratelimit-window')).toBe('60');
      expect(header(r, 'retry-after')).toBeNull();
    }
    for (const r of refused) {
      const body = await expectEnvelope(r, 429, 'RATE_LIMIT_EXCEEDED');
      expect(body.error.message).toMatch(/rate limit/i);
      expect(header(r, 'retry-after')).toBe('1');
      expect(rateHeaders(r)).toMatchObject({ limit: '100', remaining: '0', window: '60' });
    }
  });

  it('admits the burst plus only what refilled meanwhile on the real clock', async () => {
    const headers = { 'cf-connecting-ip': freshIp() };
    const started = Date.now();
    const responses = await burst(200, headers);
    const refilled = Math.floor((Date.now() - started) / 600) + 1;
    const admitted = responses.filter((r) => r.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(20);
    expect(admitted).toBeLessThanOrEqual(20 + refilled);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(200 - admitted);
  });

  it('counts down one by one on sequential requests, with the Unix second the bucket is full again', async () => {
    const headers = { 'cf-connecting-ip': freshIp() };
    await atFrozenClock(async () => {
      const now = Date.now();
      const seen: { remaining: string | null; reset: number }[] = [];
      for (let i = 0; i < 20; i += 1) {
        const res = await models(headers);
        expect(res.status).toBe(200);
        const h = rateHeaders(res);
        expect(h).toMatchObject({ limit: '100', window: '60' });
        seen.push({ remaining: h.remaining, reset: h.reset });
      }
      // Unix seconds (not ms, not ISO): 0.6 s of refill per token used, 12 s once all 20 are gone.
      expect(seen).toEqual(
        Array.from({ length: 20 }, (_, i) => ({
          remaining: String(19 - i),
          reset: Math.ceil((now + (i + 1) * 600) / 1000),
        })),
      );
      const over = await models(headers);
      await expectEnvelope(over, 429, 'RATE_LIMIT_EXCEEDED');
      expect(header(over, 'retry-after')).toBe('1');
      expect(rateHeaders(over)).toMatchObject({ remaining: '0', reset: Math.ceil((now + 12_000) / 1000) });
    });
  });

  it('refills at the configured rate', async () => {
    const headers = { 'cf-connecting-ip': freshIp() };
    // 6,000/min is one token every 10 ms: after a short pause the client is admitted again.
    const fast = { ...REAL, RATE_LIMIT_PER_MINUTE: '6000', RATE_LIMIT_BURST: '2' };
    await burst(3, headers, fast);
    await new Promise((r) => setTimeout(r, 50));
    const res = await models(headers, fast);
    expect(res.status).toBe(200);
    expect(rateHeaders(res).limit).toBe('6000');
  });

  it('keeps separate buckets for separate IPs, users and API keys; credentials beat the IP', () =>
    atFrozenClock(async () => {
      const [ipA, ipB] = [freshIp(), freshIp()];
      await burst(21, { 'cf-connecting-ip': ipA });
      expect((await models({ 'cf-connecting-ip': ipA })).status).toBe(429);
      expect(rateHeaders(await models({ 'cf-connecting-ip': ipB })).remaining).toBe('19');

      const [alice, bob] = await Promise.all([register(), register()]);
      const [keyOne, keyTwo] = [await createApiKey(alice), await createApiKey(alice)];
      // Alice, signed in and sending from ipB, empties her own bucket...
      const aliceResponses = await burst(21, { ...alice.auth, 'cf-connecting-ip': ipB });
      expect(aliceResponses.filter((r) => r.status === 200)).toHaveLength(20);
      // ...and stays dry from any IP, since a signed-in caller is counted as the user.
      expect((await models({ ...alice.auth, 'cf-connecting-ip': freshIp() })).status).toBe(429);
      // Neither ipB nor other users nor Alice's API keys are charged for it.
      expect(rateHeaders(await models({ 'cf-connecting-ip': ipB })).remaining).toBe('18');
      expect(rateHeaders(await models({ ...bob.auth, 'cf-connecting-ip': ipB })).remaining).toBe('19');
      await burst(21, { 'x-api-key': keyOne.key });
      expect((await models({ 'x-api-key': keyOne.key })).status).toBe(429);
      const other = await models({ 'x-api-key': keyTwo.key });
      expect(other.status).toBe(200);
      expect(rateHeaders(other).remaining).toBe('19');
    }));

  it('limits public auth routes per IP and keeps 401 for bad credentials, counted against the IP', () =>
    atFrozenClock(async () => {
      const ip = freshIp();
      const login = await call(
        '/api/v1/auth/login',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip },
          body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong password here' }),
        },
        REAL,
      );
      await expectEnvelope(login, 401, 'AUTHENTICATION_REQUIRED');
      expect(rateHeaders(login)).toMatchObject({ limit: '100', remaining: '19', window: '60' });

      const badJwt = await models({ authorization: 'Bearer not-a-token', 'cf-connecting-ip': ip });
      await expectEnvelope(badJwt, 401, 'AUTHENTICATION_REQUIRED');
      expect(rateHeaders(badJwt).remaining).toBe('18');
      const badKey = await models({ 'x-api-key': 'ew_not_a_real_key_0000000000', 'cf-connecting-ip': ip });
      await expectEnvelope(badKey, 401, 'AUTHENTICATION_REQUIRED');
      expect(rateHeaders(badKey).remaining).toBe('17');
    }));

  it('puts the headers on error responses and on the /v1 surfaces, whose 429 keeps the SDK error shape', () =>
    atFrozenClock(async () => {
      const ip = freshIp();
      const missing = await call('/api/v1/no-such-route', { headers: { 'cf-connecting-ip': ip } }, REAL);
      expect(missing.status).toBe(404);
      expect(rateHeaders(missing)).toMatchObject({ limit: '100', remaining: '19', window: '60' });

      const v1 = await call('/v1/models', { headers: { 'cf-connecting-ip': ip } }, REAL);
      expect(v1.status).toBe(200);
      expect(rateHeaders(v1).remaining).toBe('18');
      await burst(20, { 'cf-connecting-ip': ip });
      const refused = await call('/v1/models', { headers: { 'cf-connecting-ip': ip } }, REAL);
      expect(refused.status).toBe(429);
      expect(header(refused, 'retry-after')).toBe('1');
      expect(await refused.json()).toMatchObject({ error: { message: expect.stringMatching(/rate limit/i) } });
    }));

  it('does nothing when RATE_LIMIT_ENABLED is false', async () => {
    const responses = await burst(30, { 'cf-connecting-ip': freshIp() }, { ...REAL, RATE_LIMIT_ENABLED: 'false' });
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(responses.every((r) => header(r, 'x-ratelimit-limit') === null)).toBe(true);
  });
});

describe('per-organization hourly window by tier', () => {
  it('refuses a free organization its 6th request of the hour when TIER_LIMIT_FREE is 5, whoever sends it', async () => {
    await clearOfBoundary(3600);
    const owner = await register();
    // Adding the member is one request of the owner's organization (under the suite's generous limits).
    const member = await memberOf(owner, 'member');
    const outsider = await register();
    const free5 = { ...REAL, TIER_LIMIT_FREE: '5' };

    const seen: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const res = await models(owner.auth, free5);
      expect(res.status).toBe(200);
      const h = rateHeaders(res);
      expect(h).toMatchObject({ limit: '5', window: '3600' });
      // Aligned to the hour, as seed 003's example (1642248000).
      expect(h.reset % 3600).toBe(0);
      expect(h.reset).toBeGreaterThan(nowSeconds());
      expect(h.reset).toBeLessThanOrEqual(nowSeconds() + 3600);
      seen.push(h.remaining ?? '');
    }
    expect(seen).toEqual(['3', '2', '1', '0']);

    const before = nowSeconds();
    const sixth = await models(owner.auth, free5);
    const after = nowSeconds();
    await expectEnvelope(sixth, 429, 'RATE_LIMIT_EXCEEDED');
    const h = rateHeaders(sixth);
    expect(h).toMatchObject({ limit: '5', remaining: '0', window: '3600' });
    // The seconds left until the window resets, as of the moment the server answered (a second may
    // tick over between the answer and this line).
    const retryAfter = Number(header(sixth, 'retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(h.reset - after);
    expect(retryAfter).toBeLessThanOrEqual(h.reset - before);

    // The whole organization is out, through any client; another organization is not.
    expect((await models(member.auth, free5)).status).toBe(429);
    expect(rateHeaders(await models(outsider.auth, free5))).toMatchObject({ limit: '5', remaining: '4' });
  });

  it('does not charge the client bucket for requests the organization refused', async () => {
    await clearOfBoundary(3600);
    const owner = await register();
    const free1 = { ...REAL, TIER_LIMIT_FREE: '1' };
    expect((await models(owner.auth, free1)).status).toBe(200);
    // 30 refusals: were they charged, the burst of 20 would be gone and the bucket would refuse next.
    const refused = await burst(30, owner.auth, free1);
    expect(refused.every((r) => r.status === 429 && header(r, 'x-ratelimit-window') === '3600')).toBe(true);
    const roomier = await models(owner.auth, { ...REAL, TIER_LIMIT_FREE: '100' });
    expect(roomier.status).toBe(200);
    expect(Number(rateHeaders(roomier).remaining)).toBeGreaterThanOrEqual(17);
  });

  it.each([
    ['pro', { TIER_LIMIT_PRO: '3' }, {}, 3],
    ['enterprise', { TIER_LIMIT_ENTERPRISE: '4' }, {}, 4],
    ['custom', {}, { rate_limit_per_hour: 2 }, 2],
  ] as const)('takes the %s limit from configuration or settings', async (tier, config, settings, limit) => {
    await clearOfBoundary(3600);
    const owner = await register();
    await setTier(owner, tier, settings);
    // The other tiers are set tight too, so only the organization's own tier can explain the result.
    const overrides = { ...REAL, TIER_LIMIT_FREE: '1', TIER_LIMIT_PRO: '1', TIER_LIMIT_ENTERPRISE: '1', ...config };
    for (let i = 0; i < limit; i += 1) {
      const res = await models(owner.auth, overrides);
      expect(res.status).toBe(200);
      expect(rateHeaders(res)).toMatchObject({
        limit: String(limit),
        remaining: String(limit - 1 - i),
        window: '3600',
      });
    }
    const over = await models(owner.auth, overrides);
    await expectEnvelope(over, 429, 'RATE_LIMIT_EXCEEDED');
    expect(rateHeaders(over)).toMatchObject({ limit: String(limit), window: '3600' });
  });

  it('shows the client bucket when it is the tighter limit', async () => {
    const owner = await register();
    const res = await models(owner.auth);
    // Free tier: 99 left this hour, 19 left in the bucket → the bucket is reported.
    expect(rateHeaders(res)).toMatchObject({ limit: '100', remaining: '19', window: '60' });
  });
});

describe('WebSocket connections (5 per minute per client)', () => {
  it('admits exactly 5 new connections per minute per client, concurrent or not', async () => {
    await clearOfBoundary(60);
    const config = loadConfig({ ...REAL });
    const client = `ip:${freshIp()}`;
    const decisions: LimitDecision[] = [];
    for (let i = 0; i < 6; i += 1) {
      const d = await takeWebSocketSlot(env, client, config);
      if (!d) throw new Error('limiter unavailable');
      decisions.push(d);
    }
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    const last = decisions[5];
    if (!last) throw new Error('expected six decisions');
    expect(last).toMatchObject({ limit: 5, windowSeconds: 60 });
    expect(last.resetAt % 60).toBe(0);
    expect(last.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(last.retryAfterSeconds).toBeLessThanOrEqual(60);

    const concurrentClient = `ip:${freshIp()}`;
    const parallel = await Promise.all(
      Array.from({ length: 20 }, () => takeWebSocketSlot(env, concurrentClient, config)),
    );
    expect(parallel.filter((d) => d?.allowed)).toHaveLength(5);

    // Other clients are counted apart, and so are the same client's plain requests.
    expect((await takeWebSocketSlot(env, `ip:${freshIp()}`, config))?.allowed).toBe(true);
    const ip = client.slice('ip:'.length);
    expect(rateHeaders(await models({ 'cf-connecting-ip': ip })).remaining).toBe('19');
  });

  it('is skipped when rate limiting is off, and fails open when the limiter fails', async () => {
    expect(await takeWebSocketSlot(env, 'ip:x', loadConfig({ ...REAL, RATE_LIMIT_ENABLED: 'false' }))).toBeNull();
    const warn = vi.fn();
    const broken = { ...env, RATE_LIMITER: brokenNamespace() } as unknown as Env;
    expect(
      await takeWebSocketSlot(broken, 'ip:x', loadConfig({ ...REAL }), { info: vi.fn(), warn, error: vi.fn() }),
    ).toBeNull();
    expect(warn).toHaveBeenCalledOnce();
  });
});

function brokenNamespace() {
  return {
    idFromName() {
      throw new Error('Durable Object namespace unavailable');
    },
    get() {
      throw new Error('Durable Object namespace unavailable');
    },
  };
}

function namespaceWhoseTake(take: () => Promise<never>) {
  return {
    idFromName: (name: string) => name,
    get: () => ({ take, lease: take, refund: async () => undefined }),
  };
}

describe('when the limiter itself fails', () => {
  it('serves the request without rate-limit headers and logs a warning without credentials (fail open)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const owner = await register();
    const key = await createApiKey(owner);
    const res = await models({ 'x-api-key': key.key }, { ...REAL, RATE_LIMITER: brokenNamespace() });
    expect(res.status).toBe(200);
    expect(header(res, 'x-ratelimit-limit')).toBeNull();
    const lines = warn.mock.calls.map((args) => String(args[0]));
    const line = lines.find((l) => l.includes('rate limiter unavailable'));
    expect(line).toBeDefined();
    expect(line).not.toContain(key.key);
    expect(line).not.toContain(key.id);
  });

  it('fails open when the limiter does not answer in time', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const hanging = namespaceWhoseTake(() => new Promise<never>(() => undefined));
    const res = await models({ 'cf-connecting-ip': freshIp() }, { ...REAL, RATE_LIMITER: hanging });
    expect(res.status).toBe(200);
    expect(header(res, 'x-ratelimit-limit')).toBeNull();
  });

  it('refuses (429, Retry-After: 1) when the Durable Object reports itself overloaded', async () => {
    const overloaded = namespaceWhoseTake(() =>
      Promise.reject(Object.assign(new Error('Durable Object is overloaded.'), { overloaded: true })),
    );
    const res = await models({ 'cf-connecting-ip': freshIp() }, { ...REAL, RATE_LIMITER: overloaded });
    await expectEnvelope(res, 429, 'RATE_LIMIT_EXCEEDED');
    expect(header(res, 'retry-after')).toBe('1');
  });
});

describe('RateLimiter Durable Object', () => {
  // A fixed clock in the future: alarms the object schedules from it never fire during the test.
  const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
  const stub = () => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`test:${crypto.randomUUID()}`));
  const bucket: LimitPolicy = { kind: 'bucket', capacity: 20, refillPerMinute: 100 };

  it('token bucket: burst, exact refill, reset when full again, retry after the next token', async () => {
    const limiter = stub();
    for (let i = 0; i < 20; i += 1) {
      const d = await limiter.take(bucket, T0);
      expect(d).toMatchObject({
        allowed: true,
        limit: 100,
        remaining: 19 - i,
        windowSeconds: 60,
        retryAfterSeconds: 0,
      });
      expect(d.resetAt).toBe(Math.ceil((T0 + (i + 1) * 600) / 1000));
    }
    expect(await limiter.take(bucket, T0)).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    expect((await limiter.take(bucket, T0 + 599)).allowed).toBe(false);
    expect(await limiter.take(bucket, T0 + 600)).toMatchObject({ allowed: true, remaining: 0 });
    // A slower refill: 1/min waits a whole minute for the next token.
    expect(await limiter.take({ ...bucket, refillPerMinute: 1 }, T0 + 600)).toMatchObject({
      allowed: false,
      retryAfterSeconds: 60,
    });
    // Refilled to the capacity, never beyond.
    expect(await limiter.take(bucket, T0 + 3_600_000)).toMatchObject({ allowed: true, remaining: 19 });
    // A clock that steps back neither refills nor breaks the count.
    expect(await limiter.take(bucket, T0)).toMatchObject({ allowed: true, remaining: 18 });
  });

  it('fixed window: aligned to the epoch, counts only admitted requests, starts over', async () => {
    const limiter = stub();
    const hour: LimitPolicy = { kind: 'window', limit: 3, windowSeconds: 3600 };
    const t = T0 + 100_000; // 100 s into an hour
    const end = T0 / 1000 + 3600;
    for (let i = 0; i < 3; i += 1) {
      expect(await limiter.take(hour, t)).toMatchObject({ allowed: true, remaining: 2 - i, resetAt: end });
    }
    expect(await limiter.take(hour, t)).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 3500 });
    expect(await limiter.take(hour, T0 + 3_599_999)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(await limiter.take(hour, T0 + 3_600_000)).toMatchObject({
      allowed: true,
      remaining: 2,
      resetAt: end + 3600,
    });
  });

  it('refunds a take, only into the window it was charged to', async () => {
    const limiter = stub();
    const hour: LimitPolicy = { kind: 'window', limit: 1, windowSeconds: 3600 };
    const first = await limiter.take(hour, T0);
    await limiter.refund(hour, first.resetAt - 3600, T0); // a stale window: ignored
    expect((await limiter.take(hour, T0)).allowed).toBe(false);
    await limiter.refund(hour, first.resetAt, T0);
    expect((await limiter.take(hour, T0)).allowed).toBe(true);

    const small: LimitPolicy = { kind: 'bucket', capacity: 1, refillPerMinute: 1 };
    const taken = await limiter.take(small, T0);
    await limiter.refund(small, taken.resetAt, T0);
    await limiter.refund(small, taken.resetAt, T0); // never beyond the capacity
    expect((await limiter.take(small, T0)).allowed).toBe(true);
    expect((await limiter.take(small, T0)).allowed).toBe(false);
  });

  it('rejects nonsensical policies', async () => {
    // Inside the object: the test pool's RPC wrapper reports a rejection crossing it as unhandled.
    await runInDurableObject(stub(), async (limiter: RateLimiter) => {
      await expect(limiter.take({ kind: 'bucket', capacity: 0, refillPerMinute: 10 }, T0)).rejects.toThrow(/capacity/);
      await expect(limiter.take({ kind: 'window', limit: 5, windowSeconds: -1 }, T0)).rejects.toThrow(/windowSeconds/);
    });
  });

  it('deletes its storage once idle, keeps it while a window is open', async () => {
    const idle = stub();
    await idle.take({ kind: 'bucket', capacity: 1, refillPerMinute: 60_000 });
    await new Promise((r) => setTimeout(r, 20));
    expect(await runDurableObjectAlarm(idle)).toBe(true);
    expect(await runInDurableObject(idle, (_: RateLimiter, state) => [...state.storage.kv.list()].length)).toBe(0);

    const busy = stub();
    await busy.take({ kind: 'window', limit: 5, windowSeconds: 3600 });
    expect(await runDurableObjectAlarm(busy)).toBe(true);
    expect(await runInDurableObject(busy, (_: RateLimiter, state) => [...state.storage.kv.list()].length)).toBe(1);
    expect(await runInDurableObject(busy, (_: RateLimiter, state) => state.storage.getAlarm())).not.toBeNull();
  });
});
