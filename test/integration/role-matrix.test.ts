import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { type Access, allows } from '../../src/features/accounts/access';
import { routeAccessTable } from '../../src/features/accounts/route-access';
import { type Account, createApiKey, memberOf, register, type Role } from '../helpers/auth';
import { call, type EnvOverrides, expectEnvelope } from '../helpers/http';

// Every non-public route of the app, called by every role of one organization (with a JWT and with an
// API key of that role), anonymously, and with garbage credentials. The table comes from the app
// itself, so a route added later is covered without touching this file.

const ROLES: Role[] = ['admin', 'manager', 'member', 'viewer'];

interface Route {
  method: string;
  path: string; // normalized: path params as {name}
  access: Access;
}

// Hono registers `/x/:id` (or `/x/:id{regex}`); the contract writes `/x/{id}`.
function normalize(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

const table = routeAccessTable(createApp());
const ALL_ROUTES: Route[] = table.declared.map((r) => ({ ...r, path: normalize(r.path) }));
const PROTECTED = ALL_ROUTES.filter((r) => r.access.kind !== 'public');
const label = (r: Route) => `${r.method} ${r.path}`;

// Known routes with their expected access: the table must list them, or the matrix proves nothing.
const KNOWN: Record<string, string> = {
  'POST /api/v1/chat/completion': 'ai',
  'POST /api/v1/chat/stream': 'ai',
  'POST /api/v1/requests': 'ai',
  'GET /api/v1/requests/{id}': 'ai-read',
  'GET /api/v1/models': 'ai-read',
  'GET /api/v1/models/{model_id}': 'ai-read',
  'POST /v1/chat/completions': 'ai',
  'GET /v1/models/{model}': 'ai-read',
  'POST /v1/messages': 'ai',
  'GET /api/v1/auth/me': 'user',
  'GET /api/v1/organizations/current': 'role:viewer',
  'PUT /api/v1/organizations/current': 'role:admin',
  'POST /api/v1/organizations/current/members': 'role:admin',
  'PUT /api/v1/organizations/current/members/{user_id}': 'role:admin',
  'DELETE /api/v1/organizations/current/members/{user_id}': 'role:admin',
  'GET /api/v1/auth/api-keys': 'role:admin',
  'POST /api/v1/auth/api-keys': 'role:admin',
  'DELETE /api/v1/auth/api-keys/{id}': 'role:admin',
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/register': 'public',
  'GET /health': 'public',
};
const accessName = (a: Access) => (a.kind === 'role' ? `role:${a.min}` : a.kind);

// Harmless input: random ids (nothing to find), a known model name, and an empty JSON object.
function harmless(route: Route, headers: Record<string, string> = {}): { path: string; init: RequestInit } {
  const path = route.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) =>
    name === 'model' || name === 'model_id' ? 'gpt-4' : crypto.randomUUID(),
  );
  const init: RequestInit = { method: route.method, headers: { ...headers } };
  if (route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH') {
    init.headers = { 'content-type': 'application/json', ...headers };
    init.body = '{}';
  }
  return { path, init };
}

// /api and /health answer the platform envelope; /v1/* answer their SDK's own error shape.
const platform = (path: string) => path.startsWith('/api/') || path === '/health' || path.startsWith('/health/');

async function hit(route: Route, headers: Record<string, string> = {}, overrides?: EnvOverrides) {
  const { path, init } = harmless(route, headers);
  return call(path, init, overrides);
}

// Collects every mismatch so one run shows the whole picture, then fails with all of them.
async function expectDenied(
  failures: string[],
  who: string,
  route: Route,
  res: Response,
  status: 401 | 403,
): Promise<void> {
  const code = status === 401 ? 'AUTHENTICATION_REQUIRED' : 'INSUFFICIENT_PERMISSIONS';
  if (platform(route.path)) {
    try {
      await expectEnvelope(res, status, code);
    } catch (e) {
      failures.push(`${label(route)} as ${who} [${accessName(route.access)}]: ${(e as Error).message.slice(0, 400)}`);
    }
    return;
  }
  const text = await res.text();
  if (res.status !== status)
    failures.push(
      `${label(route)} as ${who} [${accessName(route.access)}]: expected ${status}, got ${res.status} ${text.slice(0, 300)}`,
    );
}

async function expectAllowed(failures: string[], who: string, route: Route, res: Response): Promise<void> {
  const text = await res.text();
  if (res.status === 401 || res.status === 403)
    failures.push(
      `${label(route)} as ${who} [${accessName(route.access)}]: expected neither 401 nor 403, got ${res.status} ${text.slice(0, 300)}`,
    );
}

function report(failures: string[]): void {
  if (failures.length > 0) throw new Error(`${failures.length} mismatch(es):\n  ${failures.join('\n  ')}`);
}

interface Org {
  accounts: Record<Role, Account>;
  keys: Record<Role, string>;
}

// One organization with an account per role (the registering owner is its admin) and an API key per
// role created by the admin. Storage is isolated per test, so every test builds its own.
async function organization(): Promise<Org> {
  const admin = await register();
  const accounts = { admin } as Record<Role, Account>;
  for (const role of ROLES) if (role !== 'admin') accounts[role] = await memberOf(admin, role);
  const keys = {} as Record<Role, string>;
  for (const role of ROLES) {
    const key = await createApiKey(admin, { name: `${role} key`, role });
    expect(key.role).toBe(role);
    keys[role] = key.key;
  }
  // Sanity: each credential acts in the organization with the intended role.
  for (const role of ROLES) {
    for (const headers of [accounts[role].auth, { 'x-api-key': keys[role] }]) {
      const res = await call('/api/v1/auth/me', { headers });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { role?: string; organization_id?: string };
      expect(body.role, `role of ${role} credential on /auth/me`).toBe(role);
      expect(body.organization_id).toBe(admin.organizationId);
    }
  }
  return { accounts, keys };
}

describe('route access table', () => {
  it('is not empty, declares every route, and lists the known routes with their access', () => {
    expect(table.missing, 'routes without declared access').toEqual([]);
    expect(ALL_ROUTES.length).toBeGreaterThan(10);
    expect(PROTECTED.length).toBeGreaterThan(5);
    const byLabel = new Map(ALL_ROUTES.map((r) => [label(r), accessName(r.access)]));
    const problems: string[] = [];
    for (const [route, access] of Object.entries(KNOWN)) {
      if (!byLabel.has(route)) problems.push(`missing from the route table: ${route}`);
      else if (byLabel.get(route) !== access)
        problems.push(`${route}: expected ${access}, table says ${byLabel.get(route)}`);
    }
    expect(problems).toEqual([]);
    // Every kind of access is exercised by the matrix below.
    const kinds = new Set(PROTECTED.map((r) => r.access.kind));
    for (const kind of ['ai', 'ai-read', 'user', 'role']) expect(kinds, `an access of kind ${kind}`).toContain(kind);
  });

  it('allows() orders the roles viewer < member < manager < admin', () => {
    expect(ROLES.map((r) => allows({ kind: 'role', min: 'manager' }, r))).toEqual([true, true, false, false]);
    expect(ROLES.map((r) => allows({ kind: 'ai' }, r))).toEqual([true, true, true, false]);
    expect(ROLES.map((r) => allows({ kind: 'ai-read' }, r))).toEqual([true, true, true, true]);
    expect(allows({ kind: 'user' }, null)).toBe(false);
  });
});

describe.each([
  ['JWT (Authorization: Bearer)', 'jwt'],
  ['API key (X-API-Key)', 'key'],
  ['API key (Authorization: Bearer ew_...)', 'bearer-key'],
] as const)('role matrix with %s', (_name, via) => {
  it.each(ROLES)('%s gets exactly what its role allows on every non-public route', async (role) => {
    const org = await organization();
    const headers =
      via === 'jwt'
        ? org.accounts[role].auth
        : via === 'key'
          ? { 'x-api-key': org.keys[role] }
          : { authorization: `Bearer ${org.keys[role]}` };
    const who = `${role} (${via})`;
    const failures: string[] = [];
    for (const route of PROTECTED) {
      const res = await hit(route, headers);
      if (allows(route.access, role)) await expectAllowed(failures, who, route, res);
      else await expectDenied(failures, who, route, res, 403);
    }
    report(failures);
    // The harmless calls changed nothing about who the caller is.
    const again = await call('/api/v1/auth/me', { headers });
    expect(again.status).toBe(200);
  });
});

describe('anonymous and invalid credentials', () => {
  it('with ALLOW_ANONYMOUS=false every non-public route answers 401 without credentials', async () => {
    const failures: string[] = [];
    for (const route of PROTECTED) {
      await expectDenied(
        failures,
        'anonymous (ALLOW_ANONYMOUS=false)',
        route,
        await hit(route, {}, { ALLOW_ANONYMOUS: 'false' }),
        401,
      );
    }
    report(failures);
  });

  it('with ALLOW_ANONYMOUS=true only ai and ai-read routes work without credentials', async () => {
    const failures: string[] = [];
    for (const route of PROTECTED) {
      const res = await hit(route);
      if (route.access.kind === 'ai' || route.access.kind === 'ai-read')
        await expectAllowed(failures, 'anonymous', route, res);
      else await expectDenied(failures, 'anonymous', route, res, 401);
    }
    report(failures);
  });

  it.each([
    ['Authorization: Bearer nonsense', { authorization: 'Bearer nonsense' }],
    ['X-API-Key: ew_nonsense', { 'x-api-key': 'ew_nonsense' }],
    ['Authorization: Bearer ew_nonsense', { authorization: 'Bearer ew_nonsense' }],
    ['a well-formed but unsigned JWT', { authorization: `Bearer ${fakeJwt()}` }],
  ])(
    'garbage credentials (%s) get 401 on every non-public route, whatever ALLOW_ANONYMOUS says',
    async (name, headers) => {
      const failures: string[] = [];
      for (const allow of ['true', 'false']) {
        for (const route of PROTECTED) {
          const res = await hit(route, headers, { ALLOW_ANONYMOUS: allow });
          await expectDenied(failures, `${name} (ALLOW_ANONYMOUS=${allow})`, route, res, 401);
        }
      }
      report(failures);
    },
  );
});

function fakeJwt(): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: crypto.randomUUID(), sid: crypto.randomUUID(), iat: now, exp: now + 3600 })}.${b64('sig')}`;
}
