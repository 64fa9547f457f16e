import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import type { OAuthProvider } from './providers';

// The back-channel half of the OpenID Connect code flow: code → ID token at the token endpoint, and
// the ID token's verification against the provider's published keys.

// Why a sign-in failed, for the logs only: clients get a generic message (never the provider's body).
//   rejected    — the provider refused the code, or the ID token is not acceptable → 401
//   unavailable — the provider could not be reached or answered 5xx / a redirect → 502
export class OAuthFailure extends Error {
  readonly kind: 'rejected' | 'unavailable';
  constructor(kind: 'rejected' | 'unavailable', reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'OAuthFailure';
    this.kind = kind;
  }
}

const TOKEN_TIMEOUT_MS = 10_000;
const JWKS_TIMEOUT_MS = 5_000;
const CLOCK_TOLERANCE_SECONDS = 60;
// The ID token was minted by the exchange a moment ago; an old one is a replay.
const MAX_ID_TOKEN_AGE = '10 minutes';
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

// Redirects are never followed (same rule as src/features/providers/http.ts): the token request carries the
// client secret, and keys served from wherever a redirect points are not the provider's keys.
async function noRedirectFetch(url: string, init: RequestInit): Promise<Response> {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new OAuthFailure('unavailable', `redirect ${res.status} refused from ${new URL(url).host}`);
  }
  return res;
}

export async function exchangeCode(
  provider: OAuthProvider,
  grant: { code: string; codeVerifier: string; redirectUri: string },
): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: grant.code,
    redirect_uri: grant.redirectUri,
    client_id: provider.clientId,
    client_secret: provider.clientSecret,
    code_verifier: grant.codeVerifier,
  });
  let res: Response;
  try {
    res = await noRedirectFetch(provider.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
  } catch (err) {
    if (err instanceof OAuthFailure) throw err;
    throw new OAuthFailure('unavailable', 'token endpoint unreachable', { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    // 4xx: invalid_grant (a used, expired or foreign code), invalid_client, ...
    throw new OAuthFailure(res.status >= 500 ? 'unavailable' : 'rejected', `token endpoint answered ${res.status}`);
  }
  const text = await res.text();
  if (text.length > MAX_TOKEN_RESPONSE_BYTES) throw new OAuthFailure('rejected', 'token response too large');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new OAuthFailure('rejected', 'token response is not JSON');
  }
  const idToken = typeof body === 'object' && body !== null ? (body as { id_token?: unknown }).id_token : undefined;
  if (typeof idToken !== 'string' || idToken.length === 0)
    throw new OAuthFailure('rejected', 'no id_token in the token response');
  return idToken;
}

// One key set per JWKS URL per isolate; jose caches the keys (10 min) and refetches on an unknown kid.
const keySets = new Map<string, JWTVerifyGetKey>();

function providerKeys(jwksUrl: string): JWTVerifyGetKey {
  let getKey = keySets.get(jwksUrl);
  if (!getKey) {
    const remote = createRemoteJWKSet(new URL(jwksUrl), {
      timeoutDuration: JWKS_TIMEOUT_MS,
      [customFetch]: noRedirectFetch,
    });
    getKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        // A kid the set does not have is the token's fault; anything else is the key set's.
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
        if (err instanceof OAuthFailure) throw err;
        throw new OAuthFailure('unavailable', 'key set could not be fetched', { cause: err });
      }
    };
    keySets.set(jwksUrl, getKey);
  }
  return getKey;
}

export interface ExternalIdentity {
  subject: string;
  email: string;
  name: string | null;
}

function claimsOf(payload: JWTPayload, provider: OAuthProvider, nonce: string): ExternalIdentity {
  const { sub, email, email_verified: emailVerified, nonce: tokenNonce, aud, azp, name } = payload;
  if (tokenNonce !== nonce) throw new OAuthFailure('rejected', 'nonce mismatch');
  // With several audiences, OpenID Connect Core §3.1.3.7 wants azp to name us.
  if (Array.isArray(aud) && aud.length > 1 && azp !== provider.clientId)
    throw new OAuthFailure('rejected', 'azp mismatch');
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw new OAuthFailure('rejected', 'bad sub');
  if (typeof email !== 'string' || email.length > 254 || !email.includes('@'))
    throw new OAuthFailure('rejected', 'bad email');
  if (emailVerified !== true) throw new OAuthFailure('rejected', 'email not verified');
  return { subject: sub, email: email.toLowerCase(), name: typeof name === 'string' ? name.slice(0, 200) : null };
}

// Signature (RS256 only, key from the provider's JWKS), issuer, audience = our client id, expiry and
// age, then the nonce of this login and a verified email.
export async function verifyIdToken(
  provider: OAuthProvider,
  idToken: string,
  nonce: string,
): Promise<ExternalIdentity> {
  let payload: JWTPayload;
  try {
    // The algorithm is pinned before any key is looked at: `none` and HMAC tokens (signed with the
    // provider's public key as a secret) never reach the verifier or the JWKS fetch.
    if (decodeProtectedHeader(idToken).alg !== 'RS256') throw new OAuthFailure('rejected', 'id_token alg not RS256');
    ({ payload } = await jwtVerify(idToken, providerKeys(provider.jwksUrl), {
      algorithms: ['RS256'],
      issuer: provider.issuers,
      audience: provider.clientId,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: MAX_ID_TOKEN_AGE,
      requiredClaims: ['sub', 'iat', 'exp', 'nonce', 'email'],
    }));
  } catch (err) {
    if (err instanceof OAuthFailure) throw err;
    const reason = err instanceof errors.JOSEError ? `id_token ${err.code}` : 'id_token unreadable';
    throw new OAuthFailure('rejected', reason, { cause: err });
  }
  return claimsOf(payload, provider, nonce);
}
