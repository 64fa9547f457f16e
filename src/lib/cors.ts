import type { MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';
import type { AppEnv } from '../env';

const byOrigins = new Map<string, MiddlewareHandler<AppEnv>>();

// A wildcard list never sends credentials (browsers refuse `*` with credentials, and it would be unsafe).
export const cors: MiddlewareHandler<AppEnv> = (c, next) => {
  const origins = c.var.config.CORS_ORIGINS;
  const key = origins.join(',');
  let handler = byOrigins.get(key);
  if (!handler) {
    const wildcard = origins.includes('*');
    handler = honoCors({
      origin: wildcard ? '*' : (origin) => (origins.includes(origin) ? origin : null),
      credentials: !wildcard,
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: [
        'Content-Type',
        'Authorization',
        'X-API-Key',
        'X-Request-ID',
        'Cache-Control',
        'X-Cache-Similarity-Threshold',
      ],
      exposeHeaders: [
        'X-Request-ID',
        'X-Process-Time',
        'X-Cache-Status',
        'X-Cache-Similarity',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
        'X-RateLimit-Window',
        'Retry-After',
        // List answers (docs/api.md, pagination): browser clients page through them too.
        'X-Total-Count',
        'Link',
      ],
      maxAge: 600,
    });
    byOrigins.set(key, handler);
  }
  return handler(c, next);
};
