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

export const bodySize: MiddlewareHandler<AppEnv> = (c, next) => limiterFor(c.var.config.MAX_BODY_BYTES)(c, next);
