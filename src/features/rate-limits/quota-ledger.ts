import { and, eq, sql } from 'drizzle-orm';
import { getDb } from '../../db/client';
import { organizations } from '../../db/schema';

// The D1 side of the monthly quota: `organizations.api_quota_used` for `quota_period`. The per-organization
// RateLimiter object is the authority; this is its durable ledger, written behind.
// Why: docs/design/rate-limits.md#the-monthly-quota

export function quotaPeriod(now = new Date()): string {
  return now.toISOString().slice(0, 7);
}

// This month's count as the ledger has it (0 for a ledger of an earlier month or a missing row).
export async function readLedger(db: D1Database, organizationId: string, period: string): Promise<number> {
  const row = await getDb(db)
    .select({ used: organizations.apiQuotaUsed, period: organizations.quotaPeriod })
    .from(organizations)
    .where(eq(organizations.id, organizationId))
    .get();
  return row && row.period === period ? row.used : 0;
}

// Adds the object's pending change (negative for returned leases) to the ledger of `period`. A ledger
// already in a later month is left alone.
export async function writeLedger(
  db: D1Database,
  organizationId: string,
  period: string,
  change: number,
): Promise<void> {
  await getDb(db)
    .update(organizations)
    .set({
      apiQuotaUsed: sql`MAX(0, CASE WHEN ${organizations.quotaPeriod} = ${period} THEN ${organizations.apiQuotaUsed} + ${change} ELSE ${change} END)`,
      quotaPeriod: period,
    })
    .where(and(eq(organizations.id, organizationId), sql`${organizations.quotaPeriod} <= ${period}`))
    .run();
}

// The fallback when the object cannot be reached: check and count in one D1 statement, which D1 runs
// atomically, so N parallel calls with k left admit exactly k. A new month restarts the count.
export async function chargeLedger(db: D1Database, organizationId: string): Promise<boolean> {
  const period = quotaPeriod();
  const row = await getDb(db)
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

export async function readQuotaLimit(db: D1Database, organizationId: string): Promise<number | null> {
  const row = await getDb(db)
    .select({ limit: organizations.apiQuotaLimit })
    .from(organizations)
    .where(eq(organizations.id, organizationId))
    .get();
  return row?.limit ?? null;
}
