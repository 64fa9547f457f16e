import { eq } from 'drizzle-orm';
import type { Database } from '../../../db/client';
import { chats } from '../../../db/schema';
import { ApiError } from '../../../lib/errors';
import type { Logger } from '../../../lib/log';
import { MultipartReader } from './multipart';
import { sanitizeFilename } from './names';
import { type FileRow, insertFiles, objectKey } from './queries';
import { FileSink } from './store';

export interface UploadLimits {
  maxFileBytes: number;
  maxRequestBytes: number;
  maxFiles: number;
}

export interface UploadInput {
  body: ReadableStream<Uint8Array>;
  boundary: string;
  bucket: R2Bucket;
  db: Database;
  chatId: string;
  userId: string;
  limits: UploadLimits;
  log: Logger;
  // Tests use smaller R2 parts.
  partBytes?: number;
}

// The multipart field the files come in (seed 004's `files: List[UploadFile]`).
export const FILES_FIELD = 'files';

function tooLarge(message: string, field: string, detail: string): ApiError {
  return new ApiError('PAYLOAD_TOO_LARGE', message, { details: [{ field, message: detail }] });
}

// Reads an upload from the request body straight into R2, one file after another, then records every
// file in one D1 batch. All or nothing: on any failure — a limit crossed, a refused type, a malformed
// body, the client's stream breaking off, R2 or D1 failing — reading stops at once, an unfinished R2
// multipart upload is aborted, every object this request stored is deleted, and no row is written.
export async function receiveUpload(input: UploadInput): Promise<FileRow[]> {
  const { limits } = input;
  const reader = input.body.getReader();
  let received = 0;
  const pull = async (): Promise<Uint8Array | null> => {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (cause) {
      throw new ApiError('VALIDATION_ERROR', 'The upload was interrupted before the request body ended', {
        cause,
        details: [{ field: 'body', message: 'the request body stream failed' }],
      });
    }
    if (next.done) return null;
    received += next.value.byteLength;
    if (received > limits.maxRequestBytes) {
      throw tooLarge(
        `The upload is larger than ${limits.maxRequestBytes} bytes`,
        'body',
        `at most ${limits.maxRequestBytes} bytes per request`,
      );
    }
    return next.value;
  };

  const stored: string[] = [];
  let sink: FileSink | undefined;
  try {
    const multipart = new MultipartReader(pull, input.boundary);
    const rows: FileRow[] = [];
    const uploadedAt = new Date().toISOString();
    for (let part = await multipart.nextPart(); part; part = await multipart.nextPart()) {
      const field = `${FILES_FIELD}[${rows.length}]`;
      if (part.headers.name !== FILES_FIELD || part.headers.filename === undefined) {
        throw new ApiError('VALIDATION_ERROR', `Send files in parts named "${FILES_FIELD}", each with a filename`, {
          details: [
            {
              field: part.headers.name.slice(0, 100),
              message: `unexpected field; expected file parts "${FILES_FIELD}"`,
            },
          ],
        });
      }
      if (rows.length >= limits.maxFiles) {
        throw tooLarge(`At most ${limits.maxFiles} files per upload`, FILES_FIELD, `at most ${limits.maxFiles} files`);
      }
      const id = crypto.randomUUID();
      const key = objectKey(input.chatId, id);
      const filename = sanitizeFilename(part.headers.filename);
      sink = new FileSink({
        bucket: input.bucket,
        key,
        name: filename,
        field,
        declaredType: part.headers.contentType,
        maxBytes: limits.maxFileBytes,
        ...(input.partBytes ? { partBytes: input.partBytes } : {}),
      });
      for (let chunk = await part.read(); chunk; chunk = await part.read()) await sink.write(chunk);
      // Noted before the put: if it fails after R2 kept the bytes, the cleanup still deletes them.
      stored.push(key);
      const file = await sink.finish();
      sink = undefined;
      rows.push({
        id,
        chatId: input.chatId,
        userId: input.userId,
        filename,
        contentType: file.contentType,
        size: file.size,
        sha256: file.sha256,
        objectKey: key,
        uploadedAt,
      });
    }
    if (rows.length === 0) {
      throw new ApiError('VALIDATION_ERROR', 'The upload contains no files', {
        details: [{ field: FILES_FIELD, message: 'at least one file is required' }],
      });
    }
    await record(input.db, input.chatId, rows);
    return rows;
  } catch (err) {
    await cleanUp(input, reader, sink, stored);
    throw err;
  }
}

// The rows, after every object is stored. A chat deleted meanwhile refuses them (foreign key): that is
// the chat being gone (404), not a failure of ours.
async function record(db: Database, chatId: string, rows: FileRow[]): Promise<void> {
  try {
    await insertFiles(db, rows);
  } catch (err) {
    const chat = await db
      .select({ id: chats.id })
      .from(chats)
      .where(eq(chats.id, chatId))
      .get()
      .catch(() => ({ id: chatId }));
    if (!chat) throw new ApiError('RESOURCE_NOT_FOUND', 'Chat not found (deleted during the upload)', { cause: err });
    throw err;
  }
}

async function cleanUp(
  input: UploadInput,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sink: FileSink | undefined,
  stored: string[],
): Promise<void> {
  // Stop reading the client's body: nothing more of it will be used.
  await reader.cancel().catch(() => undefined);
  await sink
    ?.abort()
    .catch((error: unknown) =>
      input.log.error('upload: aborting the R2 multipart upload failed', { error: String(error) }),
    );
  if (stored.length > 0) {
    // At most maxFiles keys (≤ 1,000 by config): one R2 delete call.
    await input.bucket.delete(stored).catch((error: unknown) =>
      // Left under the chat's prefix, so deleting the chat still removes them (cleanup.ts).
      input.log.error('upload: deleting the stored objects failed', { keys: stored, error: String(error) }),
    );
  }
}
