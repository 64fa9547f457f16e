import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { memberships, type Role, sessions } from '../../db/schema';
import { type IssuedTokens, issue } from './sessions';

export interface SessionGrant {
  tokens: IssuedTokens;
  userId: string;
  organizationId: string;
  role: Role;
}

// A fresh access and refresh token for a session that already exists (the OAuth callback opens the
// session; /auth/validate-token hands its tokens to the browser). Undefined when the session was
// revoked, has expired, or its user is no longer a member of its organization.
export async function issueTokensForSession(
  db: Database,
  config: Config,
  sessionId: string,
): Promise<SessionGrant | undefined> {
  const now = new Date().toISOString();
  const session = await db
    .select({ userId: sessions.userId, organizationId: sessions.organizationId, role: memberships.role })
    .from(sessions)
    .innerJoin(
      memberships,
      and(eq(memberships.userId, sessions.userId), eq(memberships.organizationId, sessions.organizationId)),
    )
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .get();
  if (!session) return undefined;
  const tokens = await issue(db, config, sessionId, session.userId, session.organizationId, session.role);
  return { tokens, userId: session.userId, organizationId: session.organizationId, role: session.role };
}
