import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../src';
import { emitWebhookEvent } from '../../src/features/webhooks';
import { createLogger } from '../../src/lib/log';
import { type Account, createApiKey, memberOf, register, type Role } from '../helpers/auth';
import { call, type EnvOverrides, expectEnvelope } from '../helpers/http';

// Deliveries go through the real queue and consumer, with the suite's short retry delays (vitest.config.ts:
// at most 1 s between attempts, 5 attempts, a 2 s deadline), to the mock upstream's webhook receiver.
vi.setConfig({ testTimeout: 60_000 });

type Json = Record<string, unknown>;
interface WebhookBody {
  id: string;
  name: string;
  url: string;
  events: string[];
  is_active: boolean;
  disabled_reason: string | null;
  last_triggered_at: string | null;
  created_at: string;
  secret_key?: string;
}
interface DeliveryBody {
  id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_response_code: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}
interface Received {
  headers: Record<string, string>;
  body: string;
  status: number | 'hang';
}

// Every call goes to the worker's fetch handler directly (see role-matrix.test.ts for why not SELF).
const DIRECT: EnvOverrides = {};
const send = (path: string, method: string, who: Account | Record<string, string>, body?: unknown, o = DIRECT) =>
  call(
    path,
    {
      method,
      headers: { ...('auth' in who ? (who as Account).auth : who), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    },
    o,
  );
const get = (path: string, who: Account) => send(path, 'GET', who);

const mock = () => env.MOCK_UPSTREAM_URL;
const hookUrl = (name: string, query = '') => `${mock()}/__webhook/${name}${query}`;
const received = async (name: string) => (await (await fetch(`${mock()}/__webhook-log/${name}`)).json()) as Received[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

const deliveryRow = (id: string) =>
  env.DB.prepare('SELECT * FROM webhook_deliveries WHERE id = ?').bind(id).first<Json>();
const settled = (id: string) =>
  waitFor(
    `delivery ${id} to settle`,
    () => deliveryRow(id),
    (r) => r !== null && r.status !== 'pending',
  );

async function createHook(who: Account, body: Json, o = DIRECT): Promise<WebhookBody> {
  const res = await send('/api/v1/webhooks', 'POST', who, body, o);
  if (res.status !== 201) throw new Error(`create ${res.status}: ${await res.text()}`);
  return (await res.json()) as WebhookBody;
}

async function testDelivery(who: Account, webhookId: string): Promise<DeliveryBody> {
  const res = await send(`/api/v1/webhooks/${webhookId}/test`, 'POST', who);
  if (res.status !== 202) throw new Error(`test ${res.status}: ${await res.text()}`);
  return (await res.json()) as DeliveryBody;
}

const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, {
    'webhook-id': r.headers['webhook-id'] ?? '',
    'webhook-timestamp': r.headers['webhook-timestamp'] ?? '',
    'webhook-signature': r.headers['webhook-signature'] ?? '',
  });

const unique = () => crypto.randomUUID().slice(0, 8);

describe('webhooks: CRUD (seed 003 §2.7)', () => {
  it('creates, lists, reads, updates and deletes in seed 003 shapes; the secret is shown once', async () => {
    const admin = await register(undefined, DIRECT);
    const manager = await memberOf(admin, 'manager', DIRECT);
    const created = await createHook(manager, {
      name: 'Slack Notifications',
      url: 'https://hooks.example.com/services/T0/B0/x',
      events: ['orchestration.completed', 'orchestration.failed', 'orchestration.completed'],
    });
    expect(created).toMatchObject({
      name: 'Slack Notifications',
      url: 'https://hooks.example.com/services/T0/B0/x',
      events: ['orchestration.completed', 'orchestration.failed'],
      is_active: true,
      last_triggered_at: null,
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const secret = created.secret_key ?? '';
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const list = (await (await get('/api/v1/webhooks', manager)).json()) as { data: Json[]; pagination: Json };
    expect(list.data).toHaveLength(1);
    expect(list.pagination).toMatchObject({ total: 1, limit: 50, offset: 0 });
    const one = (await (await get(`/api/v1/webhooks/${created.id}`, admin)).json()) as Json;
    for (const view of [list.data[0] ?? {}, one]) {
      expect(Object.keys(view)).toEqual(
        expect.arrayContaining(['id', 'name', 'url', 'events', 'is_active', 'last_triggered_at', 'created_at']),
      );
      expect(view).not.toHaveProperty('secret_key');
      expect(JSON.stringify(view)).not.toContain(secret.slice(6, 20));
    }

    // At rest: encrypted, nowhere in the row in plaintext (nor its key bytes' base64).
    const row = await env.DB.prepare('SELECT * FROM webhooks WHERE id = ?').bind(created.id).first<Json>();
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    expect(String(row?.secret_ciphertext)).toMatch(/^v1\./);

    const updated = await send(`/api/v1/webhooks/${created.id}`, 'PUT', manager, {
      name: 'Updated Webhook',
      url: 'https://api.example.com/new-webhook',
      events: ['orchestration.completed'],
      is_active: false,
    });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({
      name: 'Updated Webhook',
      url: 'https://api.example.com/new-webhook',
      events: ['orchestration.completed'],
      is_active: false,
    });
    const partial = (await (
      await send(`/api/v1/webhooks/${created.id}`, 'PUT', manager, { name: 'Renamed' })
    ).json()) as Json;
    expect(partial).toMatchObject({ name: 'Renamed', url: 'https://api.example.com/new-webhook', is_active: false });

    expect((await send(`/api/v1/webhooks/${created.id}`, 'DELETE', manager)).status).toBe(200);
    await expectEnvelope(await get(`/api/v1/webhooks/${created.id}`, manager), 404, 'RESOURCE_NOT_FOUND');
  });

  it("takes seed 003's secret_key when it is a Standard Webhooks secret, and refuses any other", async () => {
    const admin = await register(undefined, DIRECT);
    const given = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
    const created = await createHook(admin, {
      name: 'Mine',
      url: hookUrl(`given-${unique()}`),
      events: ['project.created'],
      secret_key: given,
    });
    expect(created.secret_key).toBe(given);
    for (const secret_key of ['optional_secret_for_verification', 'whsec_c2hvcnQ=', '', 'whsec_!!!!']) {
      const body = await expectEnvelope(
        await send('/api/v1/webhooks', 'POST', admin, {
          name: 'x',
          url: 'https://example.com/x',
          events: ['project.created'],
          secret_key,
        }),
        400,
        'VALIDATION_ERROR',
      );
      expect(body.error.details?.map((d) => d.field)).toContain('secret_key');
      if (secret_key !== '') expect(JSON.stringify(body)).not.toContain(secret_key);
    }
  });

  it('rotates the secret: the new one is shown once and signs the next delivery; the old one no longer does', async () => {
    const admin = await register(undefined, DIRECT);
    const name = `rotate-${unique()}`;
    const created = await createHook(admin, { name: 'r', url: hookUrl(name), events: ['project.created'] });
    const before = await env.DB.prepare('SELECT secret_ciphertext FROM webhooks WHERE id = ?')
      .bind(created.id)
      .first<string>('secret_ciphertext');
    const res = await send(`/api/v1/webhooks/${created.id}/rotate-secret`, 'POST', admin);
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as WebhookBody;
    expect(rotated).toMatchObject({ id: created.id, name: 'r' });
    expect(rotated.secret_key).toMatch(/^whsec_/);
    expect(rotated.secret_key).not.toBe(created.secret_key);
    const after = await env.DB.prepare('SELECT secret_ciphertext FROM webhooks WHERE id = ?')
      .bind(created.id)
      .first<string>('secret_ciphertext');
    expect(after).not.toBe(before);
    expect(after).not.toContain((rotated.secret_key ?? '').slice(6));
    expect(await (await get(`/api/v1/webhooks/${created.id}`, admin)).json()).not.toHaveProperty('secret_key');

    const d = await testDelivery(admin, created.id);
    expect((await settled(d.id))?.status).toBe('succeeded');
    const [got] = await received(name);
    expect(got).toBeDefined();
    expect(verify(rotated.secret_key ?? '', got as Received)).toMatchObject({ type: 'webhook.test' });
    expect(() => verify(created.secret_key ?? '', got as Received)).toThrow();
  });
});

describe('webhooks: delivery (Standard Webhooks, through the queue)', () => {
  it('delivers a signed test event that standardwebhooks verifies, and logs it', async () => {
    const admin = await register(undefined, DIRECT);
    const name = `ok-${unique()}`;
    const hook = await createHook(admin, { name: 'ok', url: hookUrl(name), events: ['project.created'] });
    const queued = await testDelivery(admin, hook.id);
    expect(queued).toMatchObject({ event_type: 'webhook.test', status: 'pending', attempts: 0 });
    const row = await settled(queued.id);
    expect(row).toMatchObject({ status: 'succeeded', attempts: 1, last_response_code: 200, last_error: null });
    const got = await received(name);
    expect(got).toHaveLength(1);
    const r = got[0] as Received;
    expect(r.headers['webhook-id']).toBe(queued.id);
    expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(r.headers['content-type']).toBe('application/json');
    const payload = verify(hook.secret_key ?? '', r) as Json;
    expect(payload).toMatchObject({ type: 'webhook.test', data: { webhook_id: hook.id } });
    expect(payload.timestamp).toEqual(expect.any(String));

    const log = (await (await get(`/api/v1/webhooks/${hook.id}/deliveries`, admin)).json()) as {
      data: DeliveryBody[];
    };
    expect(log.data[0]).toMatchObject({
      id: queued.id,
      event_type: 'webhook.test',
      status: 'succeeded',
      attempts: 1,
      last_response_code: 200,
      last_duration_ms: expect.any(Number),
      delivered_at: expect.any(String),
    });
    const after = (await (await get(`/api/v1/webhooks/${hook.id}`, admin)).json()) as WebhookBody;
    expect(after.last_triggered_at).toEqual(expect.any(String));
  });

  it('retries a receiver that fails three times; it gets the event exactly once more (4 attempts, 1 success)', async () => {
    const admin = await register(undefined, DIRECT);
    const name = `flaky-${unique()}`;
    const hook = await createHook(admin, { name: 'f', url: hookUrl(name, '?fail=3'), events: ['project.created'] });
    const d = await testDelivery(admin, hook.id);
    const row = await settled(d.id);
    expect(row).toMatchObject({ status: 'succeeded', attempts: 4, last_response_code: 200, next_attempt_at: null });
    const got = await received(name);
    expect(got.map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(got.filter((r) => r.status === 200)).toHaveLength(1);
    // Every attempt is the same message (same id and body), signed afresh, and verifies.
    for (const r of got) {
      expect(r.headers['webhook-id']).toBe(d.id);
      expect(r.body).toBe(got[0]?.body);
      expect(verify(hook.secret_key ?? '', r)).toMatchObject({ type: 'webhook.test' });
    }

    // A copy of the message after the success (queues deliver at least once) sends nothing.
    await env.WEBHOOKS.send({ kind: 'webhook-delivery', delivery_id: d.id });
    await sleep(1_500);
    expect(await received(name)).toHaveLength(4);
    expect(await deliveryRow(d.id)).toMatchObject({ status: 'succeeded', attempts: 4 });
  });

  it('disables the webhook when its endpoint answers 410 Gone, without retrying', async () => {
    const admin = await register(undefined, DIRECT);
    const name = `gone-${unique()}`;
    const hook = await createHook(admin, { name: 'g', url: hookUrl(name, '?status=410'), events: ['project.created'] });
    const d = await testDelivery(admin, hook.id);
    expect(await settled(d.id)).toMatchObject({ status: 'failed', attempts: 1, last_response_code: 410 });
    await sleep(1_500);
    expect(await received(name)).toHaveLength(1);
    const after = (await (await get(`/api/v1/webhooks/${hook.id}`, admin)).json()) as WebhookBody;
    expect(after.is_active).toBe(false);
    expect(after.disabled_reason).toContain('410');
    await expectEnvelope(await send(`/api/v1/webhooks/${hook.id}/test`, 'POST', admin), 409, 'CONFLICT');
    // Nothing more is emitted to it until someone turns it back on.
    await emitWebhookEvent(env, createLogger({}), admin.organizationId, 'project.created', { id: 'p' });
    const log = (await (await get(`/api/v1/webhooks/${hook.id}/deliveries`, admin)).json()) as { data: unknown[] };
    expect(log.data).toHaveLength(1);
    const on = (await (
      await send(`/api/v1/webhooks/${hook.id}`, 'PUT', admin, { is_active: true })
    ).json()) as WebhookBody;
    expect(on).toMatchObject({ is_active: true, disabled_reason: null });
  });

  it('gives up after the last attempt: dead in the log', async () => {
    const admin = await register(undefined, DIRECT);
    const name = `down-${unique()}`;
    const hook = await createHook(admin, { name: 'd', url: hookUrl(name, '?status=503'), events: ['project.created'] });
    const d = await testDelivery(admin, hook.id);
    expect(await settled(d.id)).toMatchObject({
      status: 'dead',
      attempts: 5,
      last_response_code: 503,
      next_attempt_at: null,
      delivered_at: null,
    });
    expect(await received(name)).toHaveLength(5);
  });

  it('never follows a redirect (a failed attempt) and gives up on an endpoint that does not answer in time', async () => {
    const admin = await register(undefined, DIRECT);
    const moved = `moved-${unique()}`;
    const slow = `slow-${unique()}`;
    const a = await createHook(admin, { name: 'm', url: hookUrl(moved, '?redirect=1'), events: ['project.created'] });
    const b = await createHook(admin, { name: 's', url: hookUrl(slow, '?hang=1'), events: ['project.created'] });
    const [da, db] = [await testDelivery(admin, a.id), await testDelivery(admin, b.id)];
    const first = (id: string) =>
      waitFor(
        `first attempt of ${id}`,
        () => deliveryRow(id),
        (r) => r !== null && r.last_error !== null,
      );
    expect(await first(da.id)).toMatchObject({
      last_response_code: 302,
      last_error: expect.stringContaining('redirect'),
    });
    expect(await first(db.id)).toMatchObject({ last_response_code: null, last_error: 'no answer within 2000 ms' });
    const waited = Number((await deliveryRow(db.id))?.last_duration_ms);
    expect(waited).toBeGreaterThanOrEqual(1_900);
    expect(waited).toBeLessThan(5_000);
    expect(await received(`${moved}-redirected`)).toHaveLength(0);
    // Deleting the webhooks drops their pending deliveries: nothing is sent after that.
    for (const h of [a, b]) expect((await send(`/api/v1/webhooks/${h.id}`, 'DELETE', admin)).status).toBe(200);
    const count = (await received(moved)).length;
    await sleep(2_500);
    expect((await received(moved)).length).toBe(count);
  });

  it('emitWebhookEvent sends to the active webhooks subscribed to the event only', async () => {
    const admin = await register(undefined, DIRECT);
    const other = await register(undefined, DIRECT);
    const names = {
      sub: `sub-${unique()}`,
      unsub: `unsub-${unique()}`,
      off: `off-${unique()}`,
      foreign: `x-${unique()}`,
    };
    const sub = await createHook(admin, {
      name: 's',
      url: hookUrl(names.sub),
      events: ['project.updated', 'project.created'],
    });
    await createHook(admin, { name: 'u', url: hookUrl(names.unsub), events: ['project.deleted'] });
    const off = await createHook(admin, { name: 'o', url: hookUrl(names.off), events: ['project.created'] });
    await send(`/api/v1/webhooks/${off.id}`, 'PUT', admin, { is_active: false });
    await createHook(other, { name: 'x', url: hookUrl(names.foreign), events: ['project.created'] });

    await emitWebhookEvent(env, createLogger({}), admin.organizationId, 'project.created', { project: { id: 'p1' } });
    const got = await waitFor(
      'the subscribed receiver',
      () => received(names.sub),
      (r) => r.length === 1,
    );
    expect(verify(sub.secret_key ?? '', got[0] as Received)).toMatchObject({
      type: 'project.created',
      data: { project: { id: 'p1' } },
    });
    await sleep(500);
    for (const n of [names.unsub, names.off, names.foreign]) expect(await received(n)).toHaveLength(0);
    // Not even a delivery row for them (a disabled webhook's delivery would also be stopped by the consumer).
    const rows = await env.DB.prepare('SELECT webhook_id FROM webhook_deliveries WHERE organization_id IN (?, ?)')
      .bind(admin.organizationId, other.organizationId)
      .all<{ webhook_id: string }>();
    expect(rows.results.map((r) => r.webhook_id)).toEqual([sub.id]);
  });
});

describe('webhooks: SSRF', () => {
  const REFUSED = [
    'http://hooks.example.com/x', // plain http to the internet
    'https://10.0.0.1/',
    'https://192.168.0.10/',
    'https://172.16.5.4/',
    'https://100.64.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'https://[fd00::1]/',
    'https://[fe80::1]/',
    'https://metadata.google.internal/',
    'https://good.com@127.0.0.1/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://0x7f.1/',
    'http://127.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://foo.localhost/',
    'http://127.0.0.1./',
    'http://%31%32%37.0.0.1/',
  ];

  it('refuses the matrix at creation and at update, in local development too', async () => {
    const admin = await register(undefined, DIRECT);
    const ok = await createHook(admin, { name: 'ok', url: 'https://example.com/x', events: ['project.created'] });
    for (const url of REFUSED) {
      const body = await expectEnvelope(
        await send('/api/v1/webhooks', 'POST', admin, { name: 'x', url, events: ['project.created'] }),
        400,
        'VALIDATION_ERROR',
      );
      expect(body.error.details?.[0]?.field, url).toBe('url');
      await expectEnvelope(
        await send(`/api/v1/webhooks/${ok.id}`, 'PUT', admin, { url: `${url}` }),
        400,
        'VALIDATION_ERROR',
      );
    }
    const list = (await (await get('/api/v1/webhooks', admin)).json()) as { data: WebhookBody[] };
    expect(list.data.map((w) => w.url)).toEqual(['https://example.com/x']);
  });

  it('refuses loopback in production, even written canonically', async () => {
    const prod: EnvOverrides = {
      ENVIRONMENT: 'production',
      JWT_SECRET_KEY: 'a-production-jwt-secret-of-at-least-32-chars',
      WEBHOOK_SECRET_KEY: 'a-production-webhook-secret-of-at-least-32-chars',
      ALLOW_ANONYMOUS: 'false',
    };
    const admin = await register(undefined, prod);
    for (const url of ['http://127.0.0.1:8787/x', 'https://127.0.0.1/x', 'http://localhost/x', 'https://[::1]/x']) {
      await expectEnvelope(
        await send('/api/v1/webhooks', 'POST', admin, { name: 'x', url, events: ['project.created'] }, prod),
        400,
        'VALIDATION_ERROR',
      );
    }
    const made = await createHook(
      admin,
      { name: 'p', url: 'https://example.com/x', events: ['project.created'] },
      prod,
    );
    expect(made.secret_key).toMatch(/^whsec_/);
  });

  it('checks again at send time: a row made unsafe after creation is never sent to', async () => {
    const admin = await register(undefined, DIRECT);
    const name = `sendtime-${unique()}`;
    const port = new URL(mock()).port;
    // The canonical spelling reaches the receiver (local development's loopback exception)…
    const hook = await createHook(admin, { name: 's', url: hookUrl(name), events: ['project.created'] });
    const control = await testDelivery(admin, hook.id);
    expect(await settled(control.id)).toMatchObject({ status: 'succeeded' });
    // …the same receiver written another way is refused when sending, as is the metadata address.
    for (const url of [
      `http://0x7f.1:${port}/__webhook/${name}`,
      `http://2130706433:${port}/__webhook/${name}`,
      `http://[::ffff:127.0.0.1]:${port}/__webhook/${name}`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      await env.DB.prepare('UPDATE webhooks SET url = ? WHERE id = ?').bind(url, hook.id).run();
      const d = await testDelivery(admin, hook.id);
      expect(await settled(d.id), url).toMatchObject({
        status: 'failed',
        attempts: 1,
        last_response_code: null,
        last_error: expect.stringContaining('URL refused'),
      });
    }
    expect(await received(name)).toHaveLength(1);
  });

  it("checks the name's DNS answers at send time (DNS-over-HTTPS)", async () => {
    const admin = await register(undefined, DIRECT);
    // Passes the URL check (a public-looking name); the resolver says 10.0.0.1.
    const hook = await createHook(admin, {
      name: 'dns',
      url: 'https://10-0-0-1.doh.test/hook',
      events: ['project.created'],
    });
    const d = await testDelivery(admin, hook.id);
    expect(await settled(d.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: expect.stringContaining('resolves to a non-public address (private)'),
    });
  });
});

describe('webhooks: tenancy, roles, input', () => {
  it("another organization's webhooks and deliveries are 404 and left unchanged", async () => {
    const owner = await register(undefined, DIRECT);
    const name = `mine-${unique()}`;
    const hook = await createHook(owner, { name: 'mine', url: hookUrl(name), events: ['project.created'] });
    const d = await testDelivery(owner, hook.id);
    await settled(d.id);
    const rowBefore = await env.DB.prepare('SELECT * FROM webhooks WHERE id = ?').bind(hook.id).first<Json>();

    const stranger = await register(undefined, DIRECT);
    const base = `/api/v1/webhooks/${hook.id}`;
    for (const [method, path, body] of [
      ['GET', base, undefined],
      ['PUT', base, { name: 'stolen', url: 'https://evil.example/x' }],
      ['DELETE', base, undefined],
      ['GET', `${base}/deliveries`, undefined],
      ['POST', `${base}/test`, undefined],
      ['POST', `${base}/rotate-secret`, undefined],
    ] as const) {
      await expectEnvelope(await send(path, method, stranger, body), 404, 'RESOURCE_NOT_FOUND');
    }
    const list = (await (await get('/api/v1/webhooks', stranger)).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(0);
    expect(await env.DB.prepare('SELECT * FROM webhooks WHERE id = ?').bind(hook.id).first<Json>()).toEqual(rowBefore);
    const deliveries = await env.DB.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = ?')
      .bind(hook.id)
      .first<number>('n');
    expect(deliveries).toBe(1);
    await sleep(300);
    expect(await received(name)).toHaveLength(1);
  });

  it('managers and admins manage and read webhooks; members and viewers get 403 (JWT and API keys)', async () => {
    const admin = await register(undefined, DIRECT);
    const hook = await createHook(admin, { name: 'h', url: 'https://example.com/h', events: ['project.created'] });
    const roles: Role[] = ['admin', 'manager', 'member', 'viewer'];
    for (const role of roles) {
      const account = role === 'admin' ? admin : await memberOf(admin, role, DIRECT);
      const key = await createApiKey(admin, { name: `${role} key`, role }, DIRECT);
      for (const who of [account.auth, { 'x-api-key': key.key }]) {
        const allowed = role === 'admin' || role === 'manager';
        const calls: [string, string, unknown][] = [
          ['GET', '/api/v1/webhooks', undefined],
          ['POST', '/api/v1/webhooks', { name: 'n', url: 'https://example.com/n', events: ['project.created'] }],
          ['GET', `/api/v1/webhooks/${hook.id}`, undefined],
          ['PUT', `/api/v1/webhooks/${hook.id}`, { name: `by ${role}` }],
          ['GET', `/api/v1/webhooks/${hook.id}/deliveries`, undefined],
          ['POST', `/api/v1/webhooks/${hook.id}/rotate-secret`, undefined],
        ];
        for (const [method, path, body] of calls) {
          const res = await send(path, method, who, body);
          if (allowed) expect(res.status, `${role} ${method} ${path}`).toBeLessThan(300);
          else await expectEnvelope(res, 403, 'INSUFFICIENT_PERMISSIONS');
        }
      }
    }
    await expectEnvelope(await call('/api/v1/webhooks', {}, DIRECT), 401, 'AUTHENTICATION_REQUIRED');
  });

  it('refuses malformed and oversized input with 400 and 413', async () => {
    const admin = await register(undefined, DIRECT);
    const valid = { name: 'n', url: 'https://example.com/n', events: ['project.created'] };
    const bad: unknown[] = [
      '{"name": ',
      '[]',
      'null',
      {},
      { ...valid, events: [] },
      { ...valid, events: ['webhook.test'] },
      { ...valid, events: 'project.created' },
      { ...valid, name: '' },
      { ...valid, name: 'x'.repeat(201) },
      { ...valid, url: `https://example.com/${'a'.repeat(2100)}` },
      { ...valid, url: 42 },
      { ...valid, is_active: true },
      { ...valid, organization_id: crypto.randomUUID() },
    ];
    for (const body of bad) {
      await expectEnvelope(await send('/api/v1/webhooks', 'POST', admin, body), 400, 'VALIDATION_ERROR');
    }
    const hook = await createHook(admin, valid);
    for (const body of ['nope', { secret_key: 'whsec_x' }, { is_active: 'yes' }, { events: ['nope'] }]) {
      await expectEnvelope(await send(`/api/v1/webhooks/${hook.id}`, 'PUT', admin, body), 400, 'VALIDATION_ERROR');
    }
    await expectEnvelope(await get('/api/v1/webhooks?limit=1000', admin), 400, 'VALIDATION_ERROR');
    await expectEnvelope(
      await send('/api/v1/webhooks', 'POST', admin, { ...valid, name: 'x'.repeat(1_100_000) }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const list = (await (await get('/api/v1/webhooks', admin)).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
  });

  it('pages the delivery log, newest first', async () => {
    const admin = await register(undefined, DIRECT);
    const hook = await createHook(admin, { name: 'p', url: hookUrl(`page-${unique()}`), events: ['project.created'] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await testDelivery(admin, hook.id)).id);
      await sleep(5);
    }
    const page1 = (await (await get(`/api/v1/webhooks/${hook.id}/deliveries?limit=2`, admin)).json()) as {
      data: DeliveryBody[];
      pagination: Json;
    };
    expect(page1.data.map((d) => d.id)).toEqual([ids[2], ids[1]]);
    expect(page1.pagination).toMatchObject({ total: 3, limit: 2, has_next: true });
    const page2 = (await (
      await get(`/api/v1/webhooks/${hook.id}/deliveries?cursor=${String(page1.pagination.next_cursor)}&limit=2`, admin)
    ).json()) as { data: DeliveryBody[] };
    expect(page2.data.map((d) => d.id)).toEqual([ids[0]]);
  });
});

describe('webhooks: the consumer (called directly, through the worker entry)', () => {
  // A delivery row with no queue message of its own, so only the batch built here sends it.
  async function pendingDelivery(admin: Account, url: string, attempts: number): Promise<string> {
    const hook = await createHook(admin, { name: 'c', url, events: ['project.created'] });
    const id = crypto.randomUUID();
    await env.DB.prepare(
      `INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event_type, payload, attempts)
       VALUES (?, ?, ?, 'project.created', '{"type":"project.created","timestamp":"2026-01-01T00:00:00.000Z","data":{}}', ?)`,
    )
      .bind(id, hook.id, admin.organizationId, attempts)
      .run();
    return id;
  }

  async function consume(deliveryId: string, dlq: unknown[]) {
    const batch = createMessageBatch('edgeway-webhooks', [
      {
        id: `m-${deliveryId}`,
        timestamp: new Date(),
        attempts: 1,
        body: { kind: 'webhook-delivery', delivery_id: deliveryId },
      },
    ]);
    const ctx = createExecutionContext();
    const fakeDlq = { send: async (body: unknown) => void dlq.push(body), sendBatch: async () => undefined };
    await worker.queue(batch, { ...env, WEBHOOKS_DLQ: fakeDlq } as unknown as Env);
    return getQueueResult(batch, ctx);
  }

  it('re-queues a failed attempt with its backoff delay, and sends the last failed one to the dead-letter queue', async () => {
    const admin = await register(undefined, DIRECT);
    const name = `direct-${unique()}`;
    const dlq: unknown[] = [];
    const early = await pendingDelivery(admin, hookUrl(name, '?status=500'), 0);
    const before = Date.now();
    const first = await consume(early, dlq);
    // (The test harness does not report a retry's delaySeconds; the row's next_attempt_at is set from it.)
    expect(first.retryMessages.map((m) => m.msgId)).toEqual([`m-${early}`]);
    expect(first.explicitAcks).toEqual([]);
    const row = await deliveryRow(early);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_response_code: 500 });
    const next = Date.parse(String(row?.next_attempt_at));
    expect(next).toBeGreaterThanOrEqual(before);
    expect(next).toBeLessThanOrEqual(Date.now() + 1_000); // the suite caps delays at 1 s
    expect(dlq).toHaveLength(0);

    const last = await pendingDelivery(admin, hookUrl(name, '?status=500'), 4);
    const result = await consume(last, dlq);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toEqual([`m-${last}`]);
    expect(await deliveryRow(last)).toMatchObject({ status: 'dead', attempts: 5 });
    expect(dlq).toEqual([expect.objectContaining({ delivery_id: last, attempts: 5 })]);
  });

  it('sends nothing for a delivery that already succeeded or whose webhook is gone', async () => {
    const admin = await register(undefined, DIRECT);
    const name = `done-${unique()}`;
    const id = await pendingDelivery(admin, hookUrl(name), 0);
    await env.DB.prepare("UPDATE webhook_deliveries SET status = 'succeeded' WHERE id = ?").bind(id).run();
    const result = await consume(id, []);
    expect(result.explicitAcks).toEqual([`m-${id}`]);
    const missing = await consume(crypto.randomUUID(), []);
    expect(missing.explicitAcks).toHaveLength(1);
    expect(await received(name)).toHaveLength(0);
  });
});

describe('events of projects and runs', () => {
  it('project.created/updated/deleted and a run’s orchestration.* events reach a subscribed endpoint, signed', async () => {
    const admin = await register();
    const name = `events-${crypto.randomUUID()}`;
    const hook = await createHook(admin, {
      name: 'all events',
      url: hookUrl(name),
      events: [
        'project.created',
        'project.updated',
        'project.deleted',
        'orchestration.started',
        'orchestration.phase_completed',
        'orchestration.completed',
      ],
    });
    const secret = String(hook.secret_key);
    const created = await send('/api/v1/projects', 'POST', admin, { name: 'Hooked', topic: 'webhooks' });
    expect(created.status).toBe(201);
    const project = (await created.json()) as Json;
    const run = await send('/api/v1/orchestrate', 'POST', admin, {
      project_id: project.id,
      topic: 'a run with webhooks',
      custom_phases: ['only'],
      settings: { ai_model: 'groq:llama-3.1-8b-instant' },
    });
    expect(run.status).toBe(201);
    const runId = String(((await run.json()) as Json).run_id);
    expect((await send(`/api/v1/projects/${String(project.id)}`, 'PUT', admin, { priority: 'high' })).status).toBe(200);
    const types = (list: Received[]) => list.map((r) => (verify(secret, r) as { type: string }).type).sort();
    await waitFor(
      'the run to complete',
      () => get(`/api/v1/orchestration/${runId}`, admin).then(async (r) => ((await r.json()) as { run: Json }).run),
      (r) => r.status === 'completed',
    );
    expect((await send(`/api/v1/projects/${String(project.id)}`, 'DELETE', admin)).status).toBe(200);
    const all = await waitFor(
      'six deliveries',
      () => received(name),
      (list) => list.filter((r) => r.status === 200).length >= 6,
    );
    // Each event once, each verified with the endpoint's secret.
    expect(types(all.filter((r) => r.status === 200))).toEqual([
      'orchestration.completed',
      'orchestration.phase_completed',
      'orchestration.started',
      'project.created',
      'project.deleted',
      'project.updated',
    ]);
    const byType = new Map(all.map((r) => [(JSON.parse(r.body) as { type: string }).type, JSON.parse(r.body) as Json]));
    expect(byType.get('project.created')).toMatchObject({ data: { project: { id: project.id, name: 'Hooked' } } });
    expect(byType.get('orchestration.completed')).toMatchObject({ data: { run_id: runId, project_id: project.id } });
  });
});
