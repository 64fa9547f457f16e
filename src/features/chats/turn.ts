import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { files } from '../../db/schema';
import { ApiError } from '../../lib/errors';
import type { ChatRow } from './access';
import { appendMessage, history, type FileRow, type MessageRow } from './queries';

// One turn of a chat: the member's message (with its files) stored, the conversation the model is given,
// and the assistant's answer stored once it settles. Routes and rooms run the gateway call in between.

// How many earlier messages the model sees, and how much of a text file goes inline.
export const HISTORY_MESSAGES = 50;
export const INLINE_FILE_CHARS = 100_000;

export interface TurnInput {
  content: string;
  files: string[];
  systemPrompt?: string;
}

interface ChatTurnMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export function modelSpec(chat: Pick<ChatRow, 'currentModelApiSource' | 'currentModelId'>): string {
  return `${chat.currentModelApiSource}:${chat.currentModelId}`;
}

const TEXT_TYPES = /^(text\/[a-z0-9.+-]+|application\/json)$/i;

// The files a message refers to, all of this chat, in the order given; text files go inline, other types
// are refused naming the type and the model (this deployment passes no image or audio parts to models yet).
export async function messageFiles(db: Database, chat: ChatRow, ids: string[]): Promise<FileRow[]> {
  if (ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const rows = await db
    .select()
    .from(files)
    .where(and(eq(files.chatId, chat.id), inArray(files.id, unique)))
    .all();
  const byId = new Map(rows.map((f) => [f.id, f]));
  return unique.map((id, i) => {
    const file = byId.get(id);
    if (!file) {
      throw new ApiError('VALIDATION_ERROR', undefined, {
        details: [{ field: `files[${i}]`, message: `No file ${id} in this chat` }],
      });
    }
    if (!TEXT_TYPES.test(file.contentType)) {
      throw new ApiError('VALIDATION_ERROR', undefined, {
        details: [
          {
            field: `files[${i}]`,
            message: `${file.contentType} files cannot be sent to ${modelSpec(chat)}: only text files are passed to models`,
          },
        ],
      });
    }
    return file;
  });
}

async function inlined(bucket: R2Bucket, file: FileRow): Promise<string> {
  const object = await bucket.get(file.objectKey, { range: { offset: 0, length: INLINE_FILE_CHARS * 4 } });
  const text = object ? await object.text() : '';
  const cut = text.length > INLINE_FILE_CHARS ? `${text.slice(0, INLINE_FILE_CHARS)}\n[… truncated]` : text;
  return `\n\n[file: ${file.filename}]\n${cut}`;
}

// Stores the member's message and returns it with the conversation for the model (its last
// HISTORY_MESSAGES complete messages, the new one last, text files inline).
export async function beginTurn(
  db: Database,
  bucket: R2Bucket,
  chat: ChatRow,
  userId: string,
  input: TurnInput,
  attached: FileRow[],
): Promise<{ message: MessageRow; conversation: ChatTurnMessage[] }> {
  const message = await appendMessage(db, {
    chatId: chat.id,
    role: 'user',
    userId,
    content: input.content,
    files: attached.map((f) => f.id),
  });
  const inline = new Map<string, string>();
  await Promise.all(attached.map(async (f) => inline.set(f.id, await inlined(bucket, f))));
  const past = await history(db, chat.id, HISTORY_MESSAGES);
  const conversation: ChatTurnMessage[] = [
    ...(input.systemPrompt ? [{ role: 'system' as const, content: input.systemPrompt }] : []),
    ...past.map((m) => ({
      role: m.role,
      content: m.id === message.id ? m.content + m.files.map((id) => inline.get(id) ?? '').join('') : m.content,
    })),
  ];
  return { message, conversation };
}

export interface TurnResult {
  text: string;
  model: string | null;
  status: 'complete' | 'cancelled' | 'failed';
  promptTokens?: number;
  completionTokens?: number;
}

export function finishTurn(db: Database, chat: ChatRow, result: TurnResult): Promise<MessageRow> {
  return appendMessage(db, {
    chatId: chat.id,
    role: 'assistant',
    userId: null,
    content: result.text,
    model: result.model,
    status: result.status,
    promptTokens: result.promptTokens ?? null,
    completionTokens: result.completionTokens ?? null,
  });
}
