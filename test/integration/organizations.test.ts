import { describe, expect, it } from 'vitest';
import { memberOf, register } from '../helpers/auth';
import { call, expectEnvelope, postJson } from '../helpers/http';

type Json = Record<string, unknown>;
const put = (path: string, body: unknown, headers: Record<string, string>) =>
  call(path, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('organizations/current (seed 003)', () => {
  it('answers seed 003 shape and lets an admin change name and settings only', async () => {
    const a = await register();
    const org = (await (await call('/api/v1/organizations/current', { headers: a.auth })).json()) as Json;
    expect(org).toMatchObject({
      id: a.organizationId,
      subscription_tier: 'free',
      api_quota_limit: 1000,
      api_quota_used: 0,
      settings: {},
    });
    for (const key of ['name', 'slug', 'created_at', 'updated_at']) expect(org[key]).toEqual(expect.any(String));
    const res = await put(
      '/api/v1/organizations/current',
      { name: 'Acme', settings: { default_ai_model: 'gpt-4', integration_enabled: true } },
      a.auth,
    );
    expect(await res.json()).toMatchObject({
      name: 'Acme',
      settings: { default_ai_model: 'gpt-4', integration_enabled: true },
    });
    for (const forbidden of [
      { subscription_tier: 'enterprise' },
      { api_quota_limit: 1_000_000 },
      { api_quota_used: 0 },
      { id: 'x' },
      { settings: { rate_limit_per_hour: 1_000_000 } },
    ]) {
      const body = await expectEnvelope(
        await put('/api/v1/organizations/current', forbidden, a.auth),
        400,
        'VALIDATION_ERROR',
      );
      expect(body.error.details?.length).toBeGreaterThan(0);
    }
    const after = (await (await call('/api/v1/organizations/current', { headers: a.auth })).json()) as Json;
    expect(after).toMatchObject({ subscription_tier: 'free', api_quota_limit: 1000 });
  });

  it('only admins update; viewers and members read', async () => {
    const owner = await register();
    for (const role of ['viewer', 'member', 'manager'] as const) {
      const m = await memberOf(owner, role);
      expect((await call('/api/v1/organizations/current', { headers: m.auth })).status).toBe(200);
      await expectEnvelope(
        await put('/api/v1/organizations/current', { name: 'Mine now' }, m.auth),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
    }
  });
});

describe('members', () => {
  it('adds, lists, changes and removes members; nobody changes their own role; one admin always stays', async () => {
    const owner = await register();
    const viewer = await memberOf(owner, 'viewer');
    const list = (await (await call('/api/v1/organizations/current/members', { headers: viewer.auth })).json()) as {
      data: Json[];
      pagination: Json;
    };
    expect(list.data.map((m) => m.role).sort()).toEqual(['admin', 'viewer']);
    expect(list.pagination).toMatchObject({ total: 2 });

    const promoted = await put(
      `/api/v1/organizations/current/members/${viewer.userId}`,
      { role: 'manager' },
      owner.auth,
    );
    expect(await promoted.json()).toMatchObject({ user_id: viewer.userId, role: 'manager' });
    // The promotion holds on the member's very next request (roles are read from D1, not the token).
    expect(((await (await call('/api/v1/auth/me', { headers: viewer.auth })).json()) as Json).role).toBe('manager');

    await expectEnvelope(
      await put(`/api/v1/organizations/current/members/${owner.userId}`, { role: 'viewer' }, owner.auth),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    await expectEnvelope(
      await put(`/api/v1/organizations/current/members/${viewer.userId}`, { role: 'owner' }, owner.auth),
      400,
      'VALIDATION_ERROR',
    );
    await expectEnvelope(
      await postJson(
        '/api/v1/organizations/current/members',
        { email: viewer.email, role: 'member' },
        undefined,
        owner.auth,
      ),
      409,
      'CONFLICT',
    );
    await expectEnvelope(
      await postJson(
        '/api/v1/organizations/current/members',
        { email: 'nobody@example.com', role: 'member' },
        undefined,
        owner.auth,
      ),
      404,
      'RESOURCE_NOT_FOUND',
    );

    const removed = await call(`/api/v1/organizations/current/members/${viewer.userId}`, {
      method: 'DELETE',
      headers: owner.auth,
    });
    expect(removed.status).toBe(200);
    // Their session was in this organization: it stops working at once.
    await expectEnvelope(await call('/api/v1/auth/me', { headers: viewer.auth }), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(
      await call(`/api/v1/organizations/current/members/${viewer.userId}`, { method: 'DELETE', headers: owner.auth }),
      404,
      'RESOURCE_NOT_FOUND',
    );
  });

  it('lets an admin demote another admin, whose admin rights end at once', async () => {
    const owner = await register();
    const second = await memberOf(owner, 'admin');
    expect(
      (await put(`/api/v1/organizations/current/members/${owner.userId}`, { role: 'member' }, second.auth)).status,
    ).toBe(200);
    await expectEnvelope(
      await put(`/api/v1/organizations/current/members/${second.userId}`, { role: 'member' }, owner.auth),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
  });
});
