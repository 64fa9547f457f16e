import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { protect, SIGNED_IN } from '../../accounts';
import { getDb } from '../../../db/client';
import type { AppEnv } from '../../../env';
import { ApiError } from '../../../lib/errors';
import { PaginationQuery, PaginationSchema, paginate, window } from '../../../lib/pagination';
import { createRouter, errorResponses } from '../../../lib/router';
import { chatFor, signedIn } from '../access';
import { boundaryOf } from './multipart';
import { contentDisposition } from './names';
import { deleteFileRow, FileSchema, fileView, findFile, listFiles } from './queries';
import { noneMatch, parseRange, type RangeRequest, rangeStillValid } from './ranges';
import { r2 } from './store';
import { FILES_FIELD, receiveUpload } from './upload';

// Files of a chat in R2, under /api/v1/chat/{chat_id}: upload, list, download, delete (seed 004).
// Reading (list, download) needs read access to the chat, changing it (upload, delete) write access
// (access.ts); a chat the caller cannot read is a 404 on every route.
export const fileRoutes = createRouter();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ChatParam = z.object({
  chat_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'chat_id', in: 'path' }, example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' }),
});

const FileParams = ChatParam.extend({
  file_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'file_id', in: 'path' }, example: '0f8fad5b-d9cb-469f-a165-70867728950e' }),
});

// Plain OpenAPI schemas, not zod: a zod schema for a multipart body would make the router parse (and
// buffer) the whole body before the handler streams it.
const UPLOAD_BODY = {
  type: 'object' as const,
  required: [FILES_FIELD],
  properties: {
    [FILES_FIELD]: { type: 'array' as const, items: { type: 'string' as const, format: 'binary' } },
  },
};
const BYTES = { type: 'string' as const, format: 'binary' };

// Lets work that cleans up after itself finish even if the client goes away mid-request.
function keepAlive(c: Context<AppEnv>, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work.catch(() => undefined));
  } catch {
    // No execution context (a bare app.request in a unit test): the await below is all there is.
  }
}

fileRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/chat/{chat_id}/upload',
    operationId: 'uploadChatFiles',
    tags: ['chats'],
    summary: 'Upload files to a chat (seed 004; multipart, several files)',
    description:
      'One or more parts named `files`. Each file is checked against its signature (the declared type must ' +
      'match the bytes; text must be UTF-8) and limited by MAX_UPLOAD_FILE_BYTES; the request by ' +
      'MAX_UPLOAD_REQUEST_BYTES and MAX_FILES_PER_UPLOAD (413). All or nothing: a refused or failed upload stores nothing.',
    middleware: [protect(SIGNED_IN)],
    request: {
      params: ChatParam,
      body: { required: true, content: { 'multipart/form-data': { schema: UPLOAD_BODY } } },
    },
    responses: {
      201: {
        description: 'Stored, in the order sent',
        content: { 'application/json': { schema: z.object({ data: z.array(FileSchema) }) } },
      },
      ...errorResponses(400, 401, 403, 404, 413, 502),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { chat_id } = c.req.valid('param');
    const db = getDb(c.env.DB);
    const chat = await chatFor(db, who, chat_id, 'write');
    const config = c.var.config;
    const boundary = boundaryOf(c.req.header('content-type'));
    const length = Number(c.req.header('content-length') ?? Number.NaN);
    if (length > config.MAX_UPLOAD_REQUEST_BYTES) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `The upload is larger than ${config.MAX_UPLOAD_REQUEST_BYTES} bytes`, {
        details: [{ field: 'body', message: `at most ${config.MAX_UPLOAD_REQUEST_BYTES} bytes per request` }],
      });
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError('VALIDATION_ERROR', 'The upload has no body');
    const work = receiveUpload({
      body,
      boundary,
      bucket: c.env.FILES,
      db,
      chatId: chat.id,
      userId: who.userId,
      limits: {
        maxFileBytes: config.MAX_UPLOAD_FILE_BYTES,
        maxRequestBytes: config.MAX_UPLOAD_REQUEST_BYTES,
        maxFiles: config.MAX_FILES_PER_UPLOAD,
      },
      log: c.var.log,
    });
    keepAlive(c, work);
    const rows = await work;
    return c.json({ data: rows.map(fileView) }, 201);
  },
);

fileRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/chat/{chat_id}/files',
    operationId: 'listChatFiles',
    tags: ['chats'],
    summary: 'Files of a chat, in upload order (seed 004; paginated)',
    middleware: [protect(SIGNED_IN)],
    request: { params: ChatParam, query: PaginationQuery },
    responses: {
      200: {
        description: 'Files',
        content: {
          'application/json': { schema: z.object({ data: z.array(FileSchema), pagination: PaginationSchema }) },
        },
      },
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { chat_id } = c.req.valid('param');
    const db = getDb(c.env.DB);
    const chat = await chatFor(db, who, chat_id, 'read');
    const { limit, offset } = window(c.req.valid('query'));
    const { rows, total } = await listFiles(db, chat.id, limit, offset);
    return c.json({ data: rows.map(fileView), pagination: paginate(total, limit, offset) }, 200);
  },
);

const DOWNLOAD_HEADERS = {
  ETag: { schema: { type: 'string' as const }, description: 'The SHA-256 of the bytes, quoted' },
  'Content-Disposition': {
    schema: { type: 'string' as const },
    description: 'attachment, with filename and filename*',
  },
  'Accept-Ranges': { schema: { type: 'string' as const }, description: 'bytes' },
};

fileRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/chat/{chat_id}/files/{file_id}',
    operationId: 'downloadChatFile',
    tags: ['chats'],
    summary: 'Download a file of a chat (seed 004): its stored bytes, with ranges and ETag',
    middleware: [protect(SIGNED_IN)],
    request: { params: FileParams },
    responses: {
      200: {
        description: 'The bytes, with the Content-Type they were stored with',
        headers: DOWNLOAD_HEADERS,
        content: { 'application/octet-stream': { schema: BYTES } },
      },
      206: {
        description: 'One byte range (`Range: bytes=a-b`, `bytes=a-`, `bytes=-n`), with Content-Range',
        headers: DOWNLOAD_HEADERS,
        content: { 'application/octet-stream': { schema: BYTES } },
      },
      304: { description: 'If-None-Match matched the ETag' },
      416: {
        description: 'The range starts past the end; `Content-Range: bytes */<size>` (no body)',
        headers: { 'Content-Range': { schema: { type: 'string' as const } } },
      },
      ...errorResponses(401, 404, 502),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { chat_id, file_id } = c.req.valid('param');
    const db = getDb(c.env.DB);
    const chat = await chatFor(db, who, chat_id, 'read');
    const row = UUID.test(file_id) ? await findFile(db, chat.id, file_id) : undefined;
    if (!row) throw new ApiError('RESOURCE_NOT_FOUND', 'File not found');

    const etag = `"${row.sha256}"`;
    const headers = new Headers({
      ETag: etag,
      'Last-Modified': new Date(row.uploadedAt).toUTCString(),
      'Accept-Ranges': 'bytes',
      'Content-Disposition': contentDisposition(row.filename),
      'X-Content-Type-Options': 'nosniff',
      // Private bytes: never stored by a cache, never recompressed on the way (ranges and Content-Length
      // count the stored bytes). `identity` keeps the app's own gzip middleware off text files too.
      'Cache-Control': 'no-store, no-transform',
      'Content-Encoding': 'identity',
    });
    if (noneMatch(c.req.header('if-none-match'), etag)) return new Response(null, { status: 304, headers });

    const range: RangeRequest = rangeStillValid(c.req.header('if-range'), etag)
      ? parseRange(c.req.header('range'), row.size)
      : { kind: 'full' };
    if (range.kind === 'unsatisfiable') {
      // The error catalogue has no 416 (its codes map to fixed statuses): answered as HTTP says, no envelope.
      headers.set('Content-Range', `bytes */${row.size}`);
      return new Response(null, { status: 416, headers });
    }
    headers.set('Content-Type', row.contentType);
    const length = range.kind === 'partial' ? range.end - range.start + 1 : row.size;
    headers.set('Content-Length', String(length));
    if (range.kind === 'partial') headers.set('Content-Range', `bytes ${range.start}-${range.end}/${row.size}`);
    const status = range.kind === 'partial' ? 206 : 200;
    if (c.req.method === 'HEAD') return new Response(null, { status, headers });

    const object = await r2(() =>
      c.env.FILES.get(row.objectKey, range.kind === 'partial' ? { range: { offset: range.start, length } } : {}),
    );
    if (!object) {
      c.var.log.error('file row without its R2 object', { file_id: row.id, key: row.objectKey });
      throw new ApiError('RESOURCE_NOT_FOUND', 'File not found');
    }
    return new Response(object.body, { status, headers });
  },
);

fileRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/chat/{chat_id}/files/{file_id}',
    operationId: 'deleteChatFile',
    tags: ['chats'],
    summary: 'Delete a file of a chat (seed 004; idempotent)',
    middleware: [protect(SIGNED_IN)],
    request: { params: FileParams },
    responses: {
      204: { description: 'Gone (whether or not it existed)' },
      ...errorResponses(401, 403, 404, 502),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { chat_id, file_id } = c.req.valid('param');
    const db = getDb(c.env.DB);
    const chat = await chatFor(db, who, chat_id, 'write');
    const row = UUID.test(file_id) ? await findFile(db, chat.id, file_id) : undefined;
    if (row) {
      // Bytes first, then the row: if the second step fails, a retry finds the row and finishes the job
      // (deleting a missing object is a no-op); the other order could leave an object nothing points to.
      await r2(() => c.env.FILES.delete(row.objectKey));
      await deleteFileRow(db, chat.id, row.id);
    }
    return c.body(null, 204);
  },
);
