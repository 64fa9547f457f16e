import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app';
// allows() is not part of the accounts feature's index (nothing outside the feature needs it); tests may
// reach the file itself.
import { type Access, allows } from '../../src/features/accounts/access';
import { type Account, createApiKey, memberOf, register, type Role, signIn } from '../helpers/auth';
import { type Carrier, CARRIERS, type Presented, withToken } from '../helpers/credentials';
import { call, type EnvOverrides, expectEnvelope } from '../helpers/http';

// Each test walks every route with one credential (100+ sequential requests, some behind a password
// hash): seconds on a loaded 2-core machine, so the default 5 s per test is too tight for CI.
vi.setConfig({ testTimeout: 60_000 });

// Every (method, path) the app serves, pinned here to the access the contract gives it, then called by
// every role with every kind of credential, anonymously, and with garbage credentials. The expectations
// are written out in this file (from API.md "Authentication and roles" and the seeds), never read from
// the app; the app's route list is only used to check that this table and the app list the same routes.

const ROLES: readonly Role[] = ['admin', 'manager', 'member', 'viewer'];

// public: no credential looked at · ai: an AI call · ai-read: reading the AI surface or one's own
// requests · signed-in: any signed-in caller · a role: at least that role in the organization.
type Expected = 'public' | 'ai' | 'ai-read' | 'signed-in' | Role;

const EXPECTED: Record<string, Expected> = {
  // For load balancers, Prometheus and developers (API.md §1). Seed 002 is open; seed 004 marks
  // /internal/health and /internal/metrics "no authentication". (/metrics may demand METRICS_TOKEN, its
  // own secret, not an account credential; the test env sets none.)
  'GET /health': 'public',
  'GET /internal/health': 'public',
  'GET /metrics': 'public',
  'GET /internal/metrics': 'public',
  'GET /openapi.json': 'public',
  'GET /docs': 'public',
  'GET /redoc': 'public',
  // Signing up and in (seed 003 §2.1) and the OAuth hops (seed 004's auth table: no authentication).
  // Refresh's credential is the refresh token itself, in the body (seed 003) or cookie (seed 004);
  // logout works without credentials (seed 004) and ends the session of one it is given.
  'POST /api/v1/auth/register': 'public',
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/refresh': 'public',
  'POST /api/v1/auth/logout': 'public',
  'GET /api/v1/auth/{provider}/login': 'public',
  'GET /api/v1/auth/{provider}/callback': 'public',
  'GET /api/v1/auth/login-success-redirect': 'public',
  'GET /api/v1/auth/validate-token': 'public',
  // Seed 004: GET /me needs authentication, any role.
  'GET /api/v1/auth/me': 'signed-in',
  // The caller's own organizations, and moving their session to another of them. A key may list (only its
  // own organization) but never switch (403, decided inside): the harmless empty body here is a 400 before
  // that, so every signed-in carrier counts as handled; test/integration/switch-organization.test.ts has it.
  'GET /api/v1/auth/organizations': 'signed-in',
  'POST /api/v1/auth/switch-organization': 'signed-in',
  // "member: + AI calls"; anonymous where ALLOW_ANONYMOUS is on (seeds 000 and 002).
  'POST /api/v1/requests': 'ai',
  'POST /api/v1/chat/completion': 'ai',
  'POST /api/v1/chat/stream': 'ai',
  'POST /api/v1/aisuite/chat': 'ai',
  'POST /v1/chat/completions': 'ai',
  'POST /v1/messages': 'ai',
  // Reading: "viewer: read", and open where AI calls are open — seed 000's GET /requests/{id}, seed
  // 002's (open) models and cache stats; seed 004's /model and the SDK surfaces list the same catalogue.
  'GET /api/v1/requests/{id}': 'ai-read',
  'GET /api/v1/models': 'ai-read',
  'GET /api/v1/models/{model_id}': 'ai-read',
  'GET /api/v1/model': 'ai-read',
  'GET /v1/models': 'ai-read',
  'GET /v1/models/{model}': 'ai-read',
  'GET /api/v1/cache/stats': 'ai-read',
  // "manager: + ... cache warm/clear".
  'POST /api/v1/cache/warm': 'manager',
  'DELETE /api/v1/cache/clear': 'manager',
  // "viewer: read the organization's resources"; "admin: + organization settings, members, API keys".
  'GET /api/v1/organizations/current': 'viewer',
  'GET /api/v1/organizations/current/members': 'viewer',
  'PUT /api/v1/organizations/current': 'admin',
  'POST /api/v1/organizations/current/members': 'admin',
  'PUT /api/v1/organizations/current/members/{user_id}': 'admin',
  'DELETE /api/v1/organizations/current/members/{user_id}': 'admin',
  'GET /api/v1/auth/api-keys': 'admin',
  'POST /api/v1/auth/api-keys': 'admin',
  'DELETE /api/v1/auth/api-keys/{id}': 'admin',
  // Seed 004's chats need an account (no anonymous chats): reading any signed-in caller's own or shared
  // chats; creating a chat and sending a message are AI calls ("member: + AI calls, chats"). Whose chat it is
  // is decided inside (another user's chat is 404), which a random id here cannot reach.
  'GET /api/v1/chat': 'signed-in',
  'POST /api/v1/chat': 'member',
  'GET /api/v1/chat/{chat_id}': 'signed-in',
  'PATCH /api/v1/chat/{chat_id}': 'signed-in',
  'DELETE /api/v1/chat/{chat_id}': 'signed-in',
  'GET /api/v1/chat/{chat_id}/messages': 'signed-in',
  'GET /api/v1/chat/{chat_id}/messages/stream': 'signed-in',
  'POST /api/v1/chat/{chat_id}/messages': 'member',
  // A chat's files: whoever may read the chat lists and downloads them; whoever may write to it uploads and
  // deletes (decided inside, per chat).
  'POST /api/v1/chat/{chat_id}/upload': 'signed-in',
  'GET /api/v1/chat/{chat_id}/files': 'signed-in',
  'GET /api/v1/chat/{chat_id}/files/{file_id}': 'signed-in',
  'DELETE /api/v1/chat/{chat_id}/files/{file_id}': 'signed-in',
  // Seed 003's projects and templates: "viewer: read the organization's resources"; "member: + projects"
  // (and templates); changing or deleting another member's is for managers ("manager: + edit or delete any
  // project, template"), decided inside per row (a member changes their own), which a random id cannot reach.
  'GET /api/v1/projects': 'viewer',
  'POST /api/v1/projects': 'member',
  'GET /api/v1/projects/{project_id}': 'viewer',
  'PUT /api/v1/projects/{project_id}': 'member',
  'DELETE /api/v1/projects/{project_id}': 'member',
  'GET /api/v1/templates': 'viewer',
  'POST /api/v1/templates': 'member',
  'GET /api/v1/templates/{template_id}': 'viewer',
  'PUT /api/v1/templates/{template_id}': 'member',
  'DELETE /api/v1/templates/{template_id}': 'member',
  // Seed 002's WebSocket chat: open where AI calls are open, and to viewers, who may join a shared chat's
  // room to read it (the room refuses their chat frames).
  'GET /ws/chat': 'ai-read',
  // Socket.IO's transport is open to anyone; its /assistant/realtime namespace needs an account, checked at
  // the namespace CONNECT (test/integration/socket-io.test.ts).
  // Runs (seed 003): members start them; the starter or a manager cancels (decided inside, per run).
  'POST /api/v1/orchestrate': 'member',
  'GET /api/v1/orchestration': 'signed-in',
  'GET /api/v1/orchestration/{run_id}': 'signed-in',
  'POST /api/v1/orchestration/{run_id}/cancel': 'member',
  'GET /api/v1/orchestration/{run_id}/events': 'signed-in',
  'GET /api/v1/orchestration/{run_id}/operations/{operation_id}/file': 'signed-in',
  'GET /socket.io/': 'public',
  'POST /socket.io/': 'public',
  // Webhooks send the organization's events out, and their URLs are often credentials (Slack, Discord):
  // managers and admins manage and read them ("manager: + edit or delete any … webhook").
  'GET /api/v1/webhooks': 'manager',
  'POST /api/v1/webhooks': 'manager',
  'GET /api/v1/webhooks/{webhook_id}': 'manager',
  'PUT /api/v1/webhooks/{webhook_id}': 'manager',
  'DELETE /api/v1/webhooks/{webhook_id}': 'manager',
  'GET /api/v1/webhooks/{webhook_id}/deliveries': 'manager',
  'POST /api/v1/webhooks/{webhook_id}/test': 'manager',
  'POST /api/v1/webhooks/{webhook_id}/rotate-secret': 'manager',
  // Seed 003's analytics are the organization's figures: "viewer: read the organization's resources".
  'GET /api/v1/analytics/usage': 'viewer',
  'GET /api/v1/analytics/performance': 'viewer',
  // Seed 004's assistant runs are AI calls on the caller's own chats and files ("member: + AI calls,
  // chats"); reading a run back is for its owner (decided inside: another user's run is 404).
  'POST /api/v1/run': 'member',
  'POST /api/v1/run/audio': 'member',
  'GET /api/v1/run/{run_id}': 'signed-in',
  // The prompt compiler and embeddings are model calls like /aisuite/chat: AI calls, anonymous where
  // ALLOW_ANONYMOUS is on.
  'POST /api/v1/prompt_compiler/compile': 'ai',
  'POST /api/v1/prompt_compiler/compile/form': 'ai',
  'POST /api/v1/prompt_compiler/update_parameters': 'ai',
  'POST /v1/embeddings': 'ai',
};

// The WebSocket endpoint answers a handshake it accepts with 101: that is its "handled".
const UPGRADE_ROUTES = new Set(['GET /ws/chat', 'GET /socket.io/']);

// Which signed-in roles each kind of route admits (admin > manager > member > viewer).
const ROLES_ADMITTED: Record<Expected, readonly Role[]> = {
  public: ['admin', 'manager', 'member', 'viewer'],
  ai: ['admin', 'manager', 'member'],
  'ai-read': ['admin', 'manager', 'member', 'viewer'],
  'signed-in': ['admin', 'manager', 'member', 'viewer'],
  viewer: ['admin', 'manager', 'member', 'viewer'],
  member: ['admin', 'manager', 'member'],
  manager: ['admin', 'manager'],
  admin: ['admin'],
};

// What a caller without credentials may call, by ALLOW_ANONYMOUS.
const ANONYMOUS_ADMITTED: Record<'true' | 'false', readonly Expected[]> = {
  true: ['public', 'ai', 'ai-read'],
  false: ['public'],
};

interface Route {
  method: string;
  path: string; // path params as {name}
  expected: Expected;
}

const ROUTES: Route[] = Object.entries(EXPECTED).map(([key, expected]) => {
  const [method = '', path = ''] = key.split(' ');
  return { method, path, expected };
});
const PROTECTED = ROUTES.filter((r) => r.expected !== 'public');
const label = (r: Route) => `${r.method} ${r.path}`;

// Routes whose own input is a `?token=` (seed 004's one-time login token): a credential carried in
// ?token= would be read by them as that input, so the ?token= cases leave them out.
const TOKEN_IS_INPUT = new Set(['GET /api/v1/auth/login-success-redirect', 'GET /api/v1/auth/validate-token']);

// The routes a credential can be tried on: a WebSocket upgrade is a GET handshake (RFC 6455 §4.1; the
// runtime's fetch even turns any request with `Upgrade: websocket` into one), so the upgrade carriers
// are tried on every GET route.
function routesFor(presented: Presented, routes: Route[] = ROUTES): Route[] {
  return routes.filter(
    (r) =>
      (presented.token === undefined || !TOKEN_IS_INPUT.has(label(r))) &&
      (presented.headers.upgrade === undefined || r.method === 'GET'),
  );
}

// Hono registers `/x/:id` (or `/x/:id{regex}`); the contract writes `/x/{id}`.
function normalize(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

// Only for the completeness check: the (method, path) pairs the app answers (ALL entries are middleware).
function servedRoutes(): Set<string> {
  const served = new Set<string>();
  for (const r of createApp().routes) if (r.method !== 'ALL') served.add(`${r.method} ${normalize(r.path)}`);
  return served;
}

// Harmless input: random ids (nothing to find), a known model, an unknown OAuth provider, an empty JSON
// object — except refresh, which gets a real refresh token (of an account made for it) so that a 401
// there could only mean the route started asking for an access credential.
async function input(route: Route, overrides: EnvOverrides): Promise<{ path: string; init: RequestInit }> {
  const path = route.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) =>
    name === 'model' || name === 'model_id' ? 'gpt-4' : crypto.randomUUID(),
  );
  const init: RequestInit = { method: route.method };
  if (route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH') {
    const body =
      label(route) === 'POST /api/v1/auth/refresh'
        ? { refresh_token: (await register(undefined, overrides)).refreshToken }
        : {};
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  return { path, init };
}

// Every call of this file goes to the worker's fetch handler directly (an env copy, overridden or not),
// never through SELF: a request log event joins the isolate's open batch, and a SELF request and a
// direct one sharing a batch are two request contexts sharing one promise — the later one's response
// then cannot be read ("Cannot perform I/O on behalf of a different request") and the run hangs.
// A direct call returns only once its own batch is written, so no batch outlives the call.
const DIRECT: EnvOverrides = {};

async function hit(route: Route, presented: Presented, overrides: EnvOverrides = DIRECT): Promise<Response> {
  const { path, init } = await input(route, overrides);
  const headers = { ...(init.headers as Record<string, string> | undefined), ...presented.headers };
  try {
    // Read here, so a failure names its route.
    const res = await call(withToken(path, presented.token), { ...init, headers }, overrides);
    if (res.status === 101) {
      // An accepted handshake: only the WebSocket endpoint may give one. The runtime cannot build a Response
      // with status 101, so it is handed on as a 200 (the matrix's "handled").
      if (!UPGRADE_ROUTES.has(label(route))) throw new Error('101 from a route that is not a WebSocket endpoint');
      res.webSocket?.accept();
      res.webSocket?.close(1000);
      return new Response(null, { status: 200 });
    }
    const body = await res.arrayBuffer();
    return new Response(body.byteLength > 0 ? body : null, { status: res.status, headers: res.headers });
  } catch (e) {
    throw new Error(`${label(route)}: ${(e as Error).message}`, { cause: e });
  }
}

// /api and /health answer the platform envelope; /v1/* answer their SDK's own error shape.
const platform = (path: string) => !path.startsWith('/v1/');

// Collects every mismatch so one run shows the whole picture, then fails with all of them.
async function expectDenied(failures: string[], who: string, route: Route, res: Response, status: 401 | 403) {
  const where = `${label(route)} as ${who} [${route.expected}]`;
  if (platform(route.path)) {
    const code = status === 401 ? 'AUTHENTICATION_REQUIRED' : 'INSUFFICIENT_PERMISSIONS';
    try {
      await expectEnvelope(res, status, code);
    } catch (e) {
      failures.push(`${where}: ${(e as Error).message.slice(0, 400)}`);
    }
    return;
  }
  const text = await res.text();
  if (res.status !== status) failures.push(`${where}: expected ${status}, got ${res.status} ${text.slice(0, 300)}`);
}

// Allowed: the request got past access control and was handled — a 2xx, or a 4xx about the (harmless)
// input that is not 401/403. A redirect, 1xx or 5xx is not an answer the matrix accepts.
async function expectAllowed(failures: string[], who: string, route: Route, res: Response) {
  const text = await res.text();
  const s = res.status;
  const ok = (s >= 200 && s < 300) || (s >= 400 && s < 500 && s !== 401 && s !== 403);
  if (!ok)
    failures.push(
      `${label(route)} as ${who} [${route.expected}]: expected 2xx or 4xx other than 401/403, got ${s} ${text.slice(0, 300)}`,
    );
}

function report(failures: string[]): void {
  if (failures.length > 0) throw new Error(`${failures.length} mismatch(es):\n  ${failures.join('\n  ')}`);
}

// An unsigned token of the right shape, to show a JWT is verified, not just parsed.
function fakeJwt(): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: crypto.randomUUID(), sid: crypto.randomUUID(), iat: now, exp: now + 3600 })}.${b64('sig')}`;
}

describe('the route table of this file', () => {
  it('lists exactly the routes the app serves', () => {
    const served = servedRoutes();
    const pinned = new Set(Object.keys(EXPECTED));
    expect([...served].filter((r) => !pinned.has(r)).sort(), 'served by the app but not pinned here').toEqual([]);
    expect([...pinned].filter((r) => !served.has(r)).sort(), 'pinned here but not served by the app').toEqual([]);
  });
});

describe('allows()', () => {
  // Every access kind; adding a kind to Access without listing it here is a type error.
  const KINDS: Record<Access['kind'], true> = { public: true, ai: true, 'ai-read': true, user: true, role: true };
  //                                        admin  manager member viewer nobody
  const TABLE: [string, Access, [boolean, boolean, boolean, boolean, boolean]][] = [
    ['public', { kind: 'public' }, [true, true, true, true, true]],
    ['ai', { kind: 'ai' }, [true, true, true, false, false]],
    ['ai-read', { kind: 'ai-read' }, [true, true, true, true, false]],
    ['user', { kind: 'user' }, [true, true, true, true, false]],
    ['role >= viewer', { kind: 'role', min: 'viewer' }, [true, true, true, true, false]],
    ['role >= member', { kind: 'role', min: 'member' }, [true, true, true, false, false]],
    ['role >= manager', { kind: 'role', min: 'manager' }, [true, true, false, false, false]],
    ['role >= admin', { kind: 'role', min: 'admin' }, [true, false, false, false, false]],
  ];

  it('covers every access kind and every minimum role', () => {
    expect(new Set(TABLE.map(([, a]) => a.kind))).toEqual(new Set(Object.keys(KINDS)));
    expect(TABLE.flatMap(([, a]) => (a.kind === 'role' ? [a.min] : [])).sort()).toEqual([...ROLES].sort());
  });

  it.each(TABLE)('%s admits exactly [admin, manager, member, viewer, nobody] = %j', (_name, access, expected) => {
    const callers: (Role | null)[] = ['admin', 'manager', 'member', 'viewer', null];
    expect(callers.map((role) => allows(access, role))).toEqual(expected);
  });
});

interface Org {
  accounts: Record<Role, Account>;
  keys: Record<Role, string>;
}

// One organization with an account per role (the registering owner is its admin) and an API key per
// role created by the admin. Storage lives as long as this file's run, so it is built once: logins
// count against the per-IP login limit, which a build per test would exhaust.
let built: Promise<Org> | undefined;
const organization = () => (built ??= buildOrganization());
async function buildOrganization(): Promise<Org> {
  const admin = await register(undefined, DIRECT);
  const accounts = { admin } as Record<Role, Account>;
  for (const role of ROLES) if (role !== 'admin') accounts[role] = await memberOf(admin, role, DIRECT);
  const keys = {} as Record<Role, string>;
  for (const role of ROLES) {
    const key = await createApiKey(admin, { name: `${role} key`, role }, DIRECT);
    expect(key.role).toBe(role);
    keys[role] = key.key;
  }
  return { accounts, keys };
}

const secretOf = (org: Org, role: Role, carrier: Carrier) =>
  carrier.secret === 'jwt' ? org.accounts[role].accessToken : org.keys[role];

describe.each(CARRIERS.map((c) => [c.name, c] as const))('role matrix with credential %s', (_name, carrier) => {
  it.each(ROLES)('%s gets exactly what its role allows on every route', async (role) => {
    const org = await organization();
    const presented = carrier.present(secretOf(org, role, carrier));
    const who = `${role} (${carrier.name})`;
    // The carrier works at all, and acts in the organization with the intended role.
    const me = await hit({ method: 'GET', path: '/api/v1/auth/me', expected: 'signed-in' }, presented);
    expect(me.status, `${who} on /auth/me`).toBe(200);
    const body = (await me.json()) as { role?: string; organization_id?: string };
    expect(body.role, `role of ${who} on /auth/me`).toBe(role);
    expect(body.organization_id).toBe(org.accounts.admin.organizationId);

    const failures: string[] = [];
    const routes = routesFor(presented);
    // Not vacuous: 40 routes at the time of writing, 20 of them GET routes without a ?token= input.
    expect(routes.length, 'routes this credential is tried on').toBeGreaterThanOrEqual(
      presented.headers.upgrade === undefined ? 40 : 20,
    );
    for (const route of routes) {
      // Logout ends the session it is given: it gets a second session of the same account, so the
      // rest of the matrix keeps the first.
      const credential =
        label(route) === 'POST /api/v1/auth/logout' && carrier.secret === 'jwt'
          ? carrier.present((await signIn(org.accounts[role], DIRECT)).accessToken)
          : presented;
      const res = await hit(route, credential);
      if (ROLES_ADMITTED[route.expected].includes(role)) await expectAllowed(failures, who, route, res);
      else await expectDenied(failures, who, route, res, 403);
    }
    report(failures);
    // The harmless calls changed nothing about who the caller is.
    const again = await hit({ method: 'GET', path: '/api/v1/auth/me', expected: 'signed-in' }, presented);
    expect(again.status).toBe(200);
  });
});

const anonymity = (allow: 'true' | 'false'): EnvOverrides => ({ ALLOW_ANONYMOUS: allow });

describe('without credentials', () => {
  it.each(['true', 'false'] as const)('with ALLOW_ANONYMOUS=%s', async (allow) => {
    const failures: string[] = [];
    for (const route of ROUTES) {
      const res = await hit(route, { headers: {} }, anonymity(allow));
      if (ANONYMOUS_ADMITTED[allow].includes(route.expected))
        await expectAllowed(failures, `anonymous (ALLOW_ANONYMOUS=${allow})`, route, res);
      else await expectDenied(failures, `anonymous (ALLOW_ANONYMOUS=${allow})`, route, res, 401);
    }
    report(failures);
  });

  // ?token= is a credential only on a WebSocket upgrade; on a plain request it is ignored, so the
  // caller is anonymous — even when the token is an admin's (which would pass every role route).
  it.each(['true', 'false'] as const)(
    '?token= without Upgrade: websocket is not read (ALLOW_ANONYMOUS=%s)',
    async (allow) => {
      const overrides = anonymity(allow);
      const admin = await register(undefined, overrides);
      const key = await createApiKey(admin, { name: 'admin key', role: 'admin' }, overrides);
      const tokens = [
        ['admin JWT', admin.accessToken],
        ['admin API key', key.key],
        ['garbage', 'ew_nonsense'],
      ] as const;
      const failures: string[] = [];
      for (const [name, token] of tokens) {
        const who = `?token=<${name}> without upgrade (ALLOW_ANONYMOUS=${allow})`;
        for (const route of routesFor({ headers: {}, token })) {
          const res = await hit(route, { headers: {}, token }, overrides);
          if (ANONYMOUS_ADMITTED[allow].includes(route.expected)) await expectAllowed(failures, who, route, res);
          else await expectDenied(failures, who, route, res, 401);
        }
      }
      report(failures);
    },
  );
});

describe.each(CARRIERS.map((c) => [c.name, c] as const))('garbage credentials with %s', (_name, carrier) => {
  const garbage = carrier.secret === 'jwt' ? ['nonsense', fakeJwt()] : ['ew_nonsense'];
  it.each(['true', 'false'] as const)('get 401 on every non-public route (ALLOW_ANONYMOUS=%s)', async (allow) => {
    const failures: string[] = [];
    for (const secret of garbage) {
      const who = `${carrier.name} ${secret.slice(0, 12)}… (ALLOW_ANONYMOUS=${allow})`;
      const presented = carrier.present(secret);
      for (const route of routesFor(presented, PROTECTED)) {
        const res = await hit(route, presented, anonymity(allow));
        await expectDenied(failures, who, route, res, 401);
      }
    }
    report(failures);
  });
});
