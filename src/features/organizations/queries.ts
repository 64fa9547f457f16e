import { and, count, eq } from 'drizzle-orm';
import { quotaPeriod } from '../rate-limits';
import type { Database } from '../../db/client';
import { memberships, organizations, type Role, users } from '../../db/schema';

export type OrganizationRow = typeof organizations.$inferSelect;

// `used`: this month's count from the organization's limiter object when it could say; else the D1
// ledger's, which a count from an earlier month makes 0.
export function organizationView(org: OrganizationRow, used: number | null) {
  return {
    id: org.id,
    name: org.name,
    slug: org.slug,
    subscription_tier: org.subscriptionTier,
    api_quota_limit: org.apiQuotaLimit,
    api_quota_used: used ?? (org.quotaPeriod === quotaPeriod() ? org.apiQuotaUsed : 0),
    settings: org.settings,
    created_at: org.createdAt,
    updated_at: org.updatedAt,
  };
}

export async function findOrganization(db: Database, id: string): Promise<OrganizationRow | undefined> {
  return db.select().from(organizations).where(eq(organizations.id, id)).get();
}

export interface MemberRow {
  userId: string;
  email: string;
  username: string;
  fullName: string | null;
  role: Role;
  joinedAt: string;
}

const memberColumns = {
  userId: users.id,
  email: users.email,
  username: users.username,
  fullName: users.fullName,
  role: memberships.role,
  joinedAt: memberships.createdAt,
};

export async function findMember(db: Database, organizationId: string, userId: string): Promise<MemberRow | undefined> {
  return db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
    .get();
}

export async function listMembers(
  db: Database,
  organizationId: string,
  limit: number,
  offset: number,
): Promise<{ rows: MemberRow[]; total: number }> {
  const [rows, total] = await Promise.all([
    db
      .select(memberColumns)
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.organizationId, organizationId))
      .orderBy(memberships.createdAt, users.email)
      .limit(limit)
      .offset(offset)
      .all(),
    db.select({ n: count() }).from(memberships).where(eq(memberships.organizationId, organizationId)).get(),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export async function adminCount(db: Database, organizationId: string): Promise<number> {
  const row = await db
    .select({ n: count() })
    .from(memberships)
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.role, 'admin')))
    .get();
  return row?.n ?? 0;
}

export const memberView = (m: MemberRow) => ({
  user_id: m.userId,
  email: m.email,
  username: m.username,
  full_name: m.fullName,
  role: m.role,
  joined_at: m.joinedAt,
});
