import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { files } from '../../db/schema';
import { Buffer } from 'node:buffer';
import { ApiError } from '../../lib/errors';
import { seesImages } from '../gateway';
import { findModel } from '../models';
import { type ChatMessage, IMAGE_MEDIA_TYPES, type ImageMediaType, type ImagePart } from '../providers';
import type { ChatRow } from './access';
import { appendMessage, history, type FileRow, type MessageRow } from './queries';

// One turn of a chat: the member's message (with its files) stored, the conversation the model is given,
// and the assistant's answer stored once it settles. Routes and rooms run the gateway call in between.

// How many earlier messages the model sees, and how much of a text file goes inline.
export const HISTORY_MESSAGES = 50;
export const INLINE_FILE_CHARS = 100_000;

// Images go to the model inline, as base64: read whole from R2 into memory, which is fine at these sizes.
// The cap is the strictest vendor's: Anthropic refuses an image whose base64 exceeds 5 MiB, i.e. raw bytes
// over 3.75 MiB (OpenAI allows 20 MB). Four per message keeps a turn's images at 15 MiB of bytes and
// 20 MiB of base64, one copy of each in the isolate while the upstream request is built (128 MB limit).
export const MAX_IMAGE_BYTES = (5 * 1024 * 1024 * 3) / 4;
export const MAX_IMAGES_PER_MESSAGE = 4;

export interface TurnInput {
  content: string;
  files: string[];
  systemPrompt?: string;
}

export function modelSpec(chat: Pick<ChatRow, 'currentModelApiSource' | 'currentModelId'>): string {
  return `${chat.currentModelApiSource}:${chat.currentModelId}`;
}

const TEXT_TYPES = /^(text\/[a-z0-9.+-]+|application\/json)$/i;

const isImageType = (t: string): t is ImageMediaType => (IMAGE_MEDIA_TYPES as readonly string[]).includes(t);

// "provider:model" (a chat's model, or a room turn's) or a bare catalogue id: does it take images? An
// unknown provider or model does not (a 400 now rather than an upstream error later).
function takesImages(spec: string): boolean {
  const colon = spec.indexOf(':');
  if (colon < 0) {
    const entry = findModel(spec);
    return entry !== undefined && seesImages(entry, entry.provider);
  }
  return seesImages(findModel(spec.slice(colon + 1).trim()), spec.slice(0, colon).trim().toLowerCase());
}

const refused = (i: number, message: string) =>
  new ApiError('VALIDATION_ERROR', message, { details: [{ field: `files[${i}]`, message }] });

// The files a message refers to, all of this chat, in the order given. Text files go inline; images go as
// image parts when the model (the chat's, or `model` for a turn that names its own) is marked 'vision' in
// the catalogue, within MAX_IMAGE_BYTES each and MAX_IMAGES_PER_MESSAGE; anything else is refused naming
// the type and the model. Checked before anything is stored or charged.
export async function messageFiles(
  db: Database,
  chat: ChatRow,
  ids: string[],
  model: string = modelSpec(chat),
): Promise<FileRow[]> {
  if (ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const rows = await db
    .select()
    .from(files)
    .where(and(eq(files.chatId, chat.id), inArray(files.id, unique)))
    .all();
  const byId = new Map(rows.map((f) => [f.id, f]));
  const found = unique.map((id, i) => {
    const file = byId.get(id);
    if (!file) throw refused(i, `No file ${id} in this chat`);
    if (TEXT_TYPES.test(file.contentType)) return file;
    if (!isImageType(file.contentType)) {
      throw refused(
        i,
        `${file.contentType} files cannot be sent to ${model}: only text files and images (${IMAGE_MEDIA_TYPES.join(', ')}) are passed to models`,
      );
    }
    if (!takesImages(model)) {
      throw refused(
        i,
        `${file.contentType} files cannot be sent to ${model}: it takes no image input (choose a model with the 'vision' capability)`,
      );
    }
    if (file.size > MAX_IMAGE_BYTES) {
      throw refused(
        i,
        `${file.filename} is ${file.size} bytes: images sent to models may be at most ${MAX_IMAGE_BYTES}`,
      );
    }
    return file;
  });
  if (found.filter((f) => isImageType(f.contentType)).length > MAX_IMAGES_PER_MESSAGE) {
    throw new ApiError('VALIDATION_ERROR', undefined, {
      details: [{ field: 'files', message: `At most ${MAX_IMAGES_PER_MESSAGE} images per message` }],
    });
  }
  return found;
}

async function inlined(bucket: R2Bucket, file: FileRow): Promise<string> {
  const object = await bucket.get(file.objectKey, { range: { offset: 0, length: INLINE_FILE_CHARS * 4 } });
  const text = object ? await object.text() : '';
  const cut = text.length > INLINE_FILE_CHARS ? `${text.slice(0, INLINE_FILE_CHARS)}\n[… truncated]` : text;
  return `\n\n[file: ${file.filename}]\n${cut}`;
}

// The stored bytes as an image part. A file deleted since messageFiles saw it is gone for this message
// too; the size is checked again on the object itself, the bytes the model would get.
async function imagePart(bucket: R2Bucket, file: FileRow, mediaType: ImageMediaType, i: number): Promise<ImagePart> {
  const object = await bucket.get(file.objectKey);
  if (!object) throw refused(i, `No file ${file.id} in this chat`);
  if (object.size > MAX_IMAGE_BYTES) {
    await object.body.cancel();
    throw refused(
      i,
      `${file.filename} is ${object.size} bytes: images sent to models may be at most ${MAX_IMAGE_BYTES}`,
    );
  }
  return { type: 'image', mediaType, data: Buffer.from(await object.arrayBuffer()).toString('base64') };
}

// The new message's content for the model: its words with text files inline, a plain string as always
// when no image is attached; with images, the images first (Anthropic's advice for vision prompts), then
// the words.
async function attachments(bucket: R2Bucket, content: string, attached: FileRow[]): Promise<ChatMessage['content']> {
  const parts = await Promise.all(
    attached.map(async (f, i) =>
      isImageType(f.contentType) ? imagePart(bucket, f, f.contentType, i) : inlined(bucket, f),
    ),
  );
  const text = content + parts.filter((p): p is string => typeof p === 'string').join('');
  const images = parts.filter((p): p is ImagePart => typeof p !== 'string');
  return images.length === 0 ? text : [...images, { type: 'text', text }];
}

// Stores the member's message and returns it with the conversation for the model (its last
// HISTORY_MESSAGES complete messages, the new one last, text files inline, images as parts). The files
// are read first, so a file that vanished leaves no message behind.
export async function beginTurn(
  db: Database,
  bucket: R2Bucket,
  chat: ChatRow,
  userId: string,
  input: TurnInput,
  attached: FileRow[],
): Promise<{ message: MessageRow; conversation: ChatMessage[] }> {
  const current = await attachments(bucket, input.content, attached);
  const message = await appendMessage(db, {
    chatId: chat.id,
    role: 'user',
    userId,
    content: input.content,
    files: attached.map((f) => f.id),
  });
  const past = await history(db, chat.id, HISTORY_MESSAGES);
  const conversation: ChatMessage[] = [
    ...(input.systemPrompt ? [{ role: 'system' as const, content: input.systemPrompt }] : []),
    ...past.map((m) => ({ role: m.role, content: m.id === message.id ? current : m.content })),
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
