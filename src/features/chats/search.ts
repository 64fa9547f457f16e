import { type AnyColumn, and, desc, eq, inArray, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { chats, files, messages } from '../../db/schema';
import type { Identity } from '../accounts';
import { TEXT_TYPES } from './files/sniff';

// Search of what the caller can read (their own chats, and those shared with the organization they act
// in — the same rule as the chat list, queries.ts `readable`): message text and file names, by substring.
// The query is a literal: LIKE's wildcards in it are escaped, so `%` finds a percent sign, not everything.
// Text files' contents are searched too, but only while that stays cheap: the newest few small text files
// (CONTENT_SCAN_FILES of at most CONTENT_SCAN_BYTES each), read from R2 side by side; older or larger
// files are found by name only.

export type SearchCaller = Pick<Identity, 'userId' | 'organizationId'>;

export interface ChatSearchHit {
  kind: 'message' | 'file';
  chatId: string;
  chatTitle: string | null;
  // The message's or the file's id.
  id: string;
  // Messages: the sender's role and the text around the first match; files: the name and type, and
  // the text around the match when it was found in the file's contents.
  role?: string;
  snippet?: string;
  filename?: string;
  contentType?: string;
  createdAt: string;
}

export const SEARCH_MAX_RESULTS = 50;
const SNIPPET_CHARS = 160;
export const CONTENT_SCAN_FILES = 10;
export const CONTENT_SCAN_BYTES = 65_536;

function readable(who: SearchCaller): SQL | undefined {
  return or(
    eq(chats.userId, who.userId),
    and(eq(chats.organizationId, who.organizationId), eq(chats.visibility, 'organization')),
  );
}

// `\` escapes itself and LIKE's two wildcards; the pattern is then bound as a parameter.
export function likePattern(query: string): string {
  return `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function contains(column: AnyColumn, query: string): SQL {
  return sql`${column} LIKE ${likePattern(query)} ESCAPE '\\'`;
}

// The text around the first (case-insensitive) match, so a long message does not fill the answer.
export function snippetOf(text: string, query: string): string {
  const at = text.toLowerCase().indexOf(query.toLowerCase());
  if (text.length <= SNIPPET_CHARS) return text;
  const start = Math.max(0, (at < 0 ? 0 : at) - Math.floor((SNIPPET_CHARS - query.length) / 2));
  const piece = text.slice(start, start + SNIPPET_CHARS);
  return `${start > 0 ? '…' : ''}${piece}${start + SNIPPET_CHARS < text.length ? '…' : ''}`;
}

type FileHitRow = {
  id: string;
  chatId: string;
  filename: string;
  contentType: string;
  createdAt: string;
  title: string | null;
};

// The newest small text files whose name did not match, whose contents do. A file R2 cannot give is
// skipped: the search answers with what it found, not an error.
async function contentHits(
  db: Database,
  bucket: R2Bucket,
  who: SearchCaller,
  query: string,
  exclude: Set<string>,
): Promise<{ row: FileHitRow; text: string }[]> {
  const candidates = await db
    .select({
      id: files.id,
      chatId: files.chatId,
      filename: files.filename,
      contentType: files.contentType,
      createdAt: files.uploadedAt,
      title: chats.title,
      objectKey: files.objectKey,
    })
    .from(files)
    .innerJoin(chats, eq(chats.id, files.chatId))
    .where(and(readable(who), inArray(files.contentType, [...TEXT_TYPES]), lte(files.size, CONTENT_SCAN_BYTES)))
    .orderBy(desc(files.uploadedAt))
    .limit(CONTENT_SCAN_FILES)
    .all();
  const needle = query.toLowerCase();
  const read = await Promise.all(
    candidates
      .filter((f) => !exclude.has(f.id))
      .map(async ({ objectKey, ...row }) => {
        try {
          const object = await bucket.get(objectKey);
          const text = object ? await object.text() : '';
          return text.toLowerCase().includes(needle) ? { row, text } : undefined;
        } catch {
          return undefined;
        }
      }),
  );
  return read.filter((r): r is { row: FileHitRow; text: string } => r !== undefined);
}

// Newest first, messages and files together, at most `limit` (capped at SEARCH_MAX_RESULTS). With the
// files' bucket, small text files' contents are searched as well.
export async function searchChats(
  db: Database,
  who: SearchCaller,
  query: string,
  limit: number,
  bucket?: R2Bucket,
): Promise<ChatSearchHit[]> {
  const cap = Math.max(1, Math.min(limit, SEARCH_MAX_RESULTS));
  const [messageRows, fileRows] = await Promise.all([
    db
      .select({
        id: messages.id,
        chatId: messages.chatId,
        role: messages.role,
        content: messages.content,
        createdAt: messages.createdAt,
        title: chats.title,
      })
      .from(messages)
      .innerJoin(chats, eq(chats.id, messages.chatId))
      .where(and(readable(who), contains(messages.content, query)))
      .orderBy(desc(messages.createdAt), desc(messages.seq))
      .limit(cap)
      .all(),
    db
      .select({
        id: files.id,
        chatId: files.chatId,
        filename: files.filename,
        contentType: files.contentType,
        createdAt: files.uploadedAt,
        title: chats.title,
      })
      .from(files)
      .innerJoin(chats, eq(chats.id, files.chatId))
      .where(and(readable(who), contains(files.filename, query)))
      .orderBy(desc(files.uploadedAt))
      .limit(cap)
      .all(),
  ]);
  const inContents = bucket ? await contentHits(db, bucket, who, query, new Set(fileRows.map((f) => f.id))) : [];
  const hits: ChatSearchHit[] = [
    ...messageRows.map((m) => ({
      kind: 'message' as const,
      chatId: m.chatId,
      chatTitle: m.title,
      id: m.id,
      role: m.role,
      snippet: snippetOf(m.content, query),
      createdAt: m.createdAt,
    })),
    ...fileRows.map((f) => ({
      kind: 'file' as const,
      chatId: f.chatId,
      chatTitle: f.title,
      id: f.id,
      filename: f.filename,
      contentType: f.contentType,
      createdAt: f.createdAt,
    })),
    ...inContents.map(({ row: f, text }) => ({
      kind: 'file' as const,
      chatId: f.chatId,
      chatTitle: f.title,
      id: f.id,
      filename: f.filename,
      contentType: f.contentType,
      snippet: snippetOf(text, query),
      createdAt: f.createdAt,
    })),
  ];
  return hits.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0)).slice(0, cap);
}
