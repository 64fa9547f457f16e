import { describe, expect, it } from 'vitest';
import { type Account, createApiKey, me, memberOf, register, type Role } from '../helpers/auth';
import { call, expectEnvelope, postJson } from '../helpers/http';

// Ids of one tenant presented by another: the answer is always 404 RESOURCE_NOT_FOUND (never 403, which
// would reveal that the id exists), and nothing of the owner's changes.

interface Member {
  user_id: string;
  role: Role;
}
interface Organization {
  id: string;
  name: string;
  slug: string;
}

const json = { 'content-type': 'application/json' };

interface World {
  a: Account; // admin of organization A
  m: Account; // member of A's organization, the target of membership changes
  a2: Account; // another admin of A's organization (requests are private to their user, even for admins)
  b: Account; // admin of a different organization
  bKey: string; // B's own admin API key
  requestId: number; // A's stored AI request
  requestText: string;
  aKey: { id: string; key: string }; // A's API key
}

async function world(): Promise<World> {
  const a = await register();
  const requestText = `private words of A ${crypto.randomUUID()}`;
  const created = await postJson('/api/v1/requests', { text: requestText }, undefined, a.auth);
  expect(created.status).toBe(201);
  const { id: requestId } = (await created.json()) as { id: number };
  expect(Number.isInteger(requestId) && requestId > 0).toBe(true);
  const aKey = await createApiKey(a, { name: 'A key', role: 'admin' });
  const m = await memberOf(a, 'member');
  const a2 = await memberOf(a, 'admin');
  const b = await register();
  expect(b.organizationId).not.toBe(a.organizationId);
  const bKey = (await createApiKey(b, { name: 'B key', role: 'admin' })).key;
  return { a, m, a2, b, bKey, requestId, requestText, aKey };
}

// B's credentials: its JWT and its admin API key (both carriers of an API key).
function bCredentials(w: World): [string, Record<string, string>][] {
  return [
    ['B (JWT)', w.b.auth],
    ['B (X-API-Key)', { 'x-api-key': w.bKey }],
    ['B (Bearer API key)', { authorization: `Bearer ${w.bKey}` }],
  ];
}

async function expectNotFound(res: Response, who: string): Promise<void> {
  try {
    await expectEnvelope(res, 404, 'RESOURCE_NOT_FOUND');
  } catch (e) {
    throw new Error(`${who}: ${(e as Error).message}`, { cause: e });
  }
}

async function members(owner: Account): Promise<Member[]> {
  const res = await call('/api/v1/organizations/current/members?limit=100', { headers: owner.auth });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Member[] }).data;
}

// Everything of A's is as it was: the key works, M is still a member with the same role, the request
// is still A's and readable by A.
async function expectUntouched(w: World): Promise<void> {
  const viaKey = await me({ 'x-api-key': w.aKey.key });
  expect(viaKey.status).toBe(200);
  expect(await viaKey.json()).toMatchObject({ id: w.a.userId, organization_id: w.a.organizationId, role: 'admin' });

  const list = await members(w.a);
  expect(list.find((x) => x.user_id === w.m.userId)).toMatchObject({ role: 'member' });
  expect(list.find((x) => x.user_id === w.a.userId)).toMatchObject({ role: 'admin' });
  expect(list.find((x) => x.user_id === w.a2.userId)).toMatchObject({ role: 'admin' });
  expect(list.some((x) => x.user_id === w.b.userId)).toBe(false);

  const mMe = await me(w.m.auth);
  expect(mMe.status).toBe(200);
  expect(await mMe.json()).toMatchObject({ organization_id: w.a.organizationId, role: 'member' });

  const read = await call(`/api/v1/requests/${w.requestId}`, { headers: w.a.auth });
  expect(read.status).toBe(200);
  expect(await read.json()).toMatchObject({ id: w.requestId, user_id: w.a.userId, text: w.requestText });

  const org = await call('/api/v1/organizations/current', { headers: w.a.auth });
  expect(org.status).toBe(200);
  expect(await org.json()).toMatchObject({ id: w.a.organizationId });
}

describe('cross-tenant isolation', () => {
  it("A reads its own request (200), also through A's API key", async () => {
    const w = await world();
    const own = await call(`/api/v1/requests/${w.requestId}`, { headers: w.a.auth });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ id: w.requestId, user_id: w.a.userId, text: w.requestText });
    const viaKey = await call(`/api/v1/requests/${w.requestId}`, { headers: { 'x-api-key': w.aKey.key } });
    expect(viaKey.status).toBe(200);
  });

  it("another organization's admin, a fellow member of A's organization and anonymous callers get 404 for A's request", async () => {
    const w = await world();
    const path = `/api/v1/requests/${w.requestId}`;
    for (const [who, headers] of bCredentials(w)) await expectNotFound(await call(path, { headers }), who);
    // Requests are private to their user: an admin of A's own organization does not see them either.
    await expectNotFound(await call(path, { headers: w.a2.auth }), "A2 (admin of A's organization)");
    await expectNotFound(await call(path, { headers: w.m.auth }), "M (member of A's organization)");
    await expectNotFound(await call(path), 'anonymous (ALLOW_ANONYMOUS=true)');
    await expectNotFound(
      await call(path, {}, { ALLOW_ANONYMOUS: 'true' }),
      'anonymous (explicit ALLOW_ANONYMOUS=true)',
    );
    // An id that does not exist answers exactly the same, so the 404 does not reveal existence.
    await expectNotFound(await call(`/api/v1/requests/${w.requestId + 1000}`, { headers: w.b.auth }), 'B, unknown id');
    await expectUntouched(w);
  });

  it("B (admin of its own organization) cannot revoke A's API key: 404", async () => {
    const w = await world();
    for (const [who, headers] of bCredentials(w)) {
      await expectNotFound(await call(`/api/v1/auth/api-keys/${w.aKey.id}`, { method: 'DELETE', headers }), who);
    }
    // B's key list does not show A's key.
    const list = await call('/api/v1/auth/api-keys', { headers: w.b.auth });
    expect(list.status).toBe(200);
    const keys = ((await list.json()) as { data: { id: string }[] }).data;
    expect(keys.some((k) => k.id === w.aKey.id)).toBe(false);
    await expectUntouched(w);
  });

  it("B (admin of its own organization) cannot change or remove A's members: 404", async () => {
    const w = await world();
    for (const [who, headers] of bCredentials(w)) {
      for (const target of [w.m, w.a, w.a2]) {
        const url = `/api/v1/organizations/current/members/${target.userId}`;
        for (const role of ['viewer', 'admin'] as const) {
          const put = await call(url, {
            method: 'PUT',
            headers: { ...json, ...headers },
            body: JSON.stringify({ role }),
          });
          await expectNotFound(put, `${who} PUT ${role} on ${target === w.m ? 'M' : target === w.a ? 'A' : 'A2'}`);
        }
        const del = await call(url, { method: 'DELETE', headers });
        await expectNotFound(del, `${who} DELETE ${target === w.m ? 'M' : target === w.a ? 'A' : 'A2'}`);
      }
    }
    await expectUntouched(w);
  });

  it("GET /organizations/current shows B its own organization, never A's, and B's members never include A's", async () => {
    const w = await world();
    const aOrg = (await (await call('/api/v1/organizations/current', { headers: w.a.auth })).json()) as Organization;
    for (const [who, headers] of bCredentials(w)) {
      const res = await call('/api/v1/organizations/current', { headers });
      expect(res.status, who).toBe(200);
      const org = (await res.json()) as Organization;
      expect(org.id, who).toBe(w.b.organizationId);
      expect(org.id, who).not.toBe(aOrg.id);
      expect(org.slug, who).not.toBe(aOrg.slug);

      const list = await call('/api/v1/organizations/current/members?limit=100', { headers });
      expect(list.status, who).toBe(200);
      const ids = ((await list.json()) as { data: Member[] }).data.map((x) => x.user_id);
      expect(ids, who).toEqual([w.b.userId]);
    }
    // B renaming "its" organization renames B's, not A's.
    const renamed = await call('/api/v1/organizations/current', {
      method: 'PUT',
      headers: { ...json, ...w.b.auth },
      body: JSON.stringify({ name: 'B renamed' }),
    });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id: w.b.organizationId, name: 'B renamed' });
    const aAfter = (await (await call('/api/v1/organizations/current', { headers: w.a.auth })).json()) as Organization;
    expect(aAfter.name).toBe(aOrg.name);
    await expectUntouched(w);
  });

  it('every probe at once leaves all of A unchanged', async () => {
    const w = await world();
    for (const [, headers] of bCredentials(w)) {
      await call(`/api/v1/requests/${w.requestId}`, { headers });
      await call(`/api/v1/auth/api-keys/${w.aKey.id}`, { method: 'DELETE', headers });
      await call(`/api/v1/organizations/current/members/${w.m.userId}`, {
        method: 'PUT',
        headers: { ...json, ...headers },
        body: JSON.stringify({ role: 'viewer' }),
      });
      await call(`/api/v1/organizations/current/members/${w.m.userId}`, { method: 'DELETE', headers });
    }
    await call(`/api/v1/requests/${w.requestId}`, { headers: w.a2.auth });
    await call(`/api/v1/requests/${w.requestId}`);
    await expectUntouched(w);
  });
});
