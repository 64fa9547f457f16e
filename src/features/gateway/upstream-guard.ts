import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError, type ErrorDetail } from '../../lib/errors';

// Names other gateways and SDKs use to let a request pick the upstream host or key. Edgeway takes
// both from configuration only, so a request that tries is refused rather than silently ignored.
const BODY_FIELDS = new Set([
  'api_base',
  'apibase',
  'base_url',
  'baseurl',
  'api_key',
  'apikey',
  'api_host',
  'custom_host',
  'customhost',
  'endpoint_url',
  'upstream_url',
  'provider_url',
  'azure_endpoint',
  'aws_access_key_id',
  'aws_secret_access_key',
]);

const HEADERS = [
  'x-api-base',
  'x-base-url',
  'x-custom-host',
  'x-portkey-custom-host',
  'x-upstream-url',
  'x-upstream-host',
  'x-provider-url',
  'x-provider-base-url',
  'x-provider-api-key',
  'x-openai-base-url',
  'x-openai-api-key',
  'x-anthropic-base-url',
  'x-anthropic-api-key',
  'x-target-url',
];

function normalize(key: string): string {
  return key.toLowerCase().replace(/-/g, '_');
}

export const upstreamGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const details: ErrorDetail[] = [];
  for (const name of HEADERS) {
    if (c.req.raw.headers.has(name))
      details.push({ field: `header.${name}`, message: 'The upstream host and key come from configuration only' });
  }
  if (/^application\/(.+\+)?json/i.test(c.req.header('content-type') ?? '')) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      body = undefined; // malformed JSON: the route's validator reports it
    }
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      for (const key of Object.keys(body)) {
        const k = normalize(key);
        if (BODY_FIELDS.has(k) || BODY_FIELDS.has(k.replace(/_/g, ''))) {
          details.push({ field: key, message: 'The upstream host and key come from configuration only' });
        }
      }
    }
  }
  if (details.length > 0)
    throw new ApiError('VALIDATION_ERROR', 'Requests cannot choose the upstream host or key', { details });
  await next();
};
