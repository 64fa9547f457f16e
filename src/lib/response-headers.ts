import type { MiddlewareHandler } from 'hono';
import { COMPRESSIBLE_CONTENT_TYPE_REGEX } from 'hono/utils/compress';
import type { AppEnv } from '../env';

const MIN_COMPRESS_BYTES = 1024;

// API answers are per-caller and never to be stored by shared caches.
export const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
};

// Cloudflare (and wrangler dev's proxy) rewrite Accept-Encoding on the way in and keep the
// client's own value in `cf.clientAcceptEncoding`; only that says what the client can decode.
function clientAcceptEncoding(req: Request): string {
  const cf: unknown = req.cf;
  if (
    typeof cf === 'object' &&
    cf !== null &&
    'clientAcceptEncoding' in cf &&
    typeof cf.clientAcceptEncoding === 'string'
  ) {
    return cf.clientAcceptEncoding;
  }
  return req.headers.get('accept-encoding') ?? '';
}

// workerd gzips the body itself when a response names `Content-Encoding: gzip`; compressing here
// as well (hono/compress) would encode twice. Streams are left alone so SSE frames are never held back.
export const gzipWhenAsked: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const res = c.res;
  if (!/\bgzip\b/i.test(clientAcceptEncoding(c.req.raw))) return;
  if (res.headers.has('Content-Encoding') || c.req.method === 'HEAD' || res.body === null) return;
  const type = res.headers.get('Content-Type') ?? '';
  if (!COMPRESSIBLE_CONTENT_TYPE_REGEX.test(type) || type.startsWith('text/event-stream')) return;
  const length = Number(res.headers.get('Content-Length') ?? Number.NaN);
  if (Number.isFinite(length) && length < MIN_COMPRESS_BYTES) return;
  res.headers.set('Content-Encoding', 'gzip');
  res.headers.delete('Content-Length');
  res.headers.append('Vary', 'Accept-Encoding');
};
