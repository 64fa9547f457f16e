import { env } from 'cloudflare:test';
import type { EnvOverrides } from './http';
import { call, postJson } from './http';

export type Role = 'admin' | 'manager' | 'member' | 'viewer';

export interface Account {
  email: string;
  password: string;
  userId: string;
  organizationId: string;
  accessToken: string;
  refreshToken: string;
  auth: Record<string, string>;
}

export const PASSWORD = 'correct horse battery staple';

interface TokenBody {
  access_token: string;
  refresh_token: string;
  user: { id: string; organization_id: string };
}

function account(email: string, body: TokenBody): Account {
  return {
    email,
    password: PASSWORD,
    userId: body.user.id,
    organizationId: body.user.organization_id,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    auth: { authorization: `Bearer ${body.access_token}` },
  };
}

// A new user with their own personal organization (admin of it).
export async function register(
  email = `u-${crypto.randomUUID()}@example.com`,
  overrides?: EnvOverrides,
): Promise<Account> {
  const res = await postJson('/api/v1/auth/register', { email, password: PASSWORD, full_name: 'Test User' }, overrides);
  if (res.status !== 201) throw new Error(`register ${res.status}: ${await res.text()}`);
  return account(email, (await res.json()) as TokenBody);
}

// A user added to `owner`'s organization with `role`, signed in there (their session's organization).
export async function memberOf(owner: Account, role: Role, overrides?: EnvOverrides): Promise<Account> {
  const user = await register(undefined, overrides);
  const added = await postJson(
    '/api/v1/organizations/current/members',
    { email: user.email, role },
    overrides,
    owner.auth,
  );
  if (added.status !== 201) throw new Error(`add member ${added.status}: ${await added.text()}`);
  // Sessions start in the user's default organization; point it at the owner's for this test user.
  await env.DB.prepare('UPDATE users SET default_organization_id = ? WHERE id = ?')
    .bind(owner.organizationId, user.userId)
    .run();
  const login = await postJson('/api/v1/auth/login', { email: user.email, password: PASSWORD }, overrides);
  if (login.status !== 200) throw new Error(`login ${login.status}: ${await login.text()}`);
  return account(user.email, (await login.json()) as TokenBody);
}

// A second, independent session of `who` (in their default organization, so with the same role there):
// ending it leaves their first session working.
export async function signIn(who: Account, overrides?: EnvOverrides): Promise<Account> {
  const login = await postJson('/api/v1/auth/login', { email: who.email, password: who.password }, overrides);
  if (login.status !== 200) throw new Error(`login ${login.status}: ${await login.text()}`);
  return account(who.email, (await login.json()) as TokenBody);
}

export async function createApiKey(
  admin: Account,
  body: Record<string, unknown> = { name: 'test key' },
  overrides?: EnvOverrides,
) {
  const res = await postJson('/api/v1/auth/api-keys', body, overrides, admin.auth);
  if (res.status !== 201) throw new Error(`api key ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; key: string; prefix: string; role: Role };
}

export function me(headers: Record<string, string>, overrides?: EnvOverrides) {
  return call('/api/v1/auth/me', { headers }, overrides);
}
