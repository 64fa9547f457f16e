import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { getDb } from '../../db/client';
import { apiKeys, type Role } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { eq } from 'drizzle-orm';
import { API_KEY_PREFIX, findApiKey } from './api-keys';
import { looksLikeJwt, verifyAccessToken } from './jwt';
import { activeSession } from './sessions';

export interface Identity {
  via: 'jwt' | 'cookie' | 'api_key';
  userId: string;
  organizationId: string;
  role: Role;
  sessionId?: string;
  apiKeyId?: string;
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

async function resolve(c: Context<AppEnv>): Promise<Identity | null> {
  const found = credential(c);
  if (!found) return null;
  const db = getDb(c.env.DB);
  if (found.token.startsWith(API_KEY_PREFIX)) {
    const key = await findApiKey(db, found.token);
    if (!key) throw unauthenticated();
    c.executionCtx.waitUntil(
      db
        .update(apiKeys)
        .set({ lastUsedAt: new Date().toISOString() })
        .where(eq(apiKeys.id, key.keyId))
        .run()
        .catch(() => undefined),
    );
    return {
      via: 'api_key',
      userId: key.userId,
      organizationId: key.organizationId,
      role: key.role,
      apiKeyId: key.keyId,
    };
  }
  if (!looksLikeJwt(found.token)) throw unauthenticated();
  const claims = await verifyAccessToken(c.var.config, found.token);
  if (!claims) throw unauthenticated();
  const session = await activeSession(db, claims.sid, claims.sub);
  if (!session) throw unauthenticated('The session has ended');
  return { via: found.via === 'cookie' ? 'cookie' : 'jwt', ...session, sessionId: claims.sid };
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
