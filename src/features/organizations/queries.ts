import { and, count, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { memberships, organizations, type Role, users } from '../../db/schema';

export type OrganizationRow = typeof organizations.$inferSelect;

export function currentPeriod(now = new Date()): string {
  return now.toISOString().slice(0, 7);
}

export function organizationView(org: OrganizationRow) {
  return {
    id: org.id,
    name: org.name,
    slug: org.slug,
    subscription_tier: org.subscriptionTier,
    api_quota_limit: org.apiQuotaLimit,
    // A count from an earlier month is not this month's use.
    api_quota_used: org.quotaPeriod === currentPeriod() ? org.apiQuotaUsed : 0,
    settings: org.settings,
    created_at: org.createdAt,
    updated_at: org.updatedAt,
  };
}

export async function findOrganization(db: Database, id: string): Promise<OrganizationRow | undefined> {
  return db.select().from(organizations).where(eq(organizations.id, id)).get();
}

// Check and count in one statement: D1 runs it atomically, so N parallel calls with k calls left
// admit exactly k. A new month restarts the count.
export async function consumeQuota(db: Database, organizationId: string): Promise<boolean> {
  const period = currentPeriod();
  const row = await db
    .update(organizations)
    .set({
      apiQuotaUsed: sql`CASE WHEN ${organizations.quotaPeriod} = ${period} THEN ${organizations.apiQuotaUsed} + 1 ELSE 1 END`,
      quotaPeriod: period,
    })
    .where(
      and(
        eq(organizations.id, organizationId),
        sql`((${organizations.quotaPeriod} != ${period} AND ${organizations.apiQuotaLimit} > 0) OR ${organizations.apiQuotaUsed} < ${organizations.apiQuotaLimit})`,
      ),
    )
    .returning({ used: organizations.apiQuotaUsed })
    .get();
  return row !== undefined;
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
