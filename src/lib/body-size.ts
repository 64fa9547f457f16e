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
// src/features/chats/files/upload.ts). MAX_BODY_BYTES would refuse any file over 1 MiB.
const OWN_LIMITS: readonly { method: string; path: RegExp }[] = [
  // Not anchored at the start: under a BASE_PATH the path has a prefix.
  { method: 'POST', path: /\/api\/v1\/chat\/[^/]+\/upload$/ },
];

export const bodySize: MiddlewareHandler<AppEnv> = (c, next) => {
  if (OWN_LIMITS.some((r) => r.method === c.req.method && r.path.test(c.req.path))) return next();
  return limiterFor(c.var.config.MAX_BODY_BYTES)(c, next);
};
