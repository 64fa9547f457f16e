import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { memberships, organizations, refreshTokens, type Role, sessions } from '../../db/schema';
import { membershipRole } from './users';
import { ApiError } from '../../lib/errors';
import { isoIn, randomToken, sha256Hex } from '../../lib/crypto';
import { signAccessToken } from './jwt';

export interface IssuedTokens {
  sessionId: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  refreshExpiresIn: number;
}

// Mints an access token and a new refresh token inside an existing session.
export async function issue(
  db: Database,
  config: Config,
  sessionId: string,
  userId: string,
  organizationId: string,
  role: Role,
) {
  const refreshToken = `rt_${randomToken()}`;
  await db.insert(refreshTokens).values({
    tokenHash: await sha256Hex(refreshToken),
    sessionId,
    expiresAt: isoIn(config.REFRESH_TOKEN_TTL_SECONDS),
  });
  const accessToken = await signAccessToken(config, { sub: userId, sid: sessionId, org: organizationId, role });
  return {
    sessionId,
    accessToken,
    refreshToken,
    expiresIn: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshExpiresIn: config.REFRESH_TOKEN_TTL_SECONDS,
  };
}

export async function createSession(
  db: Database,
  config: Config,
  userId: string,
  organizationId: string,
): Promise<IssuedTokens> {
  const role = await membershipRole(db, userId, organizationId);
  if (!role) throw new ApiError('AUTHENTICATION_REQUIRED', 'No membership in the organization');
  const sessionId = crypto.randomUUID();
  await db
    .insert(sessions)
    .values({ id: sessionId, userId, organizationId, expiresAt: isoIn(config.REFRESH_TOKEN_TTL_SECONDS) });
  return issue(db, config, sessionId, userId, organizationId, role);
}

export async function revokeSession(db: Database, sessionId: string, reason: string): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: new Date().toISOString(), revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

// Ends every live session of a user (their credentials changed hands, e.g. an external identity took over).
export async function revokeUserSessions(db: Database, userId: string, reason: string): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: new Date().toISOString(), revokedReason: reason })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)));
}

const invalid = () => new ApiError('AUTHENTICATION_REQUIRED', 'Invalid or expired refresh token');

// Marking the token used is the atomic step: of two concurrent refreshes with one token, only one
// wins; a token seen again after use means it was stolen, so its whole session ends.
export async function rotateRefreshToken(db: Database, config: Config, refreshToken: string): Promise<IssuedTokens> {
  const hash = await sha256Hex(refreshToken);
  const now = new Date().toISOString();
  const claimed = await db
    .update(refreshTokens)
    .set({ usedAt: now })
    .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.usedAt), gt(refreshTokens.expiresAt, now)))
    .returning({ sessionId: refreshTokens.sessionId })
    .get();
  if (!claimed) {
    const reused = await db
      .select({ sessionId: refreshTokens.sessionId, usedAt: refreshTokens.usedAt })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hash))
      .get();
    if (reused?.usedAt) await revokeSession(db, reused.sessionId, 'refresh-token-reuse');
    throw invalid();
  }
  const session = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, claimed.sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .get();
  if (!session) throw invalid();
  const role = await membershipRole(db, session.userId, session.organizationId);
  if (!role) throw invalid();
  return issue(db, config, session.id, session.userId, session.organizationId, role);
}

export interface ActiveSession {
  userId: string;
  organizationId: string;
  role: Role;
  // ISO 8601: the session ends then even if nobody logs out.
  expiresAt: string;
  // The organization's tier, settings and monthly quota, read in the same statement for the limiters.
  tier: string;
  settings: Record<string, unknown>;
  quotaLimit: number;
}

// Checked against D1 whenever the isolate's identity cache has no fresh entry for the access token, so a
// logout or a role change takes effect within IDENTITY_CACHE_TTL_SECONDS.
export async function activeSession(
  db: Database,
  sessionId: string,
  userId: string,
): Promise<ActiveSession | undefined> {
  const now = new Date().toISOString();
  const row = await db
    .select({
      userId: sessions.userId,
      organizationId: sessions.organizationId,
      role: memberships.role,
      expiresAt: sessions.expiresAt,
      tier: organizations.subscriptionTier,
      settings: organizations.settings,
      quotaLimit: organizations.apiQuotaLimit,
    })
    .from(sessions)
    .innerJoin(
      memberships,
      and(eq(memberships.userId, sessions.userId), eq(memberships.organizationId, sessions.organizationId)),
    )
    .innerJoin(organizations, eq(organizations.id, sessions.organizationId))
    .where(
      and(
        eq(sessions.id, sessionId),
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
      ),
    )
    .get();
  return row ?? undefined;
}
