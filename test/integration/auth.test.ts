import { env } from 'cloudflare:test';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  iterationsOf,
  PBKDF2_MAX_ITERATIONS,
  verifyPassword,
} from '../../src/features/accounts/passwords';
import { type Account, createApiKey, me, memberOf, PASSWORD, register } from '../helpers/auth';
import { call, expectEnvelope, postJson } from '../helpers/http';

type Json = Record<string, unknown>;
const DEV_SECRET = new TextEncoder().encode('edgeway-development-only-insecure-jwt-secret-key');

describe('register, login, me', () => {
  it('registers a user with a personal organization and answers seed 003 login shape', async () => {
    const res = await postJson('/api/v1/auth/register', {
      email: 'Alice@Example.com',
      password: PASSWORD,
      full_name: 'Alice',
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      token_type: 'bearer',
      expires_in: 86400,
      user: { email: 'alice@example.com', role: 'admin' },
    });
    const login = await postJson('/api/v1/auth/login', { email: 'alice@example.com', password: PASSWORD });
    expect(login.status).toBe(200);
    const lb = (await login.json()) as { access_token: string; refresh_token: string; user: Json };
    expect(lb.user).toMatchObject({ email: 'alice@example.com', role: 'admin', organization_id: expect.any(String) });
    expect(lb.refresh_token).toMatch(/^rt_/);
    const who = await me({ authorization: `Bearer ${lb.access_token}` });
    expect(await who.json()).toMatchObject({ email: 'alice@example.com', full_name: 'Alice', role: 'admin' });
    const stored = await env.DB.prepare('SELECT password_hash FROM users WHERE email = ?')
      .bind('alice@example.com')
      .first<{ password_hash: string }>();
    expect(stored?.password_hash).toMatch(/^pbkdf2_sha256\$100000\$/);
    expect(stored?.password_hash).not.toContain(PASSWORD);
  });

  it('refuses duplicates (409), bad input (400), wrong passwords and unknown emails alike (401)', async () => {
    const a = await register();
    await expectEnvelope(
      await postJson('/api/v1/auth/register', { email: a.email, password: PASSWORD }),
      409,
      'CONFLICT',
    );
    await expectEnvelope(
      await postJson('/api/v1/auth/register', { email: 'not-an-email', password: PASSWORD }),
      400,
      'VALIDATION_ERROR',
    );
    await expectEnvelope(
      await postJson('/api/v1/auth/register', { email: 'x@example.com', password: 'short' }),
      400,
      'VALIDATION_ERROR',
    );
    const wrong = await expectEnvelope(
      await postJson('/api/v1/auth/login', { email: a.email, password: 'nope nope' }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    const unknown = await expectEnvelope(
      await postJson('/api/v1/auth/login', { email: 'ghost@example.com', password: 'nope nope' }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    expect(wrong.error.message).toBe(unknown.error.message);
  });

  it('enforces EMAIL_WHITELIST and REGISTRATION_ENABLED (the first account may always register)', async () => {
    const wl = { EMAIL_WHITELIST: 'boss@example.com' };
    await expectEnvelope(
      await postJson('/api/v1/auth/register', { email: 'intruder@example.com', password: PASSWORD }, wl),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    expect(
      (await postJson('/api/v1/auth/register', { email: 'boss@example.com', password: PASSWORD }, wl)).status,
    ).toBe(201);
    const off = { REGISTRATION_ENABLED: 'false' };
    await expectEnvelope(
      await postJson('/api/v1/auth/register', { email: 'late@example.com', password: PASSWORD }, off),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    await env.DB.prepare('DELETE FROM users').run();
    expect(
      (await postJson('/api/v1/auth/register', { email: 'first@example.com', password: PASSWORD }, off)).status,
    ).toBe(201);
  });

  it('rate limits login attempts per account', async () => {
    const a = await register();
    const limits = { LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '3' };
    for (let i = 0; i < 3; i++)
      expect((await postJson('/api/v1/auth/login', { email: a.email, password: 'bad password' }, limits)).status).toBe(
        401,
      );
    const blocked = await postJson('/api/v1/auth/login', { email: a.email, password: PASSWORD }, limits);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectEnvelope(blocked, 429, 'RATE_LIMIT_EXCEEDED');
  });
});

describe('refresh and logout', () => {
  it('rotates refresh tokens; reusing a rotated one revokes the whole session', async () => {
    const a = await register();
    const first = await postJson('/api/v1/auth/refresh', { refresh_token: a.refreshToken });
    expect(first.status).toBe(200);
    const rotated = (await first.json()) as { access_token: string; refresh_token: string };
    expect(rotated.refresh_token).not.toBe(a.refreshToken);
    expect((await me({ authorization: `Bearer ${rotated.access_token}` })).status).toBe(200);
    // The old token again: theft assumed, session ended — even the newest access token stops working.
    await expectEnvelope(
      await postJson('/api/v1/auth/refresh', { refresh_token: a.refreshToken }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    await expectEnvelope(await me({ authorization: `Bearer ${rotated.access_token}` }), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(
      await postJson('/api/v1/auth/refresh', { refresh_token: rotated.refresh_token }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
  });

  it('accepts the refresh token from the cookie and sets new cookies', async () => {
    const a = await register();
    const res = await call('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { cookie: `ew_refresh=${a.refreshToken}` },
    });
    expect(res.status).toBe(200);
    const cookies = res.headers.getSetCookie().join('\n');
    expect(cookies).toMatch(/ew_access=.*HttpOnly.*Secure.*SameSite=Lax/);
    expect(cookies).toMatch(/ew_refresh=/);
  });

  it('logout ends the session at once: its access token fails on the next request', async () => {
    const a = await register();
    expect((await me(a.auth)).status).toBe(200);
    const out = await call('/api/v1/auth/logout', { method: 'POST', headers: a.auth });
    expect(await out.json()).toEqual({ message: 'Successfully logged out' });
    await expectEnvelope(await me(a.auth), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(
      await postJson('/api/v1/auth/refresh', { refresh_token: a.refreshToken }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
  });
});

describe('access tokens', () => {
  async function forged(
    a: { userId: string; organizationId: string },
    tweak: (j: SignJWT) => SignJWT,
    key = DEV_SECRET,
  ) {
    const session = await env.DB.prepare('SELECT id FROM sessions WHERE user_id = ?')
      .bind(a.userId)
      .first<{ id: string }>();
    const base = new SignJWT({ sid: session?.id, org: a.organizationId, role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(a.userId)
      .setIssuer('edgeway')
      .setAudience('edgeway-api')
      .setIssuedAt()
      .setExpirationTime('1h');
    return tweak(base).sign(key);
  }

  it('accepts a well-formed token (control for the cases below)', async () => {
    const a = await register();
    expect((await me({ authorization: `Bearer ${await forged(a, (j) => j)}` })).status).toBe(200);
  });

  it.each([
    ['a wrong key', (j: SignJWT) => j, new TextEncoder().encode('another-secret-of-enough-length-000000')],
    ['a wrong issuer', (j: SignJWT) => j.setIssuer('someone-else'), DEV_SECRET],
    ['a wrong audience', (j: SignJWT) => j.setAudience('other-api'), DEV_SECRET],
    [
      'an expired token',
      (j: SignJWT) =>
        j.setIssuedAt(Math.floor(Date.now() / 1000) - 7200).setExpirationTime(Math.floor(Date.now() / 1000) - 3600),
      DEV_SECRET,
    ],
  ])('refuses %s with 401', async (_name, tweak, key) => {
    const a = await register();
    await expectEnvelope(
      await me({ authorization: `Bearer ${await forged(a, tweak, key)}` }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
  });

  it('refuses alg none and malformed bearer values', async () => {
    const a = await register();
    const session = await env.DB.prepare('SELECT id FROM sessions WHERE user_id = ?')
      .bind(a.userId)
      .first<{ id: string }>();
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: a.userId, sid: session?.id, org: a.organizationId, role: 'admin', iss: 'edgeway', aud: 'edgeway-api', iat: now, exp: now + 3600 })}.`;
    await expectEnvelope(await me({ authorization: `Bearer ${none}` }), 401, 'AUTHENTICATION_REQUIRED');
    for (const value of ['Bearer', 'Basic abc', 'Bearer a.b', 'Bearer x y']) {
      await expectEnvelope(await me({ authorization: value }), 401, 'AUTHENTICATION_REQUIRED');
    }
  });
});

describe('API keys', () => {
  it('are shown once, listed by prefix, and work identically as Bearer and X-API-Key', async () => {
    const admin = await register();
    const created = await createApiKey(admin, { name: 'ci' });
    expect(created.key).toMatch(/^ew_[A-Za-z0-9]{40}$/);
    expect(created.prefix).toBe(created.key.slice(0, 11));
    const list = (await (await call('/api/v1/auth/api-keys', { headers: admin.auth })).json()) as { data: Json[] };
    expect(list.data).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(created.key);
    const viaBearer = (await (await me({ authorization: `Bearer ${created.key}` })).json()) as Json;
    const viaHeader = (await (await me({ 'x-api-key': created.key })).json()) as Json;
    expect(viaBearer).toEqual(viaHeader);
    expect(viaBearer).toMatchObject({ id: admin.userId, role: 'member' });
    const stored = await env.DB.prepare('SELECT key_hash FROM api_keys WHERE id = ?')
      .bind(created.id)
      .first<{ key_hash: string }>();
    expect(stored?.key_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stop working when revoked or expired', async () => {
    const admin = await register();
    const revoked = await createApiKey(admin, { name: 'gone' });
    expect((await call(`/api/v1/auth/api-keys/${revoked.id}`, { method: 'DELETE', headers: admin.auth })).status).toBe(
      200,
    );
    await expectEnvelope(await me({ 'x-api-key': revoked.key }), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(
      await call(`/api/v1/auth/api-keys/${revoked.id}`, { method: 'DELETE', headers: admin.auth }),
      404,
      'RESOURCE_NOT_FOUND',
    );
    const expiring = await createApiKey(admin, {
      name: 'soon',
      expires_at: new Date(Date.now() + 60_000).toISOString(),
    });
    expect((await me({ 'x-api-key': expiring.key })).status).toBe(200);
    await env.DB.prepare('UPDATE api_keys SET expires_at = ? WHERE id = ?')
      .bind(new Date(Date.now() - 1000).toISOString(), expiring.id)
      .run();
    await expectEnvelope(await me({ authorization: `Bearer ${expiring.key}` }), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(await me({ 'x-api-key': 'ew_doesnotexist' }), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('cannot be created with a past expiry or above the creator role', async () => {
    const admin = await register();
    await expectEnvelope(
      await postJson('/api/v1/auth/api-keys', { name: 'x', expires_at: '2000-01-01T00:00:00Z' }, undefined, admin.auth),
      400,
      'VALIDATION_ERROR',
    );
    const key = await createApiKey(admin, { name: 'admin key', role: 'admin' });
    expect(key.role).toBe('admin');
  });

  // An admin key made by a second admin of an organization, whose membership the owner then changes.
  async function adminKeyOfSecondAdmin(): Promise<{
    owner: Account;
    creator: Account;
    headers: Record<string, string>;
  }> {
    const owner = await register();
    const creator = await memberOf(owner, 'admin');
    const key = await createApiKey(creator, { name: 'admin key', role: 'admin' });
    expect(key.role).toBe('admin');
    return { owner, creator, headers: { 'x-api-key': key.key } };
  }

  it("act with their creator's current role: demoted to viewer, an admin key acts as a viewer", async () => {
    const { owner, creator, headers } = await adminKeyOfSecondAdmin();
    // Before: the key reaches an admin-only route (API keys) and acts as admin.
    expect((await call('/api/v1/auth/api-keys', { headers })).status).toBe(200);
    expect(await (await me(headers)).json()).toMatchObject({ id: creator.userId, role: 'admin' });
    const demoted = await call(`/api/v1/organizations/current/members/${creator.userId}`, {
      method: 'PUT',
      headers: { ...owner.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer' }),
    });
    expect(demoted.status).toBe(200);
    // The very next requests: admin-only and member-level routes refuse, a viewer route answers.
    await expectEnvelope(await call('/api/v1/auth/api-keys', { headers }), 403, 'INSUFFICIENT_PERMISSIONS');
    await expectEnvelope(
      await postJson('/api/v1/chat/completion', { message: 'x' }, undefined, headers),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    const org = await call('/api/v1/organizations/current', { headers });
    expect(org.status).toBe(200);
    expect(await org.json()).toMatchObject({ id: owner.organizationId });
    expect(await (await me(headers)).json()).toMatchObject({ id: creator.userId, role: 'viewer' });
  });

  it('stop working when their creator is removed from the organization', async () => {
    const { owner, creator, headers } = await adminKeyOfSecondAdmin();
    expect((await call('/api/v1/organizations/current', { headers })).status).toBe(200);
    const removed = await call(`/api/v1/organizations/current/members/${creator.userId}`, {
      method: 'DELETE',
      headers: owner.auth,
    });
    expect(removed.status).toBe(200);
    await expectEnvelope(await call('/api/v1/organizations/current', { headers }), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(await me(headers), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(await me({ authorization: `Bearer ${headers['x-api-key']}` }), 401, 'AUTHENTICATION_REQUIRED');
  });
});

describe('passwords', () => {
  it('never use more PBKDF2 iterations than Workers allow in production (100,000)', async () => {
    const stored = await hashPassword('pw');
    expect(iterationsOf(stored)).toBeLessThanOrEqual(PBKDF2_MAX_ITERATIONS);
    expect(PBKDF2_MAX_ITERATIONS).toBe(100_000);
    expect(await verifyPassword('pw', stored)).toBe(true);
    expect(await verifyPassword('PW', stored)).toBe(false);
    // A hash claiming more iterations would throw on Workers; it is refused before deriving.
    const tooMany = stored.replace('$100000$', '$100001$');
    expect(await verifyPassword('pw', tooMany)).toBe(false);
  });
});

describe('organization quota', () => {
  it('admits exactly the calls left when 50 arrive at once', async () => {
    const a = await register();
    await env.DB.prepare(
      'UPDATE organizations SET api_quota_limit = 15, api_quota_used = 5, quota_period = ? WHERE id = ?',
    )
      .bind(new Date().toISOString().slice(0, 7), a.organizationId)
      .run();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        postJson('/api/v1/chat/completion', { message: `quota ${i}` }, undefined, a.auth),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40);
    const refused = results.find((r) => r.status === 429);
    expect(((await refused?.json()) as { error: Json }).error.code).toBe('QUOTA_EXCEEDED');
    const org = (await (await call('/api/v1/organizations/current', { headers: a.auth })).json()) as Json;
    expect(org).toMatchObject({ api_quota_limit: 15, api_quota_used: 15 });
  });

  it('starts a new month from zero', async () => {
    const a = await register();
    await env.DB.prepare(
      "UPDATE organizations SET api_quota_limit = 1, api_quota_used = 1, quota_period = '2000-01' WHERE id = ?",
    )
      .bind(a.organizationId)
      .run();
    expect((await postJson('/api/v1/chat/completion', { message: 'new month' }, undefined, a.auth)).status).toBe(200);
    await expectEnvelope(
      await postJson('/api/v1/chat/completion', { message: 'again' }, undefined, a.auth),
      429,
      'QUOTA_EXCEEDED',
    );
  });
});

describe('anonymous mode', () => {
  it('AI endpoints need credentials when ALLOW_ANONYMOUS is off, and accept an account', async () => {
    const off = { ALLOW_ANONYMOUS: 'false' };
    await expectEnvelope(
      await postJson('/api/v1/chat/completion', { message: 'x' }, off),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    const a = await register(undefined, off);
    const ok = await postJson('/api/v1/chat/completion', { message: 'x' }, off, a.auth);
    expect(ok.status).toBe(200);
    // The row is written in the background (through the request log): each poll reads it again.
    const requestId = ok.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    await expect
      .poll(
        () =>
          env.DB.prepare('SELECT user_id, organization_id FROM requests WHERE request_id = ?').bind(requestId).first(),
        { timeout: 5_000, interval: 20 },
      )
      .toEqual({ user_id: a.userId, organization_id: a.organizationId });
  });
});

describe('signing in to one of several organizations', () => {
  it('login with organization_id acts in that organization; one the user is not in is 403 and opens no session', async () => {
    const owner = await register();
    const user = await register();
    const added = await postJson(
      '/api/v1/organizations/current/members',
      { email: user.email, role: 'manager' },
      undefined,
      owner.auth,
    );
    expect(added.status).toBe(201);
    const there = await postJson('/api/v1/auth/login', {
      email: user.email,
      password: PASSWORD,
      organization_id: owner.organizationId,
    });
    expect(there.status).toBe(200);
    const body = (await there.json()) as { access_token: string; user: Json };
    expect(body.user).toMatchObject({ organization_id: owner.organizationId, role: 'manager' });
    const mine = (await (await me({ authorization: `Bearer ${body.access_token}` })).json()) as Json;
    expect(mine).toMatchObject({ organization_id: owner.organizationId });

    const sessionsBefore = await env.DB.prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?')
      .bind(user.userId)
      .first<{ n: number }>();
    for (const elsewhere of [crypto.randomUUID(), (await register()).organizationId]) {
      const refused = await postJson('/api/v1/auth/login', {
        email: user.email,
        password: PASSWORD,
        organization_id: elsewhere,
      });
      await expectEnvelope(refused, 403, 'INSUFFICIENT_PERMISSIONS');
    }
    const sessionsAfter = await env.DB.prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?')
      .bind(user.userId)
      .first<{ n: number }>();
    expect(sessionsAfter?.n).toBe(sessionsBefore?.n);
    // The password is checked first: a wrong one is 401 whatever the organization.
    const wrong = await postJson('/api/v1/auth/login', {
      email: user.email,
      password: 'not the password',
      organization_id: owner.organizationId,
    });
    await expectEnvelope(wrong, 401, 'AUTHENTICATION_REQUIRED');
  });
});
