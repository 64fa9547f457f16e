// A mock OpenID Connect provider (authorization code + PKCE S256), shaped like Google's:
//   GET  /oidc/authorize?client_id&redirect_uri&response_type=code&scope&state&nonce&code_challenge
//        &code_challenge_method=S256&login_hint=<email>
//        → 302 to redirect_uri?code=…&state=… (no login page: login_hint is who signs in)
//   POST /oidc/token (form: grant_type, code, redirect_uri, client_id, client_secret, code_verifier)
//        → {access_token, id_token, token_type, expires_in}; a code works once (then 400 invalid_grant)
//   GET  /oidc/jwks → the public key set
// The issuer is `http://<host>/oidc`, where <host> is the Host the client used.
// Test-only knobs, extra query parameters of /oidc/authorize that shape the ID token (or the answer):
//   email_verified=false | wrong_nonce=1 | wrong_aud=1 | expired=1 | sub=<id> | name=<text>
//   deny=1 (redirects back with error=access_denied instead of a code)
//   bad_sig=<mode> — an ID token whose claims are all right but whose signature is not the
//   provider's (an unknown mode is refused with 400, so a typo cannot yield a valid token):
//     foreign-key  RS256 by a key not in the JWKS, under the JWKS's own kid
//     foreign-kid  RS256 by a key not in the JWKS, under a kid the JWKS does not have
//     none         `alg: none` with an empty signature
//     hs256-pem    HS256 keyed with the provider's public key as PEM (SPKI) text
//     hs256-jwk    HS256 keyed with the provider's public key as the JSON of its JWKS entry
// Faults of the back channel, as a query parameter of the token or JWKS URL the client is given:
//   ?fault=redirect (307 to the same endpoint without the fault: a client that follows it succeeds,
//   so a test can tell) | ?fault=500
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { json, type VendorHandler } from './common';

export const MOCK_OIDC_CLIENT_ID = 'edgeway-test-client';
export const MOCK_OIDC_CLIENT_SECRET = 'edgeway-test-secret';
const CLIENTS = new Map([[MOCK_OIDC_CLIENT_ID, MOCK_OIDC_CLIENT_SECRET]]);

const CODE_TTL_MS = 60_000;
const ID_TOKEN_TTL_SECONDS = 3600;

// Made once when the mock starts (this module is imported by server.ts).
const KID = `mock-${randomBytes(6).toString('hex')}`;
const keyPair = generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
// An impostor's key: well-formed, but never published in the JWKS.
const FOREIGN_KID = `foreign-${randomBytes(6).toString('hex')}`;
const foreignKeyPair = generateKeyPair('RS256', { modulusLength: 2048 });

const BAD_SIGNATURES = ['foreign-key', 'foreign-kid', 'none', 'hs256-pem', 'hs256-jwk'] as const;
type BadSignature = (typeof BAD_SIGNATURES)[number];
const isBadSignature = (v: string): v is BadSignature => (BAD_SIGNATURES as readonly string[]).includes(v);

interface Grant {
  clientId: string;
  redirectUri: string;
  nonce: string;
  challenge: string;
  email: string;
  subject: string;
  name: string;
  emailVerified: boolean;
  wrongNonce: boolean;
  wrongAudience: boolean;
  expired: boolean;
  badSignature: BadSignature | undefined;
  issuedAt: number;
  used: boolean;
}

const grants = new Map<string, Grant>();

const oauthError = (res: ServerResponse, status: number, error: string, description: string) =>
  json(res, status, { error, error_description: description });

const issuerOf = (req: IncomingMessage) => `http://${req.headers.host ?? '127.0.0.1'}/oidc`;

// Google's subjects are long decimal strings; this one is stable per email, so the same person
// signing in twice gets the same subject.
function subjectFor(email: string): string {
  return createHash('sha256').update(email).digest().readBigUInt64BE(0).toString();
}

function authorize(url: URL, res: ServerResponse): void {
  const q = url.searchParams;
  const clientId = q.get('client_id') ?? '';
  const redirectUri = q.get('redirect_uri') ?? '';
  if (!CLIENTS.has(clientId)) return oauthError(res, 400, 'invalid_client', 'unknown client_id');
  if (!/^https?:\/\//.test(redirectUri)) return oauthError(res, 400, 'invalid_request', 'redirect_uri required');
  if (q.get('response_type') !== 'code') return oauthError(res, 400, 'unsupported_response_type', 'code only');
  if (!(q.get('scope') ?? '').split(' ').includes('openid')) return oauthError(res, 400, 'invalid_scope', 'no openid');
  if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge'))
    return oauthError(res, 400, 'invalid_request', 'PKCE S256 required');
  if (!q.get('nonce')) return oauthError(res, 400, 'invalid_request', 'nonce required');
  const badSignature = q.get('bad_sig') ?? undefined;
  if (badSignature !== undefined && !isBadSignature(badSignature))
    return oauthError(res, 400, 'invalid_request', `unknown bad_sig mode ${badSignature}`);

  const back = new URL(redirectUri);
  const state = q.get('state');
  if (state !== null) back.searchParams.set('state', state);
  if (q.get('deny') === '1') {
    back.searchParams.set('error', 'access_denied');
    back.searchParams.set('error_description', 'The user said <no>');
  } else {
    const email = (q.get('login_hint') ?? 'user@example.com').toLowerCase();
    const code = randomBytes(24).toString('base64url');
    grants.set(code, {
      clientId,
      redirectUri,
      nonce: q.get('nonce') ?? '',
      challenge: q.get('code_challenge') ?? '',
      email,
      subject: q.get('sub') ?? subjectFor(email),
      name: q.get('name') ?? 'Test User',
      emailVerified: q.get('email_verified') !== 'false',
      wrongNonce: q.get('wrong_nonce') === '1',
      wrongAudience: q.get('wrong_aud') === '1',
      expired: q.get('expired') === '1',
      badSignature,
      issuedAt: Date.now(),
      used: false,
    });
    back.searchParams.set('code', code);
  }
  res.writeHead(302, { location: back.toString() });
  res.end();
}

function clientCredentials(req: IncomingMessage, form: URLSearchParams): { id: string; secret: string } {
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic?.[1]) {
    const [id = '', secret = ''] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
    return { id: decodeURIComponent(id), secret: decodeURIComponent(secret) };
  }
  return { id: form.get('client_id') ?? '', secret: form.get('client_secret') ?? '' };
}

async function token(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
  const form = new URLSearchParams(body);
  const client = clientCredentials(req, form);
  if (!CLIENTS.has(client.id) || CLIENTS.get(client.id) !== client.secret)
    return oauthError(res, 401, 'invalid_client', 'client authentication failed');
  if (form.get('grant_type') !== 'authorization_code')
    return oauthError(res, 400, 'unsupported_grant_type', 'authorization_code only');
  const code = form.get('code') ?? '';
  const grant = grants.get(code);
  if (!grant || grant.used || Date.now() - grant.issuedAt > CODE_TTL_MS)
    return oauthError(res, 400, 'invalid_grant', 'code unknown, expired or already used');
  // Spent on first presentation, whatever the outcome (as real providers do).
  grant.used = true;
  if (grant.clientId !== client.id) return oauthError(res, 400, 'invalid_grant', 'code issued to another client');
  if (form.get('redirect_uri') !== grant.redirectUri)
    return oauthError(res, 400, 'invalid_grant', 'redirect_uri mismatch');
  const verifier = form.get('code_verifier') ?? '';
  if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge)
    return oauthError(res, 400, 'invalid_grant', 'PKCE verification failed');

  const now = Math.floor(Date.now() / 1000);
  const iat = grant.expired ? now - 2 * ID_TOKEN_TTL_SECONDS : now;
  const idToken = await signIdToken(
    {
      iss: issuerOf(req),
      aud: grant.wrongAudience ? 'someone-else.apps.example' : grant.clientId,
      sub: grant.subject,
      iat,
      exp: iat + ID_TOKEN_TTL_SECONDS,
      azp: grant.clientId,
      email: grant.email,
      email_verified: grant.emailVerified,
      nonce: grant.wrongNonce ? `not-${grant.nonce}` : grant.nonce,
      name: grant.name,
    },
    grant.badSignature,
  );
  json(res, 200, {
    access_token: `mock-at-${randomBytes(16).toString('hex')}`,
    id_token: idToken,
    token_type: 'Bearer',
    expires_in: ID_TOKEN_TTL_SECONDS,
    scope: 'openid email profile',
  });
}

// The provider's one key as its JWKS publishes it.
async function publishedKey() {
  const { publicKey } = await keyPair;
  return { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function signIdToken(claims: JWTPayload, bad: BadSignature | undefined): Promise<string> {
  const jwt = new SignJWT(claims);
  switch (bad) {
    case undefined:
      return jwt.setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign((await keyPair).privateKey);
    case 'foreign-key':
      return jwt.setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign((await foreignKeyPair).privateKey);
    case 'foreign-kid':
      return jwt
        .setProtectedHeader({ alg: 'RS256', kid: FOREIGN_KID, typ: 'JWT' })
        .sign((await foreignKeyPair).privateKey);
    case 'none':
      // jose will not sign with `none`; the token is assembled by hand, with the provider's kid.
      return `${b64url({ alg: 'none', kid: KID, typ: 'JWT' })}.${b64url(claims)}.`;
    case 'hs256-pem': {
      const pem = await exportSPKI((await keyPair).publicKey);
      return jwt.setProtectedHeader({ alg: 'HS256', kid: KID, typ: 'JWT' }).sign(new TextEncoder().encode(pem));
    }
    case 'hs256-jwk': {
      const jwk = JSON.stringify(await publishedKey());
      return jwt.setProtectedHeader({ alg: 'HS256', kid: KID, typ: 'JWT' }).sign(new TextEncoder().encode(jwk));
    }
  }
}

async function jwks(res: ServerResponse): Promise<void> {
  json(res, 200, { keys: [await publishedKey()] });
}

export const oidcProvider: VendorHandler = async (req, url, body, res) => {
  const fault = url.searchParams.get('fault');
  const path = url.pathname;
  if (path === '/oidc/authorize' && req.method === 'GET') return authorize(url, res);
  if ((path === '/oidc/token' && req.method === 'POST') || (path === '/oidc/jwks' && req.method === 'GET')) {
    if (fault === 'redirect') {
      res.writeHead(307, { location: `${issuerOf(req)}${path.slice('/oidc'.length)}` });
      return void res.end();
    }
    if (fault === '500')
      return json(res, 500, { error: 'server_error', error_description: 'mock fault <secret body>' });
    return path === '/oidc/token' ? token(req, body, res) : jwks(res);
  }
  json(res, 404, { error: 'not_found', error_description: `no mock for ${req.method ?? ''} ${path}` });
};
