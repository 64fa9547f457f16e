import { eq } from 'drizzle-orm';
import type { Database } from '../../../db/client';
import { files } from '../../../db/schema';
import { chatPrefix } from './queries';

// R2 deletes at most 1,000 keys per call, and lists at most 1,000 per page.
export const R2_BATCH = 1_000;

// Removes every stored byte of a chat: the objects its file rows name, and whatever else lies under the
// chat's prefix (objects of an upload whose own cleanup failed), in deletes of up to 1,000 keys; then
// the rows. Returns how many objects were deleted.
//
// Call it after the chat's row is deleted: an upload still running then fails to insert its rows (the
// chat is gone) and deletes its own objects, and one that committed earlier stored its objects before
// this lists the prefix. (A multipart upload still in flight is not listed; its upload aborts it.)
export async function deleteChatFiles(env: { FILES: R2Bucket }, db: Database, chatId: string): Promise<number> {
  const prefix = chatPrefix(chatId);
  const keys = new Set(
    (await db.select({ key: files.objectKey }).from(files).where(eq(files.chatId, chatId)).all()).map((r) => r.key),
  );
  let cursor: string | undefined;
  do {
    const page = await env.FILES.list({ prefix, limit: R2_BATCH, ...(cursor ? { cursor } : {}) });
    for (const object of page.objects) keys.add(object.key);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const all = [...keys];
  for (let i = 0; i < all.length; i += R2_BATCH) await env.FILES.delete(all.slice(i, i + R2_BATCH));
  await db.delete(files).where(eq(files.chatId, chatId));
  return all.length;
}
