import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ConfigError } from '../config';
import type { AppEnv } from '../env';
import { newRequestId } from './request-context';
import { ApiError, ERROR_CATALOGUE, statusToCode, toEnvelope } from './errors';
import { createLogger, describeError } from './log';
import { isoNow } from './time';

function toApiError(err: unknown, c: Context<AppEnv>): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const code = statusToCode(err.status);
    // Hono's own 4xx messages ("Malformed JSON in request body") are safe to show; 5xx ones are not.
    const message = err.status < 500 && err.message ? err.message : ERROR_CATALOGUE[code].message;
    const details = err.status === 415 ? [{ field: 'content-type', message: 'must be application/json' }] : undefined;
    return new ApiError(code, message, { details });
  }
  const log = c.get('log') ?? createLogger({ request_id: c.get('requestId') });
  if (err instanceof ConfigError) {
    log.error('configuration invalid', { variables: err.variables, detail: err.message });
    // Names the variables and the rule they break; never their values.
    return new ApiError('SERVICE_UNAVAILABLE', err.message);
  }
  log.error('unhandled error', { error: describeError(err), method: c.req.method, path: c.req.path });
  return new ApiError('INTERNAL_ERROR');
}

// One handler; the body's shape is the one the request's surface or route declared (the SDK-compatible
// surfaces answer in the format their official SDKs parse, docs/api.md), else the platform envelope.
export function errorResponse(c: Context<AppEnv>, err: ApiError): Response {
  c.set('errorCode', err.code);
  const requestId = c.get('requestId') ?? newRequestId();
  const body = c.var.errorBody?.(err, requestId) ?? toEnvelope(err, requestId, isoNow());
  return c.json(body as object, err.status, err.headers);
}

export const onError: ErrorHandler<AppEnv> = (err, c) => errorResponse(c, toApiError(err, c));

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, new ApiError('RESOURCE_NOT_FOUND', `No route for ${c.req.method} ${c.req.path.slice(0, 200)}`));
