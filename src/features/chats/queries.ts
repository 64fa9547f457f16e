import { and, asc, count, desc, eq, inArray, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { chats, files, messages, type MessageRole, type MessageStatus } from '../../db/schema';
import type { Identity } from '../accounts';
import type { ChatRow } from './access';

export type MessageRow = typeof messages.$inferSelect;
export type FileRow = typeof files.$inferSelect;

// The chats the caller can read: their own, and those shared with the organization they act in.
function readable(who: Identity) {
  return or(
    eq(chats.userId, who.userId),
    and(eq(chats.organizationId, who.organizationId), eq(chats.visibility, 'organization')),
  );
}

export async function listChats(
  db: Database,
  who: Identity,
  limit: number,
  offset: number,
): Promise<{ rows: ChatRow[]; total: number }> {
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(chats)
      .where(readable(who))
      .orderBy(desc(chats.createdAt), desc(chats.id))
      .limit(limit)
      .offset(offset)
      .all(),
    db.select({ n: count() }).from(chats).where(readable(who)).get(),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export async function filesOf(db: Database, chatIds: string[]): Promise<Map<string, FileRow[]>> {
  const byChat = new Map<string, FileRow[]>(chatIds.map((id) => [id, []]));
  if (chatIds.length === 0) return byChat;
  const rows = await db
    .select()
    .from(files)
    .where(inArray(files.chatId, chatIds))
    .orderBy(asc(files.uploadedAt), sql`rowid`)
    .all();
  for (const f of rows) byChat.get(f.chatId)?.push(f);
  return byChat;
}

export async function listMessages(
  db: Database,
  chatId: string,
  limit: number,
  offset: number,
): Promise<{ rows: MessageRow[]; total: number }> {
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(messages)
      .where(eq(messages.chatId, chatId))
      .orderBy(asc(messages.seq))
      .limit(limit)
      .offset(offset)
      .all(),
    db.select({ n: count() }).from(messages).where(eq(messages.chatId, chatId)).get(),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export interface NewMessage {
  chatId: string;
  role: MessageRole;
  userId: string | null;
  content: string;
  files?: string[];
  model?: string | null;
  status?: MessageStatus;
  promptTokens?: number | null;
  completionTokens?: number | null;
}

// Appends a message at the chat's next position in one statement, so two members writing at once get
// distinct positions (the unique (chat_id, seq) index would refuse a duplicate rather than reorder).
export async function appendMessage(db: Database, m: NewMessage): Promise<MessageRow> {
  const id = crypto.randomUUID();
  const row = await db
    .insert(messages)
    .values({
      id,
      chatId: m.chatId,
      seq: sql`(SELECT COALESCE(MAX(${messages.seq}), 0) + 1 FROM ${messages} WHERE ${messages.chatId} = ${m.chatId})`,
      role: m.role,
      userId: m.userId,
      content: m.content,
      files: m.files ?? [],
      model: m.model ?? null,
      status: m.status ?? 'complete',
      promptTokens: m.promptTokens ?? null,
      completionTokens: m.completionTokens ?? null,
    })
    .returning()
    .get();
  await db.update(chats).set({ updatedAt: row.createdAt }).where(eq(chats.id, m.chatId)).run();
  return row;
}

// The last `limit` complete messages of the chat, oldest first: the conversation the model is given.
export async function history(db: Database, chatId: string, limit: number): Promise<MessageRow[]> {
  const rows = await db
    .select()
    .from(messages)
    .where(and(eq(messages.chatId, chatId), eq(messages.status, 'complete')))
    .orderBy(desc(messages.seq))
    .limit(limit)
    .all();
  return rows.reverse();
}
