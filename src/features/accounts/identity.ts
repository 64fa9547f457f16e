import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { getDb } from '../../db/client';
import { apiKeys, type Role } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { eq } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import type { Config } from '../../config';
import { sha256Hex } from '../../lib/crypto';
import { API_KEY_PREFIX, findApiKey } from './api-keys';
import { IdentityCache } from './identity-cache';
import { looksLikeJwt, verifyAccessToken } from './jwt';
import { activeSession } from './sessions';

// What the rate limiter needs of the caller's organization, read with the identity so that a request
// with a fresh cached identity reads nothing from D1 for it.
export interface OrganizationLimits {
  tier: string;
  settings: Record<string, unknown>;
  // The organization's monthly quota (api_quota_limit).
  quotaLimit: number;
}

export interface Identity {
  via: 'jwt' | 'cookie' | 'api_key';
  userId: string;
  organizationId: string;
  role: Role;
  sessionId?: string;
  apiKeyId?: string;
  // Absent only on identities built elsewhere (the rate limiter then reads the organization itself).
  organization?: OrganizationLimits;
}

export const ACCESS_COOKIE = 'ew_access';
export const REFRESH_COOKIE = 'ew_refresh';

const unauthenticated = (message = 'Invalid or expired credentials') =>
  new ApiError('AUTHENTICATION_REQUIRED', message);

// Every credential carrier normalized to one (kind, token): Authorization: Bearer, X-API-Key, the
// access cookie of the OAuth flow, and ?token= on realtime upgrades.
function credential(c: Context<AppEnv>): { token: string; via: 'header' | 'cookie' } | undefined {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw unauthenticated('Authorization must be "Bearer <token>"');
    return { token: match[1], via: 'header' };
  }
  const apiKey = c.req.header('x-api-key');
  if (apiKey !== undefined) return { token: apiKey.trim(), via: 'header' };
  const cookie = getCookie(c, ACCESS_COOKIE);
  if (cookie) return { token: cookie, via: 'cookie' };
  if (c.req.header('upgrade')?.toLowerCase() === 'websocket') {
    const query = c.req.query('token');
    if (query) return { token: query, via: 'header' };
  }
  return undefined;
}

// An identity as D1 confirmed it, without the carrier it came in (one access token may arrive as a
// header or as the cookie); `notAfter` is when the credential itself stops being valid (epoch ms).
interface Verified {
  identity: Omit<Identity, 'via'>;
  kind: 'api_key' | 'session';
  notAfter: number;
}

// Per parsed configuration (so per isolate in production, where every request gets the same env): a
// configuration with another JWT secret or TTL never sees entries verified under this one.
const caches = new WeakMap<Config, IdentityCache<Verified>>();

function cacheFor(config: Config): IdentityCache<Verified> | undefined {
  if (config.IDENTITY_CACHE_TTL_SECONDS <= 0) return undefined;
  let cache = caches.get(config);
  if (!cache) {
    cache = new IdentityCache<Verified>();
    caches.set(config, cache);
  }
  return cache;
}

const expiryOf = (iso: string | null): number => (iso === null ? Infinity : Date.parse(iso));

function present(verified: Verified, via: 'header' | 'cookie'): Identity {
  const carrier = verified.kind === 'api_key' ? 'api_key' : via === 'cookie' ? 'cookie' : 'jwt';
  // A copy per request: a route changing its identity must not change the cached one.
  return { via: carrier, ...verified.identity };
}

// What checking a credential needs: a request's context, or a Durable Object's (a Socket.IO CONNECT's `auth`).
export interface VerifyDeps {
  env: Pick<Env, 'DB'>;
  config: Config;
  waitUntil(p: Promise<unknown>): void;
}

const depsOf = (c: Context<AppEnv>): VerifyDeps => ({
  env: c.env,
  config: c.var.config,
  waitUntil: (p) => c.executionCtx.waitUntil(p),
});

// The D1 checks of a credential; throws on refusal (which is therefore never cached).
async function verify(c: VerifyDeps, token: string): Promise<Verified> {
  const db = getDb(c.env.DB);
  if (token.startsWith(API_KEY_PREFIX)) {
    const key = await findApiKey(db, token);
    if (!key) throw unauthenticated();
    // Only when D1 was consulted: with the identity cache on, last_used_at is as fresh as its TTL.
    c.waitUntil(
      db
        .update(apiKeys)
        .set({ lastUsedAt: new Date().toISOString() })
        .where(eq(apiKeys.id, key.keyId))
        .run()
        .catch(() => undefined),
    );
    return {
      kind: 'api_key',
      identity: {
        userId: key.userId,
        organizationId: key.organizationId,
        role: key.role,
        apiKeyId: key.keyId,
        organization: Object.freeze({ tier: key.tier, settings: key.settings, quotaLimit: key.quotaLimit }),
      },
      notAfter: expiryOf(key.expiresAt),
    };
  }
  if (!looksLikeJwt(token)) throw unauthenticated();
  const claims = await verifyAccessToken(c.config, token);
  if (!claims) throw unauthenticated();
  const session = await activeSession(db, claims.sid, claims.sub);
  if (!session) throw unauthenticated('The session has ended');
  // verifyAccessToken required `exp`; without its clock tolerance here, so a cached entry ends no later
  // than the token (past exp, the full check above decides alone).
  const exp = decodeJwt(token).exp;
  return {
    kind: 'session',
    identity: {
      userId: session.userId,
      organizationId: session.organizationId,
      role: session.role,
      sessionId: claims.sid,
      organization: Object.freeze({ tier: session.tier, settings: session.settings, quotaLimit: session.quotaLimit }),
    },
    notAfter: Math.min(typeof exp === 'number' ? exp * 1000 : -Infinity, expiryOf(session.expiresAt)),
  };
}

// A fresh cached entry answers without D1; otherwise the credential is verified and, once verified, kept
// until the TTL (counted from before the lookup) or the credential's own expiry, whichever is first.
// Why: docs/api.md#accounts-access-tokens-and-sessions
async function resolve(c: Context<AppEnv>): Promise<Identity | null> {
  const found = credential(c);
  if (!found) return null;
  return resolveToken(depsOf(c), found);
}

// A bare credential (an API key or an access token), checked as a request's would be, through the same
// identity cache; throws AUTHENTICATION_REQUIRED when refused. For credentials that arrive after the upgrade
// (Socket.IO's CONNECT `auth.token`).
export function identifyToken(deps: VerifyDeps, token: string): Promise<Identity> {
  return resolveToken(deps, { token: token.trim(), via: 'header' });
}

async function resolveToken(c: VerifyDeps, found: { token: string; via: 'header' | 'cookie' }): Promise<Identity> {
  const config = c.config;
  const cache = cacheFor(config);
  if (!cache) return present(await verify(c, found.token), found.via);
  const now = Date.now();
  const hash = await sha256Hex(found.token);
  const keep = (verified: Verified, at: number) =>
    cache.set(hash, verified, Math.min(at + config.IDENTITY_CACHE_TTL_SECONDS * 1000, verified.notAfter), at);
  const hit = cache.get(hash, now);
  if (hit) {
    if (cache.claimRefresh(hash, now)) {
      // Refreshed ahead: this request answers from the entry; the check runs after it, and a refusal
      // removes the entry at once (so the bound is never stretched, and a revocation often shows sooner).
      c.waitUntil(
        verify(c, found.token).then(
          (verified) => keep(verified, now),
          (err: unknown) => (err instanceof ApiError ? cache.delete(hash) : cache.releaseRefresh(hash)),
        ),
      );
    }
    return present(hit, found.via);
  }
  const verified = await verify(c, found.token);
  keep(verified, now);
  return present(verified, found.via);
}

const IDENTITY = Symbol('identity');
const KNOWN = Symbol('known identity');
type Memo = { [IDENTITY]?: Promise<Identity | null>; [KNOWN]?: Identity | null };

// Resolved at most once per request, lazily, so public routes never pay for a lookup.
export function identify(c: Context<AppEnv>): Promise<Identity | null> {
  const memo = c.req.raw as unknown as Memo;
  if (!memo[IDENTITY]) {
    memo[IDENTITY] = resolve(c);
    memo[IDENTITY].then(
      (who) => (memo[KNOWN] = who),
      () => undefined,
    );
  }
  return memo[IDENTITY];
}

// The identity if this request already resolved one, without ever triggering a lookup (the request
// log uses it): null for anonymous callers, failed credentials, or routes that never asked.
export function knownIdentity(c: Context<AppEnv>): Identity | null {
  return (c.req.raw as unknown as Memo)[KNOWN] ?? null;
}
