import { and, eq, gt, lte } from 'drizzle-orm';
import type { Database } from '../../../db/client';
import { loginTokens, oauthStates } from '../../../db/schema';
import { isoIn, randomToken, sha256Hex } from '../../../lib/crypto';
import { pkceVerifier } from './providers';

// The two one-shot records of the OAuth flow. Each is taken with a single DELETE … RETURNING, so of
// two concurrent uses exactly one gets the row.

export const OAUTH_STATE_TTL_SECONDS = 600;
export const LOGIN_TOKEN_TTL_SECONDS = 60;

export interface PendingLogin {
  state: string;
  codeVerifier: string;
  nonce: string;
}

export async function createOAuthState(db: Database, provider: string): Promise<PendingLogin> {
  const pending = { state: randomToken(32), codeVerifier: pkceVerifier(), nonce: randomToken(24) };
  await db.insert(oauthStates).values({ ...pending, provider, expiresAt: isoIn(OAUTH_STATE_TTL_SECONDS) });
  return pending;
}

// Deleted whatever happens next: a state is good for one callback only, even a failed one.
export async function takeOAuthState(db: Database, state: string, provider: string): Promise<PendingLogin | undefined> {
  const row = await db.delete(oauthStates).where(eq(oauthStates.state, state)).returning().get();
  if (!row || row.provider !== provider || row.expiresAt <= new Date().toISOString()) return undefined;
  return { state: row.state, codeVerifier: row.codeVerifier, nonce: row.nonce };
}

// Only the token's SHA-256 is stored; the token itself travels once, in the redirect's query.
export async function createLoginToken(db: Database, sessionId: string): Promise<string> {
  const token = randomToken(32);
  await db.insert(loginTokens).values({
    tokenHash: await sha256Hex(token),
    sessionId,
    expiresAt: isoIn(LOGIN_TOKEN_TTL_SECONDS),
  });
  return token;
}

export async function takeLoginToken(db: Database, token: string): Promise<string | undefined> {
  const row = await db
    .delete(loginTokens)
    .where(and(eq(loginTokens.tokenHash, await sha256Hex(token)), gt(loginTokens.expiresAt, new Date().toISOString())))
    .returning({ sessionId: loginTokens.sessionId })
    .get();
  return row?.sessionId;
}

// Abandoned logins leave rows behind; they are swept on the way (cheap: both tables stay tiny).
export async function purgeExpired(db: Database): Promise<void> {
  const now = new Date().toISOString();
  await db.batch([
    db.delete(oauthStates).where(lte(oauthStates.expiresAt, now)),
    db.delete(loginTokens).where(lte(loginTokens.expiresAt, now)),
  ]);
}
