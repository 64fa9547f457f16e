import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { ApiError } from './errors';
import { issuesToDetails } from './validation';

// Every sub-app is built here so that a failed zod validation anywhere becomes the same 400 envelope.
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError('VALIDATION_ERROR', undefined, { details: issuesToDetails(result.error.issues) });
      }
    },
  });
}

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'VALIDATION_ERROR' }),
      message: z.string().openapi({ example: 'The request contains invalid data' }),
      status_code: z.number().int().openapi({ example: 400 }),
      details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
      request_id: z.string().openapi({ example: 'req_5f0c6b1e2f4a4f0f9b8f3c0f5e6d7a8b' }),
      timestamp: z.string().openapi({ example: '2024-01-15T10:30:00.000Z' }),
    }),
  })
  .openapi('Error');

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Validation error (VALIDATION_ERROR)',
  401: 'Missing or invalid credentials (AUTHENTICATION_REQUIRED)',
  403: 'Role does not allow this (INSUFFICIENT_PERMISSIONS)',
  404: 'Not found (RESOURCE_NOT_FOUND)',
  409: 'Conflict (CONFLICT)',
  413: 'Body too large (PAYLOAD_TOO_LARGE)',
  429: 'Rate limit or quota exceeded (RATE_LIMIT_EXCEEDED, QUOTA_EXCEEDED)',
  500: 'Unexpected error (INTERNAL_ERROR)',
  502: 'Upstream failure (PROVIDER_ERROR, INTEGRATION_ERROR)',
  503: 'Not configured or degraded (SERVICE_UNAVAILABLE)',
  504: 'Provider timeout (PROVIDER_TIMEOUT)',
};

export function errorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }> =
    {};
  for (const status of [...statuses, 500]) {
    out[status] = {
      description: ERROR_DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/json': { schema: ErrorSchema } },
    };
  }
  return out;
}
