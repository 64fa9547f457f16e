import type { Hono } from 'hono';
import type { Access } from './access';
import { API_KEY_PREFIX } from './api-keys';
import { ACCESS_COOKIE } from './identity';
import { routeAccessTable } from './route-access';

// The credential carriers identify() reads, as OpenAPI security schemes. (The `?token=` of a
// WebSocket upgrade is left out: no documented operation is an upgrade.)
export const SECURITY_SCHEMES = {
  bearerJwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from login, register, refresh or the OAuth sign-in, as `Authorization: Bearer <jwt>`',
  },
  apiKeyBearer: {
    type: 'http',
    scheme: 'bearer',
    description: `An API key (\`${API_KEY_PREFIX}…\`) as \`Authorization: Bearer ${API_KEY_PREFIX}…\``,
  },
  apiKeyHeader: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: `An API key (\`${API_KEY_PREFIX}…\`) in the X-API-Key header`,
  },
  accessCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: ACCESS_COOKIE,
    description: 'The HTTP-only access cookie that the OAuth sign-in (validate-token) sets',
  },
} as const;

export type SecurityRequirement = Record<string, string[]>;

const ANY_CREDENTIAL: SecurityRequirement[] = Object.keys(SECURITY_SCHEMES).map((name) => ({ [name]: [] }));

// What a client must send, read from the same Access that protect() enforces. `{}` (no credential)
// is offered wherever ALLOW_ANONYMOUS can admit a caller: the document does not vary by deployment.
export function securityFor(access: Access): SecurityRequirement[] {
  switch (access.kind) {
    case 'public':
      return [];
    case 'ai':
    case 'ai-read':
      return [...ANY_CREDENTIAL, {}];
    case 'user':
    case 'role':
      return [...ANY_CREDENTIAL];
  }
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
type Operation = { security?: SecurityRequirement[] };
type PathItem = Partial<Record<(typeof METHODS)[number], Operation>>;

export interface SecuredDocument {
  paths?: Record<string, PathItem>;
  components?: { securitySchemes?: Record<string, object> };
}

/**
 * Declares the security schemes, and on every operation the `security` its route's protect() allows,
 * so no route can be documented without it. A public route that checks a credential of its own (the
 * metrics token) may declare its security in createRoute; any other hand-written `security` is refused,
 * because it could disagree with what protect() enforces.
 */
export function declareSecurity(doc: SecuredDocument, app: Pick<Hono, 'routes'>): void {
  // Hono writes `/x/:id` (or `/x/:id{regex}`), OpenAPI `/x/{id}`.
  const access = new Map(
    routeAccessTable(app).declared.map((r) => [
      `${r.method} ${r.path.replaceAll(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}')}`,
      r.access,
    ]),
  );
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const name = `${method.toUpperCase()} ${path}`;
      const declared = access.get(name);
      if (!declared) throw new Error(`OpenAPI operation without a declared access (protect(...)): ${name}`);
      if (operation.security !== undefined && declared.kind !== 'public') {
        throw new Error(`${name} declares its own security; it comes from protect(...)`);
      }
      operation.security ??= securityFor(declared);
    }
  }
  doc.components = { ...doc.components, securitySchemes: { ...doc.components?.securitySchemes, ...SECURITY_SCHEMES } };
}
