import { and, eq, isNull } from 'drizzle-orm';
import type { Config } from '../../../config';
import type { Database } from '../../../db/client';
import { users } from '../../../db/schema';
import { revokeUserSessions } from '../sessions';
import { createUserWithOrganization, findUser, findUserByEmail, type UserRow } from '../users';
import { ApiError } from '../../../lib/errors';
import type { ExternalIdentity } from './oidc';

export interface ResolvedUser {
  user: UserRow;
  created: boolean;
}

async function bySubject(db: Database, provider: string, subject: string): Promise<UserRow | undefined> {
  return db
    .select()
    .from(users)
    .where(and(eq(users.externalProvider, provider), eq(users.externalSubject, subject)))
    .get();
}

const linkedElsewhere = () =>
  new ApiError('CONFLICT', 'This email already belongs to an account linked to another sign-in identity');

// The account behind a verified external identity:
//   1. the user already linked to (provider, subject) — the subject is stable, the email may change;
//   2. else the user with that (verified) email, which gets linked now;
//   3. else a new user with their personal organization (admin), without a password.
export async function resolveExternalUser(
  db: Database,
  config: Config,
  provider: string,
  identity: ExternalIdentity,
): Promise<ResolvedUser> {
  const linked = await bySubject(db, provider, identity.subject);
  if (linked) return { user: linked, created: false };

  const byEmail = await findUserByEmail(db, identity.email);
  if (byEmail) {
    if (byEmail.externalSubject !== null) throw linkedElsewhere();
    // Conditional, so two concurrent first logins cannot link two identities to one account.
    // Registration does not verify emails, so whoever set the password may not own the address: the
    // provider's verified email wins, the password is dropped and every earlier session ends.
    const updated = await db
      .update(users)
      .set({
        externalProvider: provider,
        externalSubject: identity.subject,
        passwordHash: null,
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(users.id, byEmail.id), isNull(users.externalSubject)))
      .returning()
      .get();
    if (updated) {
      await revokeUserSessions(db, updated.id, 'linked-external-identity');
      return { user: updated, created: false };
    }
    const again = await bySubject(db, provider, identity.subject);
    if (again) return { user: again, created: false };
    throw linkedElsewhere();
  }

  let userId: string;
  try {
    ({ userId } = await createUserWithOrganization(
      db,
      {
        email: identity.email,
        username: identity.email.split('@')[0] || 'user',
        fullName: identity.name,
        passwordHash: null,
        externalProvider: provider,
        externalSubject: identity.subject,
      },
      config.DEFAULT_QUOTA_LIMIT,
    ));
  } catch (err) {
    // A concurrent first login of the same person created the account (unique email) a moment ago.
    if (!String(err).includes('UNIQUE')) throw err;
    const raced = await bySubject(db, provider, identity.subject);
    if (raced) return { user: raced, created: false };
    throw linkedElsewhere();
  }
  const user = await findUser(db, userId);
  if (!user) throw new ApiError('INTERNAL_ERROR');
  return { user, created: true };
}
