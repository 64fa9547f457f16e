import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../env';
import { ApiError } from './errors';

const limiters = new Map<number, MiddlewareHandler<AppEnv>>();

function limiterFor(maxSize: number): MiddlewareHandler<AppEnv> {
  let limiter = limiters.get(maxSize);
  if (!limiter) {
    limiter = bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError('PAYLOAD_TOO_LARGE', `The request body exceeds ${maxSize} bytes`);
      },
    });
    limiters.set(maxSize, limiter);
  }
  return limiter;
}

// Routes that stream their body and enforce their own, larger limits while they read it: chat uploads
// (MAX_UPLOAD_FILE_BYTES, MAX_UPLOAD_REQUEST_BYTES, MAX_FILES_PER_UPLOAD in
// src/features/chats/files/upload.ts) and the assistant's multipart runs (ASSISTANT_MAX_MEDIA_BYTES a
// medium, MAX_UPLOAD_REQUEST_BYTES the body, in src/features/assistant/input.ts). MAX_BODY_BYTES would
// refuse any file over 1 MiB. A JSON run stays under MAX_BODY_BYTES: it is parsed whole.
const OWN_LIMITS: readonly { method: string; path: RegExp; multipartOnly: boolean }[] = [
  // Not anchored at the start: under a BASE_PATH the path has a prefix.
  { method: 'POST', path: /\/api\/v1\/chat\/[^/]+\/upload$/, multipartOnly: false },
  { method: 'POST', path: /\/api\/v1\/run(\/audio)?$/, multipartOnly: true },
];

const isMultipart = (contentType: string | undefined): boolean =>
  (contentType ?? '').trimStart().toLowerCase().startsWith('multipart/form-data');

export const bodySize: MiddlewareHandler<AppEnv> = (c, next) => {
  const own = OWN_LIMITS.some(
    (r) =>
      r.method === c.req.method &&
      r.path.test(c.req.path) &&
      (!r.multipartOnly || isMultipart(c.req.header('content-type'))),
  );
  if (own) return next();
  return limiterFor(c.var.config.MAX_BODY_BYTES)(c, next);
};
