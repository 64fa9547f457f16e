import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { chats } from '../../db/schema';
import { ApiError } from '../../lib/errors';
import { roleRank, type Identity } from '../accounts';

export type ChatRow = typeof chats.$inferSelect;

// What the caller means to do with a chat:
//   read  — see it, its messages and files, join its room (owner; any member of its organization once shared)
//   write — send messages, upload and delete files (owner; members and above of its organization once shared)
//   own   — rename, share or unshare, delete (the owner only)
export type ChatNeed = 'read' | 'write' | 'own';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function canRead(chat: ChatRow, who: Identity): boolean {
  return (
    chat.userId === who.userId || (chat.visibility === 'organization' && chat.organizationId === who.organizationId)
  );
}

export function canWrite(chat: ChatRow, who: Identity): boolean {
  return chat.userId === who.userId || (canRead(chat, who) && roleRank(who.role) >= roleRank('member'));
}

// The chat if `who` may act on it as `need` says. A chat the caller cannot read is 404, exactly like one
// that does not exist, so ids of other users' chats reveal nothing; one they can read but not change is 403.
export async function chatFor(db: Database, who: Identity, chatId: string, need: ChatNeed): Promise<ChatRow> {
  const chat = UUID.test(chatId) ? await db.select().from(chats).where(eq(chats.id, chatId)).get() : undefined;
  if (!chat || !canRead(chat, who)) throw new ApiError('RESOURCE_NOT_FOUND', 'Chat not found');
  if (need === 'write' && !canWrite(chat, who)) {
    throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Viewers can read a shared chat but not write to it');
  }
  if (need === 'own' && chat.userId !== who.userId) {
    throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Only the owner of a chat can change or delete it');
  }
  return chat;
}

// Chats and their files need an account: the caller's identity, or 401 (the accounts feature's check).
export { signedIn } from '../accounts';
