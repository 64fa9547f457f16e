import { and, count, eq } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { memberships, organizations, type Role, users } from '../../db/schema';

export type UserRow = typeof users.$inferSelect;

export async function findUserByEmail(db: Database, email: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.email, email.toLowerCase())).get();
}

export async function findUser(db: Database, id: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export async function userCount(db: Database): Promise<number> {
  const row = await db.select({ n: count() }).from(users).get();
  return row?.n ?? 0;
}

function slugify(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'org'
  );
}

export interface NewUser {
  email: string;
  username: string;
  fullName: string | null;
  passwordHash: string | null;
  externalProvider?: string;
  externalSubject?: string;
}

// A user and their personal organization, where they are admin, in one D1 batch (all or nothing).
export async function createUserWithOrganization(
  db: Database,
  input: NewUser,
  quotaLimit: number,
): Promise<{ userId: string; organizationId: string }> {
  const userId = crypto.randomUUID();
  const organizationId = crypto.randomUUID();
  const slug = `${slugify(input.username)}-${organizationId.slice(0, 8)}`;
  await db.batch([
    db.insert(organizations).values({
      id: organizationId,
      name: `${input.fullName ?? input.username}'s organization`,
      slug,
      apiQuotaLimit: quotaLimit,
    }),
    db.insert(users).values({
      id: userId,
      email: input.email.toLowerCase(),
      username: input.username,
      fullName: input.fullName,
      passwordHash: input.passwordHash,
      externalProvider: input.externalProvider ?? null,
      externalSubject: input.externalSubject ?? null,
      defaultOrganizationId: organizationId,
    }),
    db.insert(memberships).values({ organizationId, userId, role: 'admin' }),
  ]);
  return { userId, organizationId };
}

export async function membershipRole(db: Database, userId: string, organizationId: string): Promise<Role | undefined> {
  const row = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.organizationId, organizationId)))
    .get();
  return row?.role;
}

export function userView(user: UserRow, organizationId: string, role: Role) {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    full_name: user.fullName,
    organization_id: organizationId,
    role,
  };
}
