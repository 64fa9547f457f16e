import { z } from '@hono/zod-openapi';
import { and, asc, count, eq, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client';
import { files } from '../../../db/schema';

export type FileRow = typeof files.$inferSelect;

// The R2 key of a file: chosen here from ids the server made, never from anything the client sent.
export function objectKey(chatId: string, fileId: string): string {
  return `${chatPrefix(chatId)}${fileId}`;
}

// Every object of a chat lies under this prefix (so deleting a chat can list them, orphans included).
export function chatPrefix(chatId: string): string {
  return `chats/${chatId}/`;
}

// Seed 004's File Structure, plus the chat and the content hash.
export const FileSchema = z
  .object({
    fileid: z.string().openapi({ example: '0f8fad5b-d9cb-469f-a165-70867728950e' }),
    filename: z.string().openapi({ example: 'report.pdf' }),
    uploaded_at: z.string().openapi({ example: '2024-01-15T10:30:00.000Z' }),
    userid: z.string(),
    content_type: z.string().openapi({ example: 'application/pdf' }),
    size: z.number().int(),
    object_key: z.string().openapi({ example: 'chats/7c9e6679-7425-40de-944b-e07fc1f90ae7/0f8fad5b-…' }),
    chat_id: z.string(),
    sha256: z.string().openapi({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }),
  })
  .openapi('File');

export type FileView = z.infer<typeof FileSchema>;

export function fileView(row: FileRow): FileView {
  return {
    fileid: row.id,
    filename: row.filename,
    uploaded_at: row.uploadedAt,
    userid: row.userId,
    content_type: row.contentType,
    size: row.size,
    object_key: row.objectKey,
    chat_id: row.chatId,
    sha256: row.sha256,
  };
}

// Upload order: by time, then by insertion (one request's files share a timestamp).
export async function listFiles(db: Database, chatId: string, limit: number, offset: number) {
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(files)
      .where(eq(files.chatId, chatId))
      .orderBy(asc(files.uploadedAt), asc(sql`rowid`))
      .limit(limit)
      .offset(offset)
      .all(),
    db.select({ n: count() }).from(files).where(eq(files.chatId, chatId)).get(),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export function findFile(db: Database, chatId: string, fileId: string): Promise<FileRow | undefined> {
  return db
    .select()
    .from(files)
    .where(and(eq(files.chatId, chatId), eq(files.id, fileId)))
    .get();
}

// All rows of one upload in one D1 batch (one transaction): either every file is recorded or none is.
export async function insertFiles(db: Database, rows: FileRow[]): Promise<void> {
  const [first, ...rest] = rows.map((row) => db.insert(files).values(row));
  if (!first) return;
  await db.batch([first, ...rest]);
}

export async function deleteFileRow(db: Database, chatId: string, fileId: string): Promise<void> {
  await db.delete(files).where(and(eq(files.chatId, chatId), eq(files.id, fileId)));
}
