import type { MiddlewareHandler } from 'hono';
import { loadConfig, secretValues } from '../config';
import type { AppEnv } from '../env';
import { createLogger } from './log';
import { CallSlot } from './call-slot';

const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function newRequestId(): string {
  return `req_${crypto.randomUUID().replaceAll('-', '')}`;
}

// Runs first: everything after it (including onError) can rely on requestId, log and startedAt.
// The client's X-Request-ID is echoed only when it is short and plain, so it cannot inject into logs.
export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('startedAt', performance.now());
  c.set('aiCall', new CallSlot());
  const incoming = c.req.header('x-request-id');
  const requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : newRequestId();
  c.set('requestId', requestId);
  const config = loadConfig(c.env);
  c.set('config', config);
  c.set('log', createLogger({ request_id: requestId }, secretValues(config)));
  await next();
};

// Set on every response, errors included, hence registered before the error boundary unwinds.
export function stampResponse(res: Response, requestId: string, startedAt: number): void {
  res.headers.set('X-Request-ID', requestId);
  res.headers.set('X-Process-Time', ((performance.now() - startedAt) / 1000).toFixed(4));
}
