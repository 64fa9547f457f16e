import { and, eq } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { assistantRuns } from '../../db/schema';

export type RunRow = typeof assistantRuns.$inferSelect;
export type NewRunRow = typeof assistantRuns.$inferInsert;

export async function insertRun(db: Database, row: NewRunRow): Promise<RunRow> {
  const [stored] = await db.insert(assistantRuns).values(row).returning();
  if (!stored) throw new Error('assistant run insert returned no row');
  return stored;
}

// The caller's own run; another user's is indistinguishable from none.
export function findRun(db: Database, userId: string, id: string): Promise<RunRow | undefined> {
  return db
    .select()
    .from(assistantRuns)
    .where(and(eq(assistantRuns.id, id), eq(assistantRuns.userId, userId)))
    .get();
}
