import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { type NewRequestRow, type RequestRow, requests } from '../../db/schema';

export async function insertRequest(db: Database, row: NewRequestRow): Promise<number> {
  const [inserted] = await db.insert(requests).values(row).returning({ id: requests.id });
  if (!inserted) throw new Error('insert into requests returned no row');
  return inserted.id;
}

export async function findRequest(db: Database, id: number): Promise<RequestRow | undefined> {
  return db.select().from(requests).where(eq(requests.id, id)).get();
}
