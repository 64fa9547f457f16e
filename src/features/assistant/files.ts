import { eq, inArray } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { chats, files } from '../../db/schema';
import { ApiError } from '../../lib/errors';
import type { Identity } from '../accounts';
import { canRead, INLINE_FILE_CHARS } from '../chats';
import { checkMedia, kindOfStored, type Media, maxBytes, tooLarge } from './media';

// Inputs by file id: files of any chat the caller can read (their own, or one shared with their
// organization). Any other id — another user's file, a deleted one, a made-up one — is a 404 that says
// nothing about whether it exists. Media are read from R2 and checked against their bytes again; text
// files go inline, as in a chat turn.

const TEXT_TYPES = /^(text\/[a-z0-9.+-]+|application\/json)$/i;

export interface FileInputs {
  media: Media[];
  // Text files, already framed for the prompt.
  texts: string[];
}

const notFound = (field: string, id: string) =>
  new ApiError('RESOURCE_NOT_FOUND', `File ${id.slice(0, 64)} not found`, {
    details: [{ field, message: 'no such file in a chat you can read' }],
  });

export async function fileInputs(
  db: Database,
  bucket: R2Bucket,
  who: Identity,
  ids: string[],
  model: string,
  maxMediaBytes: number,
): Promise<FileInputs> {
  if (ids.length === 0) return { media: [], texts: [] };
  const unique = [...new Set(ids)];
  const rows = await db
    .select({ file: files, chat: chats })
    .from(files)
    .innerJoin(chats, eq(files.chatId, chats.id))
    .where(inArray(files.id, unique))
    .all();
  const byId = new Map(rows.filter((r) => canRead(r.chat, who)).map((r) => [r.file.id, r.file]));
  // Every id is resolved before any byte is read: one unknown id refuses the run.
  const found = unique.map((id, i) => {
    const file = byId.get(id);
    if (!file) throw notFound(`file_ids[${i}]`, id);
    return { file, field: `file_ids[${i}]` };
  });
  const out: FileInputs = { media: [], texts: [] };
  for (const { file, field } of found) {
    if (TEXT_TYPES.test(file.contentType)) {
      const object = await bucket.get(file.objectKey, { range: { offset: 0, length: INLINE_FILE_CHARS * 4 } });
      if (!object) throw notFound(field, file.id);
      const text = await object.text();
      const cut = text.length > INLINE_FILE_CHARS ? `${text.slice(0, INLINE_FILE_CHARS)}\n[… truncated]` : text;
      out.texts.push(`[file: ${file.filename}]\n${cut}`);
      continue;
    }
    const kind = kindOfStored(file.contentType);
    if (kind === undefined) {
      throw new ApiError('VALIDATION_ERROR', `${file.contentType} files cannot be sent to ${model}`, {
        details: [
          {
            field,
            message: `${file.contentType} files cannot be sent to ${model}: only text, images, audio and video are run`,
          },
        ],
      });
    }
    const limit = maxBytes(kind, maxMediaBytes);
    if (file.size > limit) throw tooLarge(field, limit);
    const object = await bucket.get(file.objectKey);
    if (!object) throw notFound(field, file.id);
    const bytes = new Uint8Array(await object.arrayBuffer());
    const mediaType = checkMedia(kind, file.contentType, bytes, field, maxMediaBytes);
    out.media.push({ kind, mediaType, bytes, filename: file.filename, source: 'file', fileId: file.id, field });
  }
  return out;
}
