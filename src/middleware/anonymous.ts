import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../lib/errors';

// AI endpoints answer callers without credentials only where ALLOW_ANONYMOUS is on (local default,
// off in production). Until accounts exist, production therefore refuses every AI call: better a
// closed gateway than an open proxy spending the deployment's provider keys.
export const anonymousAllowed: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.config.ALLOW_ANONYMOUS) {
    throw new ApiError('AUTHENTICATION_REQUIRED', 'Credentials are required: anonymous access is disabled');
  }
  await next();
};
