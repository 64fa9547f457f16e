import { describe, expect, it } from 'vitest';
import { createApiKey, me, memberOf, register } from '../helpers/auth';
import { call, expectEnvelope, postJson } from '../helpers/http';

interface Membership {
  id: string;
  name: string;
  slug: string;
  role: string;
  current: boolean;
}

const organizations = (headers: Record<string, string>) => call('/api/v1/auth/organizations', { headers });
const switchTo = (headers: Record<string, string>, body: unknown) =>
  postJson('/api/v1/auth/switch-organization', body, undefined, headers);

describe('GET /api/v1/auth/organizations', () => {
  it("lists the caller's organizations with the role in each, marking the current one", async () => {
    const owner = await register();
    const guest = await memberOf(owner, 'viewer');
    const res = await organizations(guest.auth);
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Membership[] };
    expect(data).toHaveLength(2);
    const byId = new Map(data.map((m) => [m.id, m]));
    expect(byId.get(owner.organizationId)).toMatchObject({ role: 'viewer', current: true });
    const own = data.find((m) => m.id !== owner.organizationId);
    expect(own).toMatchObject({ role: 'admin', current: false, name: expect.any(String), slug: expect.any(String) });
    // The owner sees only their own organization: nothing of the guest's personal one.
    const mine = (await (await organizations(owner.auth)).json()) as { data: Membership[] };
    expect(mine.data.map((m) => m.id)).toEqual([owner.organizationId]);
  });

  it('answers 401 without or with invalid credentials', async () => {
    await expectEnvelope(await organizations({}), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(await organizations({ authorization: 'Bearer nope' }), 401, 'AUTHENTICATION_REQUIRED');
  });

  it("shows an API key only its own organization, not its creator's others", async () => {
    const owner = await register();
    const guest = await memberOf(owner, 'admin');
    const key = await createApiKey(guest, { name: 'k', role: 'member' });
    const res = await organizations({ authorization: `Bearer ${key.key}` });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Membership[] };
    expect(data).toEqual([expect.objectContaining({ id: owner.organizationId, current: true })]);
  });
});

describe('POST /api/v1/auth/switch-organization', () => {
  it('issues a session in the other organization and ends the old one', async () => {
    const owner = await register();
    const guest = await memberOf(owner, 'member');
    const mine = (await (await organizations(guest.auth)).json()) as { data: Membership[] };
    const personal = mine.data.find((m) => !m.current);
    expect(personal).toBeDefined();
    const res = await switchTo(guest.auth, { organization_id: personal?.id });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      access_token: string;
      refresh_token: string;
      token_type: string;
      expires_in: number;
      user: { id: string; organization_id: string; role: string };
    };
    expect(body).toMatchObject({
      token_type: 'bearer',
      expires_in: expect.any(Number),
      user: { id: guest.userId, organization_id: personal?.id, role: 'admin' },
    });
    const auth = { authorization: `Bearer ${body.access_token}` };
    expect(await (await me(auth)).json()).toMatchObject({ organization_id: personal?.id, role: 'admin' });
    const now = (await (await organizations(auth)).json()) as { data: Membership[] };
    expect(now.data.find((m) => m.current)?.id).toBe(personal?.id);
    // The old session's access and refresh tokens stop working (the test env caches no identity).
    await expectEnvelope(await me(guest.auth), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(
      await postJson('/api/v1/auth/refresh', { refresh_token: guest.refreshToken }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    // The new refresh token works, in the new organization.
    const refreshed = await postJson('/api/v1/auth/refresh', { refresh_token: body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(await refreshed.json()).toMatchObject({ user: { organization_id: personal?.id } });
  });

  it("answers 403 for another tenant's organization and for one that does not exist, alike", async () => {
    const a = await register();
    const b = await register();
    const other = await expectEnvelope(
      await switchTo(a.auth, { organization_id: b.organizationId }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    const missing = await expectEnvelope(
      await switchTo(a.auth, { organization_id: crypto.randomUUID() }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    expect(other.error.message).toBe('Not a member of this organization');
    expect(missing.error.message).toBe(other.error.message);
    // Refused switches leave the session as it was.
    expect(await (await me(a.auth)).json()).toMatchObject({ organization_id: a.organizationId });
  });

  it('answers 401 without or with invalid credentials', async () => {
    const b = await register();
    await expectEnvelope(await switchTo({}, { organization_id: b.organizationId }), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(
      await switchTo({ authorization: 'Bearer ew_nope' }, { organization_id: b.organizationId }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
  });

  it('refuses a malformed body with 400', async () => {
    const a = await register();
    for (const body of [
      {},
      { organization_id: '' },
      { organization_id: 7 },
      { organization_id: a.organizationId, x: 1 },
    ]) {
      await expectEnvelope(await switchTo(a.auth, body), 400, 'VALIDATION_ERROR');
    }
    const res = await call('/api/v1/auth/switch-organization', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...a.auth },
      body: '{not json',
    });
    await expectEnvelope(res, 400, 'VALIDATION_ERROR');
  });

  it('refuses an API key with 403, even for its own organization', async () => {
    const owner = await register();
    const key = await createApiKey(owner, { name: 'k', role: 'admin' });
    const carriers: Record<string, string>[] = [{ authorization: `Bearer ${key.key}` }, { 'x-api-key': key.key }];
    for (const headers of carriers) {
      const body = await expectEnvelope(
        await switchTo(headers, { organization_id: owner.organizationId }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      expect(body.error.message).toMatch(/API key/);
    }
  });
});
