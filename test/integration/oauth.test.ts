import { env } from 'cloudflare:test';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  exportSPKI,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/lib/crypto';
import { GOOGLE_DEFAULTS, oauthProvider } from '../../src/features/accounts/oauth/providers';
import { loadConfig } from '../../src/config';
import { getDb } from '../../src/db/client';
import { createUserWithOrganization } from '../../src/features/accounts/users';
import { BASE, call, type EnvOverrides, expectEnvelope, mockRequests, postJson } from '../helpers/http';

// The seed 004 OAuth flow end to end, in workerd, against the mock OpenID provider of
// test/mock-upstream/oidc.ts (which plays Google). Its client credentials:
const CLIENT_ID = 'edgeway-test-client';
const CLIENT_SECRET = 'edgeway-test-secret';

function googleEnv(extra: EnvOverrides = {}): EnvOverrides {
  const oidc = `${env.MOCK_UPSTREAM_URL}/oidc`;
  return {
    GOOGLE_CLIENT_ID: CLIENT_ID,
    GOOGLE_CLIENT_SECRET: CLIENT_SECRET,
    GOOGLE_AUTH_URL: `${oidc}/authorize`,
    GOOGLE_TOKEN_URL: `${oidc}/token`,
    GOOGLE_JWKS_URL: `${oidc}/jwks`,
    GOOGLE_ISSUER: oidc,
    BASE_URL: BASE,
    // One flow is five requests from one client; the per-client limiter is not what is tested here.
    RATE_LIMIT_ENABLED: 'false',
    ...extra,
  };
}

const uniqueEmail = () => `oauth-${crypto.randomUUID()}@example.com`;

function pathOf(location: string | null): string {
  if (!location) throw new Error('no Location header');
  const url = new URL(location, BASE);
  return url.pathname + url.search;
}

function setCookie(res: Response, name: string): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
}

function cookieValue(res: Response, name: string): string {
  const value = setCookie(res, name)
    ?.split(';')[0]
    ?.slice(name.length + 1);
  if (!value) throw new Error(`no ${name} cookie set`);
  return value;
}

interface Started {
  authorize: URL;
  state: string;
  cookie: string;
}

async function startLogin(overrides = googleEnv()): Promise<Started> {
  const res = await call('/api/v1/auth/google/login', {}, overrides);
  expect(res.status).toBe(302);
  const authorize = new URL(res.headers.get('location') ?? '');
  return {
    authorize,
    state: authorize.searchParams.get('state') ?? '',
    cookie: `ew_oauth_state=${cookieValue(res, 'ew_oauth_state')}`,
  };
}

// The browser at the provider: signs in as `email` (knobs shape the ID token). Answers the path of
// the callback the provider redirects to.
async function atProvider(start: Started, email: string, knobs: Record<string, string> = {}): Promise<string> {
  const url = new URL(start.authorize);
  url.searchParams.set('login_hint', email);
  for (const [key, value] of Object.entries(knobs)) url.searchParams.set(key, value);
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const back = res.headers.get('location') ?? '';
  expect(back.startsWith(`${BASE}/api/v1/auth/google/callback?`)).toBe(true);
  return pathOf(back);
}

function callback(path: string, start: Started, overrides = googleEnv()): Promise<Response> {
  return call(path, { headers: { cookie: start.cookie } }, overrides);
}

// Login → provider → callback → login-success-redirect (to the web app's landing, which spends the token at
// validate-token); answers the validate-token path the app calls.
async function toValidateToken(email: string, knobs: Record<string, string> = {}, overrides = googleEnv()) {
  const start = await startLogin(overrides);
  const res = await callback(await atProvider(start, email, knobs), start, overrides);
  expect(res.status).toBe(302);
  const hop = await call(pathOf(res.headers.get('location')), {}, overrides);
  expect(hop.status).toBe(302);
  const landing = hop.headers.get('location') ?? '';
  expect(landing).toMatch(/^\/app\/#\/oauth\?token=/);
  return `/api/v1/auth/validate-token?${landing.split('?')[1] ?? ''}`;
}

interface SignedIn {
  user: {
    id: string;
    email: string;
    username: string;
    full_name: string | null;
    organization_id: string;
    role: string;
  };
  expires_in: number;
}

async function signIn(email: string, knobs: Record<string, string> = {}, overrides = googleEnv()) {
  const res = await call(await toValidateToken(email, knobs, overrides), {}, overrides);
  expect(res.status).toBe(200);
  return { res, body: (await res.json()) as SignedIn };
}

async function failingCallback(email: string, knobs: Record<string, string>, overrides = googleEnv()) {
  const start = await startLogin(overrides);
  return callback(await atProvider(start, email, knobs), start, overrides);
}

const tokenHash = (path: string) => sha256Hex(new URL(path, BASE).searchParams.get('token') ?? '');

const userRow = (id: string) =>
  env.DB.prepare('SELECT * FROM users WHERE id = ?').bind(id).first<Record<string, string | null>>();

describe('OAuth sign-in (seed 004)', () => {
  it('runs login → provider → callback → login-success-redirect → validate-token → cookies → /auth/me', async () => {
    const email = uniqueEmail();
    const login = await call('/api/v1/auth/google/login', {}, googleEnv());
    expect(login.status).toBe(302);
    const authorize = new URL(login.headers.get('location') ?? '');
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${env.MOCK_UPSTREAM_URL}/oidc/authorize`);
    const q = authorize.searchParams;
    expect(q.get('client_id')).toBe(CLIENT_ID);
    expect(q.get('redirect_uri')).toBe(`${BASE}/api/v1/auth/google/callback`);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('scope')).toBe('openid email profile');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')?.length).toBeGreaterThanOrEqual(43);
    expect(q.get('nonce')?.length).toBeGreaterThanOrEqual(32);
    expect(q.get('client_secret')).toBeNull();
    expect(setCookie(login, 'ew_oauth_state')).toMatch(/HttpOnly/i);
    const stored = await env.DB.prepare('SELECT * FROM oauth_states WHERE state = ?')
      .bind(q.get('state'))
      .first<Record<string, string>>();
    expect(stored).toMatchObject({ provider: 'google', nonce: q.get('nonce') });
    expect(stored?.code_verifier).not.toBe(q.get('code_challenge'));

    const start: Started = {
      authorize,
      state: q.get('state') ?? '',
      cookie: `ew_oauth_state=${cookieValue(login, 'ew_oauth_state')}`,
    };
    const cb = await callback(await atProvider(start, email), start);
    expect(cb.status).toBe(302);
    const hopPath = pathOf(cb.headers.get('location'));
    expect(hopPath).toMatch(/^\/api\/v1\/auth\/login-success-redirect\?token=[A-Za-z0-9_-]{43}$/);
    expect(await env.DB.prepare('SELECT 1 FROM oauth_states WHERE state = ?').bind(start.state).first()).toBeNull();

    // The hop hands the token to the web app's landing page, in the URL fragment; the app spends it at
    // validate-token (web/src/pages/oauth-callback.tsx), as done here.
    const hop = await call(hopPath, {}, googleEnv());
    expect(hop.status).toBe(302);
    const token = new URLSearchParams(hopPath.split('?')[1]).get('token') ?? '';
    expect(hop.headers.get('location')).toBe(`/app/#/oauth?token=${token}`);
    const validatePath = `/api/v1/auth/validate-token?token=${token}`;

    const res = await call(validatePath, {}, googleEnv());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as SignedIn;
    expect(body.user).toMatchObject({ email, username: email.split('@')[0], full_name: 'Test User', role: 'admin' });
    expect(body.expires_in).toBe(86_400);
    for (const name of ['ew_access', 'ew_refresh']) {
      const cookie = setCookie(res, name) ?? '';
      expect(cookie).toMatch(/;\s*HttpOnly/i);
      expect(cookie).toMatch(/;\s*Secure/i);
      expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    }
    expect(setCookie(res, 'ew_refresh')).toMatch(/Path=\/api\/v1\/auth/);

    const me = await call(
      '/api/v1/auth/me',
      { headers: { cookie: `ew_access=${cookieValue(res, 'ew_access')}` } },
      googleEnv(),
    );
    expect(me.status).toBe(200);
    expect(((await me.json()) as { email: string }).email).toBe(email);

    const row = await userRow(body.user.id);
    expect(row).toMatchObject({ email, external_provider: 'google', password_hash: null });
    expect(row?.external_subject).toMatch(/^\d+$/);
    expect(row?.default_organization_id).toBe(body.user.organization_id);
  });

  it('sends the client secret and PKCE verifier in the token request, never in the browser redirect', async () => {
    const start = await startLogin();
    const path = await atProvider(start, uniqueEmail());
    const code = new URL(path, BASE).searchParams.get('code') ?? '';
    expect((await callback(path, start)).status).toBe(302);
    const [exchange] = await mockRequests(code);
    const form = new URLSearchParams(exchange?.body ?? '');
    expect(exchange?.path).toBe('/oidc/token');
    expect(form.get('grant_type')).toBe('authorization_code');
    expect(form.get('client_secret')).toBe(CLIENT_SECRET);
    expect(form.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(form.get('redirect_uri')).toBe(`${BASE}/api/v1/auth/google/callback`);
    expect(start.authorize.toString()).not.toContain(CLIENT_SECRET);
  });

  it('uses the request origin for redirect_uri without BASE_URL, and BASE_URL when set', async () => {
    const without = await startLogin(googleEnv({ BASE_URL: undefined }));
    expect(without.authorize.searchParams.get('redirect_uri')).toBe('http://edgeway.test/api/v1/auth/google/callback');
    const withBase = await startLogin(googleEnv({ BASE_URL: 'https://api.example.com' }));
    expect(withBase.authorize.searchParams.get('redirect_uri')).toBe(
      'https://api.example.com/api/v1/auth/google/callback',
    );
  });

  it('reuses the same user when the same Google subject signs in again, even with a new email', async () => {
    const sub = `1${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const first = await signIn(uniqueEmail(), { sub });
    const second = await signIn(uniqueEmail(), { sub });
    expect(second.body.user.id).toBe(first.body.user.id);
    expect(second.body.user.organization_id).toBe(first.body.user.organization_id);
    const count = await env.DB.prepare('SELECT COUNT(*) AS n FROM users WHERE external_subject = ?')
      .bind(sub)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
  });

  it('links an existing account with the same (verified) email instead of creating one', async () => {
    const email = uniqueEmail();
    const { userId } = await createUserWithOrganization(
      getDb(env.DB),
      { email, username: 'linkme', fullName: null, passwordHash: 'pbkdf2_sha256$1$x$y' },
      1000,
    );
    const { body } = await signIn(email);
    expect(body.user.id).toBe(userId);
    // Whoever set that password may not own the address: the password goes, the verified email stays.
    expect(await userRow(userId)).toMatchObject({ external_provider: 'google', password_hash: null });
  });

  it('ends the sessions of a pre-registered password account when its email is linked', async () => {
    const email = uniqueEmail();
    const reg = await postJson('/api/v1/auth/register', { email, password: 'attacker-chosen-pw' }, googleEnv());
    const squatter = (await reg.json()) as { access_token: string };
    await signIn(email);
    expect(
      (await call('/api/v1/auth/me', { headers: { authorization: `Bearer ${squatter.access_token}` } }, googleEnv()))
        .status,
    ).toBe(401);
    expect((await postJson('/api/v1/auth/login', { email, password: 'attacker-chosen-pw' }, googleEnv())).status).toBe(
      401,
    );
  });

  it('refuses (409) an email whose account is linked to another Google subject', async () => {
    const email = uniqueEmail();
    await signIn(email, { sub: `1${Date.now()}1` });
    await expectEnvelope(await failingCallback(email, { sub: `1${Date.now()}2` }), 409, 'CONFLICT');
  });
});

describe('OAuth state and login tokens are one-shot', () => {
  it('rejects an unknown state with 400', async () => {
    const res = await call(
      '/api/v1/auth/google/callback?code=abc&state=bogus-state',
      { headers: { cookie: 'ew_oauth_state=bogus-state' } },
      googleEnv(),
    );
    const body = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.map((d) => d.field)).toContain('state');
  });

  it('rejects a missing state parameter with 400', async () => {
    await expectEnvelope(await call('/api/v1/auth/google/callback?code=abc', {}, googleEnv()), 400, 'VALIDATION_ERROR');
  });

  it('rejects a callback from a browser that did not start the login (no state cookie) with 400', async () => {
    const start = await startLogin();
    const path = await atProvider(start, uniqueEmail());
    await expectEnvelope(await call(path, {}, googleEnv()), 400, 'VALIDATION_ERROR');
    await expectEnvelope(
      await call(path, { headers: { cookie: 'ew_oauth_state=someone-elses' } }, googleEnv()),
      400,
      'VALIDATION_ERROR',
    );
    // The rightful browser can still finish.
    expect((await callback(path, start)).status).toBe(302);
  });

  it('rejects a reused state with 400', async () => {
    const start = await startLogin();
    const path = await atProvider(start, uniqueEmail());
    expect((await callback(path, start)).status).toBe(302);
    await expectEnvelope(await callback(path, start), 400, 'VALIDATION_ERROR');
  });

  it('rejects an expired state with 400', async () => {
    const start = await startLogin();
    await env.DB.prepare("UPDATE oauth_states SET expires_at = '2000-01-01T00:00:00.000Z' WHERE state = ?")
      .bind(start.state)
      .run();
    await expectEnvelope(await callback(await atProvider(start, uniqueEmail()), start), 400, 'VALIDATION_ERROR');
  });

  it('rejects a replayed code (new state, same code) with 401: the provider refuses it', async () => {
    const first = await startLogin();
    const path = await atProvider(first, uniqueEmail());
    expect((await callback(path, first)).status).toBe(302);
    const code = new URL(path, BASE).searchParams.get('code') ?? '';
    const second = await startLogin();
    const replay = `/api/v1/auth/google/callback?code=${encodeURIComponent(code)}&state=${second.state}`;
    const body = await expectEnvelope(await callback(replay, second), 401, 'AUTHENTICATION_REQUIRED');
    expect(body.error.message).toBe('Sign-in failed');
    expect(JSON.stringify(body)).not.toContain('invalid_grant');
  });

  it('answers 401 for a validate-token replay and for an expired login token', async () => {
    const validatePath = await toValidateToken(uniqueEmail());
    expect((await call(validatePath, {}, googleEnv())).status).toBe(200);
    const replay = await call(validatePath, {}, googleEnv());
    await expectEnvelope(replay, 401, 'AUTHENTICATION_REQUIRED');
    expect(setCookie(replay, 'ew_access')).toBeUndefined();

    const stale = await toValidateToken(uniqueEmail());
    await env.DB.prepare("UPDATE login_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE token_hash = ?")
      .bind(await tokenHash(stale))
      .run();
    await expectEnvelope(await call(stale, {}, googleEnv()), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(
      await call('/api/v1/auth/validate-token?token=nope', {}, googleEnv()),
      401,
      'AUTHENTICATION_REQUIRED',
    );
  });

  it('answers 401 when the login token belongs to a session revoked in the meantime', async () => {
    const validatePath = await toValidateToken(uniqueEmail());
    await env.DB.prepare(
      "UPDATE sessions SET revoked_at = '2000-01-01T00:00:00.000Z' WHERE id = (SELECT session_id FROM login_tokens WHERE token_hash = ?)",
    )
      .bind(await tokenHash(validatePath))
      .run();
    await expectEnvelope(await call(validatePath, {}, googleEnv()), 401, 'AUTHENTICATION_REQUIRED');
  });
});

describe('OAuth ID token checks', () => {
  it.each([
    ['a wrong nonce', { wrong_nonce: '1' }],
    ['a wrong audience', { wrong_aud: '1' }],
    ['an expired ID token', { expired: '1' }],
    ['an unverified email', { email_verified: 'false' }],
  ])('answers 401 with a generic message for %s', async (_name, knobs) => {
    const res = await failingCallback(uniqueEmail(), knobs);
    const body = await expectEnvelope(res, 401, 'AUTHENTICATION_REQUIRED');
    expect(body.error.message).toBe('Sign-in failed');
    expect(setCookie(res, 'ew_access')).toBeUndefined();
  });

  it('answers 401 for an ID token from another issuer', async () => {
    const res = await failingCallback(uniqueEmail(), {}, googleEnv({ GOOGLE_ISSUER: 'https://accounts.google.com' }));
    await expectEnvelope(res, 401, 'AUTHENTICATION_REQUIRED');
  });

  it('answers 401 when the provider reports an error, without echoing it', async () => {
    const res = await failingCallback(uniqueEmail(), { deny: '1' });
    const body = await expectEnvelope(res, 401, 'AUTHENTICATION_REQUIRED');
    expect(JSON.stringify(body)).not.toMatch(/access_denied|<no>/);
  });

  it('answers 401 when the provider refuses the client credentials', async () => {
    const res = await failingCallback(uniqueEmail(), {}, googleEnv({ GOOGLE_CLIENT_SECRET: 'wrong-secret' }));
    await expectEnvelope(res, 401, 'AUTHENTICATION_REQUIRED');
  });

  it.each([
    ['the token endpoint redirects', { GOOGLE_TOKEN_URL: 'token?fault=redirect' }],
    ['the token endpoint fails', { GOOGLE_TOKEN_URL: 'token?fault=500' }],
    ['the key set redirects', { GOOGLE_JWKS_URL: 'jwks?fault=redirect' }],
    ['the key set fails', { GOOGLE_JWKS_URL: 'jwks?fault=500' }],
  ])('answers 502 INTEGRATION_ERROR when %s (redirects are not followed)', async (_name, endpoint) => {
    const [[key, value]] = Object.entries(endpoint) as [[string, string]];
    const res = await failingCallback(
      uniqueEmail(),
      {},
      googleEnv({ [key]: `${env.MOCK_UPSTREAM_URL}/oidc/${value}` }),
    );
    const body = await expectEnvelope(res, 502, 'INTEGRATION_ERROR');
    expect(JSON.stringify(body)).not.toMatch(/secret body|server_error/);
  });
});

// The mock's bad_sig modes (test/mock-upstream/oidc.ts): claims all right, signature not the provider's.
const BAD_SIGNATURES = [
  ['signed by a key not in the JWKS, under the JWKS kid', 'foreign-key'],
  ['signed by a key not in the JWKS, under its own kid', 'foreign-kid'],
  ['with alg none and no signature', 'none'],
  ["HS256 keyed with the provider's public key as PEM", 'hs256-pem'],
  ["HS256 keyed with the provider's public key as its JWK JSON", 'hs256-jwk'],
] as const;

const countOf = async (sql: string, ...binds: string[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...binds)
      .first<{ n: number }>()
  )?.n;
const sessionAndLoginTokenCounts = async () => ({
  sessions: await countOf('SELECT COUNT(*) AS n FROM sessions'),
  loginTokens: await countOf('SELECT COUNT(*) AS n FROM login_tokens'),
});

// Runs the provider's half of the flow by hand (no worker): answers the ID token the mock mints.
async function mockIdToken(knobs: Record<string, string>) {
  const verifier = crypto.randomUUID() + crypto.randomUUID();
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString(
    'base64url',
  );
  const nonce = crypto.randomUUID();
  const email = uniqueEmail();
  const redirectUri = `${BASE}/fixture-check`;
  const authorize = new URL(`${env.MOCK_UPSTREAM_URL}/oidc/authorize`);
  for (const [key, value] of Object.entries({
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid email',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    nonce,
    login_hint: email,
    ...knobs,
  }))
    authorize.searchParams.set(key, value);
  const back = await fetch(authorize, { redirect: 'manual' });
  expect(back.status).toBe(302);
  const code = new URL(back.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const res = await fetch(`${env.MOCK_UPSTREAM_URL}/oidc/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      code_verifier: verifier,
    }),
  });
  expect(res.status).toBe(200);
  return { idToken: ((await res.json()) as { id_token: string }).id_token, nonce, email };
}

describe('OAuth ID tokens not signed by the provider', () => {
  // jose refuses a disallowed `alg` with a rejection that workerd reports before it is handled.
  it.each(BAD_SIGNATURES)('refuses an ID token %s: 401, no cookies, no user, no session', async (_name, mode) => {
    const before = await sessionAndLoginTokenCounts();
    const email = uniqueEmail();
    const sub = `9${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const res = await failingCallback(email, { bad_sig: mode, sub });
    expect(res.status, `${res.headers.get('location') ?? ''}`).toBe(401);
    const body = await expectEnvelope(res, 401, 'AUTHENTICATION_REQUIRED');
    expect(body.error.message).toBe('Sign-in failed');
    expect(res.headers.get('location')).toBeNull();
    expect(setCookie(res, 'ew_access')).toBeUndefined();
    expect(setCookie(res, 'ew_refresh')).toBeUndefined();
    expect(await countOf('SELECT COUNT(*) AS n FROM users WHERE email = ? OR external_subject = ?', email, sub)).toBe(
      0,
    );

    // The same forgery naming an existing password account: it is neither linked nor signed in to.
    const victim = uniqueEmail();
    const { userId } = await createUserWithOrganization(
      getDb(env.DB),
      { email: victim, username: 'victim', fullName: null, passwordHash: 'pbkdf2_sha256$1$x$y' },
      1000,
    );
    const takeover = await failingCallback(victim, { bad_sig: mode });
    expect(takeover.status, `${takeover.headers.get('location') ?? ''}`).toBe(401);
    await expectEnvelope(takeover, 401, 'AUTHENTICATION_REQUIRED');
    expect(await userRow(userId)).toMatchObject({
      external_provider: null,
      external_subject: null,
      password_hash: 'pbkdf2_sha256$1$x$y',
    });
    expect(await sessionAndLoginTokenCounts()).toEqual(before);
  });

  // The refusals above must be for the signature alone: the mock's forged tokens carry exactly the
  // claims a good token does, and are signed the way their mode says.
  it('the forged tokens differ from a good one only in how they are signed', async () => {
    const jwks = (await (await fetch(`${env.MOCK_UPSTREAM_URL}/oidc/jwks`)).json()) as { keys: JWK[] };
    const [published] = jwks.keys;
    if (!published) throw new Error('empty JWKS');
    const keySet = createLocalJWKSet(jwks);
    const publicKey = await importJWK(published, 'RS256', { extractable: true });
    if (publicKey instanceof Uint8Array) throw new Error('the JWKS key is not an RSA key');
    const pem = await exportSPKI(publicKey);
    const asKey = (text: string) => new TextEncoder().encode(text);
    const issuer = `${env.MOCK_UPSTREAM_URL}/oidc`;

    const good = await mockIdToken({});
    const { payload: goodClaims } = await jwtVerify(good.idToken, keySet, { issuer, audience: CLIENT_ID });
    expect(goodClaims).toMatchObject({ nonce: good.nonce, email: good.email, email_verified: true });

    for (const [, mode] of BAD_SIGNATURES) {
      const forged = await mockIdToken({ bad_sig: mode });
      const header = decodeProtectedHeader(forged.idToken);
      const claims = decodeJwt(forged.idToken);
      expect(claims, mode).toMatchObject({
        iss: issuer,
        aud: CLIENT_ID,
        azp: CLIENT_ID,
        nonce: forged.nonce,
        email: forged.email,
        email_verified: true,
      });
      expect(claims.exp, mode).toBeGreaterThan(Date.now() / 1000 + 600);
      const signature = forged.idToken.split('.')[2];
      switch (mode) {
        case 'foreign-key':
          expect(header).toMatchObject({ alg: 'RS256', kid: published.kid });
          await expect(jwtVerify(forged.idToken, keySet)).rejects.toBeInstanceOf(
            joseErrors.JWSSignatureVerificationFailed,
          );
          break;
        case 'foreign-kid':
          expect(header.alg).toBe('RS256');
          expect(header.kid).not.toBe(published.kid);
          expect(signature?.length).toBeGreaterThan(300);
          break;
        case 'none':
          expect(header).toMatchObject({ alg: 'none', kid: published.kid });
          expect(signature).toBe('');
          break;
        case 'hs256-pem':
          expect(header).toMatchObject({ alg: 'HS256', kid: published.kid });
          expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
          await jwtVerify(forged.idToken, asKey(pem), { algorithms: ['HS256'] });
          break;
        case 'hs256-jwk':
          expect(header).toMatchObject({ alg: 'HS256', kid: published.kid });
          await jwtVerify(forged.idToken, asKey(JSON.stringify(published)), { algorithms: ['HS256'] });
          break;
      }
    }
  });

  it('the mock refuses an unknown bad_sig mode rather than minting a good token', async () => {
    const start = await startLogin();
    const url = new URL(start.authorize);
    url.searchParams.set('bad_sig', 'typo');
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(400);
  });
});

describe('OAuth access rules and configuration', () => {
  it('answers 403 when the email is not on EMAIL_WHITELIST, and signs in when it is', async () => {
    const email = uniqueEmail();
    const miss = await failingCallback(email, {}, googleEnv({ EMAIL_WHITELIST: 'someone-else@example.com' }));
    await expectEnvelope(miss, 403, 'INSUFFICIENT_PERMISSIONS');
    const { body } = await signIn(
      email,
      {},
      googleEnv({ EMAIL_WHITELIST: `someone-else@example.com,${email.toUpperCase()}` }),
    );
    expect(body.user.email).toBe(email);
  });

  it('answers 404 for an unknown provider', async () => {
    await expectEnvelope(await call('/api/v1/auth/github/login', {}, googleEnv()), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(
      await call('/api/v1/auth/constructor/callback?state=x&code=y', {}, googleEnv()),
      404,
      'RESOURCE_NOT_FOUND',
    );
  });

  it('answers 503 while Google has no client id or secret', async () => {
    await expectEnvelope(await call('/api/v1/auth/google/login'), 503, 'SERVICE_UNAVAILABLE');
    await expectEnvelope(
      await call('/api/v1/auth/google/login', {}, googleEnv({ GOOGLE_CLIENT_SECRET: '' })),
      503,
      'SERVICE_UNAVAILABLE',
    );
    await expectEnvelope(
      await call('/api/v1/auth/google/callback?state=x&code=y', {}, googleEnv({ GOOGLE_CLIENT_ID: undefined })),
      503,
      'SERVICE_UNAVAILABLE',
    );
  });

  it("defaults to Google's real endpoints and accepts both forms of its issuer", () => {
    const google = oauthProvider(loadConfig({ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret' }), 'google');
    expect(google).toMatchObject({
      authUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenUrl: 'https://oauth2.googleapis.com/token',
      jwksUrl: 'https://www.googleapis.com/oauth2/v3/certs',
      issuers: ['https://accounts.google.com', 'accounts.google.com'],
    });
    expect(GOOGLE_DEFAULTS.issuer).toBe('https://accounts.google.com');
    const custom = oauthProvider(
      loadConfig({ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret', GOOGLE_ISSUER: 'https://idp.example' }),
      'google',
    );
    expect(custom.issuers).toEqual(['https://idp.example']);
  });
});
