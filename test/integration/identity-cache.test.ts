import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src';
import { ConfigError, loadConfig } from '../../src/config';
import { IdentityCache } from '../../src/features/accounts/identity-cache';
import { createApiKey, memberOf, register, type Account } from '../helpers/auth';
import { BASE, call, expectEnvelope } from '../helpers/http';

// The suite runs with IDENTITY_CACHE_TTL_SECONDS=0 (vitest.config.ts); this file turns the cache on. The
// app parses its configuration once per env object and keeps one identity cache per configuration, as
// workerd hands every request of an isolate the same env, so each test sends all its requests through
// one env object of its own (the helpers' overrides would build a new one per request). Set-up and the
// changes under test (logout, revocation, role change, removal) go through the suite's uncached env.

const TTL_SECONDS = 5;
const DEV_SECRET = new TextEncoder().encode('edgeway-development-only-insecure-jwt-secret-key');

function cachedEnv(ttlSeconds: number | string = TTL_SECONDS, db: D1Database = env.DB): Env {
  return { ...env, IDENTITY_CACHE_TTL_SECONDS: String(ttlSeconds), DB: db } as Env;
}

async function send(target: Env, path: string, headers: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, { headers }), target, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const me = (target: Env, headers: Record<string, string>) => send(target, '/api/v1/auth/me', headers);
const keyHeaders = (key: string) => ({ 'x-api-key': key });

async function status(target: Env, path: string, headers: Record<string, string>): Promise<number> {
  const res = await send(target, path, headers);
  await res.body?.cancel();
  return res.status;
}

// Every statement the app prepares or runs on `db`, as SQL text: D1 is only reached through these.
function countingDb(): { db: D1Database; statements: string[] } {
  const statements: string[] = [];
  const target = env.DB;
  const db = new Proxy(target, {
    get(t, property) {
      if (property === 'prepare') {
        return (sql: string) => {
          statements.push(sql);
          return t.prepare(sql);
        };
      }
      if (property === 'exec') {
        return (sql: string) => {
          statements.push(sql);
          return t.exec(sql);
        };
      }
      if (property === 'batch') {
        return (batch: D1PreparedStatement[]) => {
          statements.push(`batch of ${batch.length}`);
          return t.batch(batch);
        };
      }
      const value: unknown = Reflect.get(t, property);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
  return { db, statements };
}

const IDENTITY_TABLES = /"(api_keys|sessions|memberships|organizations)"/;

// The clock stops at `start` (the worker, its objects and jose read the same faked Date in this isolate)
// so that "just before" and "at" the bound are exact instants.
function stopClock(start = Date.now()): { at: (ms: number) => void; start: number } {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(start);
  return { start, at: (ms) => vi.setSystemTime(start + ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

async function revokeKey(admin: Account, id: string) {
  const res = await call(`/api/v1/auth/api-keys/${id}`, { method: 'DELETE', headers: admin.auth });
  expect(res.status).toBe(200);
}

async function setRole(admin: Account, userId: string, role: string) {
  const res = await call(`/api/v1/organizations/current/members/${userId}`, {
    method: 'PUT',
    headers: { ...admin.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ role }),
  });
  expect(res.status).toBe(200);
}

async function removeMember(admin: Account, userId: string) {
  const res = await call(`/api/v1/organizations/current/members/${userId}`, { method: 'DELETE', headers: admin.auth });
  expect(res.status).toBe(200);
}

describe('configuration', () => {
  it('defaults IDENTITY_CACHE_TTL_SECONDS to 5 and accepts integers from 0 to 300 only', () => {
    expect(loadConfig({}).IDENTITY_CACHE_TTL_SECONDS).toBe(5);
    expect(loadConfig({ IDENTITY_CACHE_TTL_SECONDS: '0' }).IDENTITY_CACHE_TTL_SECONDS).toBe(0);
    expect(loadConfig({ IDENTITY_CACHE_TTL_SECONDS: '300' }).IDENTITY_CACHE_TTL_SECONDS).toBe(300);
    for (const bad of ['-1', '301', '1.5', 'soon']) {
      let thrown: unknown;
      try {
        loadConfig({ IDENTITY_CACHE_TTL_SECONDS: bad });
      } catch (err) {
        thrown = err;
      }
      expect(thrown, bad).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).variables, bad).toEqual(['IDENTITY_CACHE_TTL_SECONDS']);
    }
  });
});

describe('the bounded map', () => {
  it('drops the oldest entries beyond its capacity and answers nothing past an entry’s expiry', () => {
    const cache = new IdentityCache<string>(3);
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, k.toUpperCase(), 1_000, 0);
    expect(cache.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((k) => cache.get(k, 0))).toEqual([undefined, 'B', 'C', 'D']);
    // Re-verified entries go to the back of the line.
    cache.set('b', 'B2', 1_000, 0);
    cache.set('e', 'E', 1_000, 0);
    expect(['b', 'c', 'd', 'e'].map((k) => cache.get(k, 0))).toEqual(['B2', undefined, 'D', 'E']);
    expect(cache.get('d', 999)).toBe('D');
    expect(cache.get('d', 1_000)).toBeUndefined();
    // Already dead when it would be stored: not stored.
    cache.set('f', 'F', 10, 10);
    expect(cache.get('f', 0)).toBeUndefined();
  });

  it('holds 10,000 entries by default', () => {
    const cache = new IdentityCache<number>();
    for (let i = 0; i < 10_001; i++) cache.set(`k${i}`, i, 1_000, 0);
    expect(cache.size).toBe(10_000);
    expect(cache.get('k0', 0)).toBeUndefined();
    expect(cache.get('k1', 0)).toBe(1);
    expect(cache.get('k10000', 0)).toBe(10_000);
  });
});

describe('changes take effect within IDENTITY_CACHE_TTL_SECONDS', () => {
  const bound = TTL_SECONDS * 1000;

  it('a revoked API key keeps working until the bound, and is refused from it on', async () => {
    const admin = await register();
    const key = await createApiKey(admin);
    const target = cachedEnv();
    const clock = stopClock();
    expect((await me(target, keyHeaders(key.key))).status).toBe(200);
    await revokeKey(admin, key.id);
    clock.at(bound - 1);
    expect((await me(target, keyHeaders(key.key))).status).toBe(200);
    clock.at(bound);
    await expectEnvelope(await me(target, keyHeaders(key.key)), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('a logged-out session keeps working until the bound, and is refused from it on', async () => {
    const user = await register();
    const target = cachedEnv();
    const clock = stopClock();
    expect((await me(target, user.auth)).status).toBe(200);
    expect((await call('/api/v1/auth/logout', { method: 'POST', headers: user.auth })).status).toBe(200);
    clock.at(bound - 1);
    expect((await me(target, user.auth)).status).toBe(200);
    clock.at(bound);
    await expectEnvelope(await me(target, user.auth), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('an admin demoted to viewer keeps admin routes until the bound, then gets 403 (session and key)', async () => {
    const owner = await register();
    const admin = await memberOf(owner, 'admin');
    const key = await createApiKey(admin, { name: 'admin key', role: 'admin' });
    const target = cachedEnv();
    const clock = stopClock();
    expect(await status(target, '/api/v1/auth/api-keys', admin.auth)).toBe(200);
    expect(await status(target, '/api/v1/auth/api-keys', keyHeaders(key.key))).toBe(200);
    await setRole(owner, admin.userId, 'viewer');
    clock.at(bound - 1);
    expect(await status(target, '/api/v1/auth/api-keys', admin.auth)).toBe(200);
    expect(await status(target, '/api/v1/auth/api-keys', keyHeaders(key.key))).toBe(200);
    clock.at(bound);
    await expectEnvelope(await send(target, '/api/v1/auth/api-keys', admin.auth), 403, 'INSUFFICIENT_PERMISSIONS');
    await expectEnvelope(
      await send(target, '/api/v1/auth/api-keys', keyHeaders(key.key)),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    // Still signed in, now as a viewer.
    expect(await (await me(target, admin.auth)).json()).toMatchObject({ role: 'viewer' });
  });

  it('a removed member keeps working until the bound, then gets 401 (session and key)', async () => {
    const owner = await register();
    const admin = await memberOf(owner, 'admin');
    const key = await createApiKey(admin);
    const target = cachedEnv();
    const clock = stopClock();
    expect((await me(target, admin.auth)).status).toBe(200);
    expect((await me(target, keyHeaders(key.key))).status).toBe(200);
    await removeMember(owner, admin.userId);
    clock.at(bound - 1);
    expect((await me(target, admin.auth)).status).toBe(200);
    expect((await me(target, keyHeaders(key.key))).status).toBe(200);
    clock.at(bound);
    await expectEnvelope(await me(target, admin.auth), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(await me(target, keyHeaders(key.key)), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('with IDENTITY_CACHE_TTL_SECONDS=0, revocation and logout act on the very next request', async () => {
    const admin = await register();
    const key = await createApiKey(admin);
    const target = cachedEnv(0);
    stopClock();
    expect((await me(target, keyHeaders(key.key))).status).toBe(200);
    expect((await me(target, admin.auth)).status).toBe(200);
    await revokeKey(admin, key.id);
    await expectEnvelope(await me(target, keyHeaders(key.key)), 401, 'AUTHENTICATION_REQUIRED');
    expect((await call('/api/v1/auth/logout', { method: 'POST', headers: admin.auth })).status).toBe(200);
    await expectEnvelope(await me(target, admin.auth), 401, 'AUTHENTICATION_REQUIRED');
  });
});

describe('a cached credential never outlives its own expiry', () => {
  // The longest bound, so that only the credential's expiry can explain a refusal.
  const LONG = 300;

  it('an access token is refused past its exp (and jose’s 30 s tolerance) while its entry would be fresh', async () => {
    const user = await register();
    const session = await env.DB.prepare('SELECT id FROM sessions WHERE user_id = ?')
      .bind(user.userId)
      .first<{ id: string }>();
    const clock = stopClock(Math.floor(Date.now() / 1000) * 1000);
    const exp = clock.start / 1000 + 10;
    const token = await new SignJWT({ sid: session?.id, org: user.organizationId, role: 'admin' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.userId)
      .setIssuer('edgeway')
      .setAudience('edgeway-api')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(DEV_SECRET);
    const target = cachedEnv(LONG);
    const auth = { authorization: `Bearer ${token}` };
    expect((await me(target, auth)).status).toBe(200);
    clock.at(10_000 + 30_000 - 1);
    expect((await me(target, auth)).status).toBe(200);
    clock.at(10_000 + 30_000);
    await expectEnvelope(await me(target, auth), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('a session is refused past its expires_at while its entry would be fresh', async () => {
    const user = await register();
    const clock = stopClock();
    await env.DB.prepare('UPDATE sessions SET expires_at = ? WHERE user_id = ?')
      .bind(new Date(clock.start + 10_000).toISOString(), user.userId)
      .run();
    const target = cachedEnv(LONG);
    expect((await me(target, user.auth)).status).toBe(200);
    clock.at(10_000 - 1);
    expect((await me(target, user.auth)).status).toBe(200);
    clock.at(10_000);
    await expectEnvelope(await me(target, user.auth), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('an API key is refused from its expires_at on while its entry would be fresh', async () => {
    const admin = await register();
    const clock = stopClock();
    const key = await createApiKey(admin, { name: 'soon', expires_at: new Date(clock.start + 60_000).toISOString() });
    const target = cachedEnv(LONG);
    expect((await me(target, keyHeaders(key.key))).status).toBe(200);
    clock.at(60_000 - 1);
    expect((await me(target, keyHeaders(key.key))).status).toBe(200);
    clock.at(60_000);
    await expectEnvelope(await me(target, keyHeaders(key.key)), 401, 'AUTHENTICATION_REQUIRED');
  });
});

describe('what is cached', () => {
  it('never a refusal: a key refused a moment ago works as soon as it exists', async () => {
    const admin = await register();
    // A well-formed key the test mints itself, so it can be presented before its row exists.
    const secret = `ew_${'k'.repeat(20)}${crypto.randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret)))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    const target = cachedEnv(300);
    stopClock();
    await expectEnvelope(await me(target, keyHeaders(secret)), 401, 'AUTHENTICATION_REQUIRED');
    await env.DB.prepare(
      "INSERT INTO api_keys (id, organization_id, user_id, name, prefix, key_hash, role) VALUES (?, ?, ?, 'late', ?, ?, 'member')",
    )
      .bind(crypto.randomUUID(), admin.organizationId, admin.userId, secret.slice(0, 11), hash)
      .run();
    expect(await (await me(target, keyHeaders(secret))).json()).toMatchObject({
      id: admin.userId,
      organization_id: admin.organizationId,
    });
    // And through the API: a wrong key first, then the new one at once.
    const created = await createApiKey(admin, { name: 'fresh' });
    const wrong = `${created.key.slice(0, -1)}${created.key.endsWith('x') ? 'y' : 'x'}`;
    await expectEnvelope(await me(target, keyHeaders(wrong)), 401, 'AUTHENTICATION_REQUIRED');
    expect((await me(target, keyHeaders(created.key))).status).toBe(200);
  });

  it('two organizations’ keys never share an entry', async () => {
    const a = await register();
    const b = await register();
    const keyA = await createApiKey(a);
    const keyB = await createApiKey(b);
    const target = cachedEnv(300);
    stopClock();
    for (let round = 0; round < 2; round++) {
      expect(await (await me(target, keyHeaders(keyA.key))).json()).toMatchObject({
        id: a.userId,
        organization_id: a.organizationId,
      });
      expect(await (await me(target, keyHeaders(keyB.key))).json()).toMatchObject({
        id: b.userId,
        organization_id: b.organizationId,
      });
      expect(await (await me(target, b.auth)).json()).toMatchObject({ organization_id: b.organizationId });
      expect(await (await me(target, a.auth)).json()).toMatchObject({ organization_id: a.organizationId });
    }
  });
});

describe('a cached identity costs no D1 read', () => {
  it('reads neither the key nor the tier again, and still applies the tier', async () => {
    const admin = await register();
    const key = await createApiKey(admin);
    // A custom tier of 7 per hour: only the organization's own settings can explain the limit below.
    await env.DB.prepare('UPDATE organizations SET subscription_tier = ?, settings = ? WHERE id = ?')
      .bind('custom', JSON.stringify({ rate_limit_per_hour: 7 }), admin.organizationId)
      .run();
    const { db, statements } = countingDb();
    const target = cachedEnv(TTL_SECONDS, db);
    stopClock();

    const first = await send(target, '/api/v1/models', keyHeaders(key.key));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('7');
    const left = Number(first.headers.get('x-ratelimit-remaining'));
    // The miss: one statement reads the key, its creator's membership and the organization's tier.
    expect(statements.filter((s) => /^select/i.test(s) && IDENTITY_TABLES.test(s))).toHaveLength(1);

    statements.length = 0;
    const second = await send(target, '/api/v1/models', keyHeaders(key.key));
    expect(second.status).toBe(200);
    expect(second.headers.get('x-ratelimit-limit')).toBe('7');
    expect(Number(second.headers.get('x-ratelimit-remaining'))).toBe(left - 1);
    // Not merely no identity read: this route makes no D1 statement at all for a cached caller.
    expect(statements).toEqual([]);

    // Spent to the end, the organization's hourly window refuses, still without reading D1.
    for (let i = 1; i < left; i++) expect(await status(target, '/api/v1/models', keyHeaders(key.key))).toBe(200);
    await expectEnvelope(await send(target, '/api/v1/models', keyHeaders(key.key)), 429, 'RATE_LIMIT_EXCEEDED');
    expect(statements).toEqual([]);
  });

  it('the same for a session', async () => {
    const user = await register();
    const { db, statements } = countingDb();
    const target = cachedEnv(TTL_SECONDS, db);
    stopClock();
    expect(await status(target, '/api/v1/models', user.auth)).toBe(200);
    expect(statements.filter((s) => IDENTITY_TABLES.test(s)).length).toBeGreaterThan(0);
    statements.length = 0;
    expect(await status(target, '/api/v1/models', user.auth)).toBe(200);
    expect(statements.filter((s) => IDENTITY_TABLES.test(s))).toEqual([]);
  });
});

describe('refreshed ahead of expiry', () => {
  it('one request past three quarters of the bound re-verifies in the background; the others read nothing', async () => {
    const admin = await register();
    const key = await createApiKey(admin);
    const { db, statements } = countingDb();
    const target = cachedEnv(TTL_SECONDS, db);
    const clock = stopClock();
    const bound = TTL_SECONDS * 1000;
    const keyReads = () => statements.filter((s) => /^select/i.test(s) && IDENTITY_TABLES.test(s)).length;
    expect(await status(target, '/api/v1/auth/me', keyHeaders(key.key))).toBe(200);
    expect(keyReads()).toBe(1);
    clock.at(bound * 0.7);
    expect(await status(target, '/api/v1/auth/me', keyHeaders(key.key))).toBe(200);
    expect(keyReads()).toBe(1);
    // Past 3/4: answered from the entry, and checked once after the answer (send() waits for waitUntil).
    clock.at(bound * 0.8);
    expect(await status(target, '/api/v1/auth/me', keyHeaders(key.key))).toBe(200);
    expect(keyReads()).toBe(2);
    clock.at(bound * 0.9);
    expect(await status(target, '/api/v1/auth/me', keyHeaders(key.key))).toBe(200);
    // Past the first entry's expiry: the refreshed entry answers, without a read at its expiry.
    clock.at(bound + 1);
    expect(await status(target, '/api/v1/auth/me', keyHeaders(key.key))).toBe(200);
    expect(keyReads()).toBe(2);
  });

  it('a refusal found by the refresh removes the entry at once', async () => {
    const admin = await register();
    const key = await createApiKey(admin);
    const target = cachedEnv();
    const clock = stopClock();
    const bound = TTL_SECONDS * 1000;
    expect(await status(target, '/api/v1/auth/me', keyHeaders(key.key))).toBe(200);
    await revokeKey(admin, key.id);
    clock.at(bound * 0.8);
    // This one is answered from the entry; its background check finds the key revoked.
    expect(await status(target, '/api/v1/auth/me', keyHeaders(key.key))).toBe(200);
    clock.at(bound * 0.8 + 1);
    await expectEnvelope(await me(target, keyHeaders(key.key)), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('claims a refresh once per entry life, only between its refresh point and its expiry', () => {
    const cache = new IdentityCache<string>();
    cache.set('k', 'v', 1_000, 0);
    expect(cache.claimRefresh('k', 749)).toBe(false);
    expect(cache.claimRefresh('k', 750)).toBe(true);
    expect(cache.claimRefresh('k', 800)).toBe(false);
    // A refresh that failed for another reason than a refusal lets the next caller try.
    cache.releaseRefresh('k');
    expect(cache.claimRefresh('k', 900)).toBe(true);
    expect(cache.claimRefresh('k', 1_000)).toBe(false);
    cache.set('k', 'v2', 1_900, 900);
    expect(cache.claimRefresh('k', 1_600)).toBe(false);
    expect(cache.claimRefresh('k', 1_650)).toBe(true);
    expect(cache.get('k', 1_899)).toBe('v2');
  });
});
