import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type Account, memberOf, register } from '../helpers/auth';
import { call, expectEnvelope, postJson } from '../helpers/http';

// Seed 003 §2.5 templates: the shapes field by field; public templates seen by every organization and
// private ones only by their own (404 elsewhere); only the owning organization changes or deletes one (its
// creator, or a manager or admin); filters, sorting and pagination; template_data validated.

type Json = Record<string, unknown>;
interface Page {
  data: Json[];
  pagination: Json;
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const send = (method: string, path: string, body: unknown, who: Account) =>
  call(path, {
    method,
    headers: { 'content-type': 'application/json', ...who.auth },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const get = (path: string, who: Account) => call(path, { headers: who.auth });
const del = (path: string, who: Account) => call(path, { method: 'DELETE', headers: who.auth });
const row = (id: string) => env.DB.prepare('SELECT * FROM templates WHERE id = ?').bind(id).first<Json>();

// Public templates of every test in this file show in every organization's list: each test filters by a
// category of its own.
const uniqueCategory = () => `cat-${crypto.randomUUID().slice(0, 8)}`;

const data = (phases: string[] = ['ideation', 'design']) => ({ phases });

async function create(who: Account, body: Json): Promise<Json> {
  const res = await postJson('/api/v1/templates', body, undefined, who.auth);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Json;
}

async function list(who: Account, query: string): Promise<Page> {
  const res = await get(`/api/v1/templates?${query}`, who);
  expect(res.status, `${query}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as Page;
}

const names = (page: Page) => page.data.map((t) => String(t.name));

describe('template CRUD (seed 003 shapes)', () => {
  it('creates, reads, lists, updates and deletes with the seed fields', async () => {
    const owner = await register();
    const me = (await (await get('/api/v1/auth/me', owner)).json()) as { username: string };
    const seedBody = {
      name: 'Custom Template',
      description: 'My custom orchestration template',
      category: 'custom',
      is_public: false,
      template_data: {
        phases: ['research', 'design', 'implementation', 'testing'],
        integrations: ['github', 'docker'],
        settings: { ai_model: 'gpt-4', integration_enabled: true },
      },
    };
    const created = await create(owner, seedBody);
    expect(Object.keys(created).sort()).toEqual(
      [
        'id',
        'name',
        'description',
        'category',
        'is_public',
        'usage_count',
        'created_by',
        'template_data',
        'created_at',
        'updated_at',
      ].sort(),
    );
    expect(created.id).toMatch(UUID);
    expect(created.name).toBe('Custom Template');
    expect(created.description).toBe('My custom orchestration template');
    expect(created.category).toBe('custom');
    expect(created.is_public).toBe(false);
    expect(created.usage_count).toBe(0);
    expect(created.created_by).toEqual({ id: owner.userId, username: me.username, full_name: 'Test User' });
    expect(created.template_data).toEqual(seedBody.template_data);
    expect(created.created_at).toMatch(ISO_MS);
    expect(created.updated_at).toMatch(ISO_MS);
    const id = String(created.id);
    const path = `/api/v1/templates/${id}`;

    // usage_count is the column the runs increment.
    await env.DB.prepare('UPDATE templates SET usage_count = 150 WHERE id = ?').bind(id).run();
    const one = (await (await get(path, owner)).json()) as Json;
    expect(one).toEqual({ ...created, usage_count: 150 });
    const res = await get('/api/v1/templates?category=custom', owner);
    expect(res.headers.get('x-total-count')).toBe(String(((await res.clone().json()) as Page).pagination.total));
    const page = (await res.json()) as Page;
    expect(page.data.find((t) => t.id === id)).toEqual(one);
    expect(Object.keys(page.pagination).sort()).toEqual(
      ['total', 'limit', 'offset', 'page', 'pages', 'has_next', 'has_prev', 'next_cursor', 'prev_cursor'].sort(),
    );

    // Defaults: custom, private, no integrations, no settings.
    const minimal = await create(owner, { name: 'Minimal', template_data: data(['only']) });
    expect(minimal).toMatchObject({
      category: 'custom',
      is_public: false,
      description: null,
      template_data: { phases: ['only'], integrations: [], settings: {} },
    });

    const put = await send(
      'PUT',
      path,
      { name: 'Web Application Starter', is_public: true, category: 'web-development', template_data: data() },
      owner,
    );
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({
      id,
      name: 'Web Application Starter',
      description: 'My custom orchestration template',
      is_public: true,
      category: 'web-development',
      usage_count: 150,
      template_data: { phases: ['ideation', 'design'], integrations: [], settings: {} },
      created_at: created.created_at,
    });

    const gone = await del(path, owner);
    expect(gone.status).toBe(200);
    expect(await gone.json()).toEqual({ message: 'Template deleted successfully' });
    await expectEnvelope(await get(path, owner), 404, 'RESOURCE_NOT_FOUND');
    expect(await row(id)).toBeNull();
  });
});

describe('visibility across organizations', () => {
  it('public templates are seen by every organization, private ones only by their own; only the owner changes them', async () => {
    const a = await register();
    const b = await register();
    const category = uniqueCategory();
    const priv = await create(a, { name: 'A private', category, template_data: data() });
    const pub = await create(a, { name: 'A public', category, is_public: true, template_data: data() });
    const bOwn = await create(b, { name: 'B private', category, template_data: data() });

    expect(names(await list(a, `category=${category}&sort=name`))).toEqual(['A private', 'A public']);
    expect(names(await list(b, `category=${category}&sort=name`))).toEqual(['A public', 'B private']);
    expect(names(await list(b, `category=${category}&is_public=true`))).toEqual(['A public']);
    expect(names(await list(b, `category=${category}&is_public=false`))).toEqual(['B private']);
    expect((await list(b, `category=${category}`)).pagination.total).toBe(2);

    await expectEnvelope(await get(`/api/v1/templates/${String(priv.id)}`, b), 404, 'RESOURCE_NOT_FOUND');
    expect((await get(`/api/v1/templates/${String(pub.id)}`, b)).status).toBe(200);
    await expectEnvelope(await get(`/api/v1/templates/${String(bOwn.id)}`, a), 404, 'RESOURCE_NOT_FOUND');

    // B's admin can change or delete neither A's private nor A's public template: 404, rows unchanged.
    for (const t of [priv, pub]) {
      const id = String(t.id);
      const before = await row(id);
      await expectEnvelope(
        await send('PUT', `/api/v1/templates/${id}`, { name: 'Taken', is_public: false }, b),
        404,
        'RESOURCE_NOT_FOUND',
      );
      await expectEnvelope(await del(`/api/v1/templates/${id}`, b), 404, 'RESOURCE_NOT_FOUND');
      expect(await row(id)).toEqual(before);
    }

    // Made private, A's public template disappears for B.
    await send('PUT', `/api/v1/templates/${String(pub.id)}`, { is_public: false }, a);
    await expectEnvelope(await get(`/api/v1/templates/${String(pub.id)}`, b), 404, 'RESOURCE_NOT_FOUND');
    expect(names(await list(b, `category=${category}`))).toEqual(['B private']);
  });
});

describe('roles', () => {
  it('viewers read; members create and change their own; managers change anyone’s in the organization', async () => {
    const owner = await register();
    const viewer = await memberOf(owner, 'viewer');
    const member = await memberOf(owner, 'member');
    const other = await memberOf(owner, 'member');
    const manager = await memberOf(owner, 'manager');
    const category = uniqueCategory();

    await expectEnvelope(
      await postJson('/api/v1/templates', { name: 'x', template_data: data() }, undefined, viewer.auth),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    const t = await create(member, { name: 'Member template', category, template_data: data() });
    const path = `/api/v1/templates/${String(t.id)}`;
    expect((await get(path, viewer)).status).toBe(200);
    expect(names(await list(viewer, `category=${category}`))).toEqual(['Member template']);
    await expectEnvelope(await send('PUT', path, { name: 'v' }, viewer), 403, 'INSUFFICIENT_PERMISSIONS');
    await expectEnvelope(await del(path, viewer), 403, 'INSUFFICIENT_PERMISSIONS');

    const before = await row(String(t.id));
    await expectEnvelope(await send('PUT', path, { name: 'taken' }, other), 403, 'INSUFFICIENT_PERMISSIONS');
    await expectEnvelope(await del(path, other), 403, 'INSUFFICIENT_PERMISSIONS');
    expect(await row(String(t.id))).toEqual(before);

    expect(((await (await send('PUT', path, { name: 'Mine' }, member)).json()) as Json).name).toBe('Mine');
    expect(((await (await send('PUT', path, { name: 'Managed' }, manager)).json()) as Json).name).toBe('Managed');
    expect((await del(path, manager)).status).toBe(200);
    const own = await create(member, { name: 'Own', template_data: data() });
    expect((await del(`/api/v1/templates/${String(own.id)}`, member)).status).toBe(200);
  });
});

describe('filters, sorting and pagination', () => {
  it('filters by category and search, sorts by declared fields only, and walks by cursor', async () => {
    const owner = await register();
    const category = uniqueCategory();
    const second = uniqueCategory();
    const made: Json[] = [];
    for (let i = 0; i < 7; i++) {
      made.push(
        await create(owner, {
          name: `Template ${String.fromCharCode(71 - i)}`,
          description: i === 3 ? 'has 100% of the_keyword' : 'plain',
          category: i < 5 ? category : second,
          template_data: data(),
        }),
      );
      await env.DB.prepare('UPDATE templates SET usage_count = ? WHERE id = ?')
        .bind((i * 3) % 5, String(made[i]?.id))
        .run();
    }
    expect((await list(owner, `category=${category}`)).pagination.total).toBe(5);
    expect((await list(owner, `category=${category},${second}`)).pagination.total).toBe(7);
    expect(names(await list(owner, `category=${category},${second}&search=THE_KEY`))).toEqual(['Template D']);
    expect(names(await list(owner, `category=${category},${second}&search=%25`))).toEqual(['Template D']);
    const both = `category=${category},${second}`;
    expect(names(await list(owner, `${both}&sort=name`))).toEqual([
      'Template A',
      'Template B',
      'Template C',
      'Template D',
      'Template E',
      'Template F',
      'Template G',
    ]);
    const byUse = await list(owner, `${both}&sort=-usage_count,name`);
    expect(byUse.data.map((t) => t.usage_count)).toEqual([4, 3, 3, 2, 1, 0, 0]);

    const walked: string[] = [];
    let page = await list(owner, `${both}&sort=-usage_count,name&limit=3`);
    for (;;) {
      walked.push(...names(page));
      if (page.pagination.next_cursor === null) break;
      page = await list(owner, `${both}&sort=-usage_count,name&limit=3&cursor=${String(page.pagination.next_cursor)}`);
    }
    expect(walked).toEqual(names(byUse));
    expect(names(await list(owner, `${both}&sort=-usage_count,name&limit=3&page=2`))).toEqual(names(byUse).slice(3, 6));

    for (const [query, field] of [
      ['sort=no_such_field', 'sort'],
      ['sort=priority', 'sort'],
      ['is_public=yes', 'is_public'],
      [`category=${'x'.repeat(51)}`, 'category'],
      ['category=a,,b', 'category'],
      ['cursor=garbage', 'cursor'],
    ]) {
      const body = await expectEnvelope(await get(`/api/v1/templates?${query}`, owner), 400, 'VALIDATION_ERROR');
      expect(body.error.details?.[0]?.field, query).toBe(field);
    }
  });
});

describe('template_data and bodies', () => {
  it('refuses what a run could not use, malformed bodies with 400 and oversized ones with 413', async () => {
    const owner = await register();
    const t = await create(owner, { name: 'Target', template_data: data() });
    const path = `/api/v1/templates/${String(t.id)}`;
    const bad: unknown[] = [
      '{"name":',
      { name: 'No data' },
      { name: 'x', template_data: {} },
      { name: 'x', template_data: { phases: [] } },
      { name: 'x', template_data: { phases: [''] } },
      { name: 'x', template_data: { phases: ['  '] } },
      { name: 'x', template_data: { phases: ['p'.repeat(101)] } },
      { name: 'x', template_data: { phases: Array.from({ length: 21 }, (_, i) => `p${i}`) } },
      { name: 'x', template_data: { phases: [1] } },
      { name: 'x', template_data: { phases: 'ideation' } },
      { name: 'x', template_data: { phases: ['a'], integrations: [1] } },
      { name: 'x', template_data: { phases: ['a'], integrations: 'git' } },
      { name: 'x', template_data: { phases: ['a'], settings: [] } },
      { name: 'x', template_data: { phases: ['a'], settings: { temperature: 3 } } },
      { name: 'x', template_data: { phases: ['a'], settings: { max_tokens: 0 } } },
      { name: 'x', template_data: { phases: ['a'], settings: { max_tokens: 1.5 } } },
      { name: 'x', template_data: { phases: ['a'], settings: { integration_enabled: 'yes' } } },
      { name: 'x', template_data: { phases: ['a'], settings: { ai_model: '' } } },
      { name: 'x', template_data: { phases: ['a'], settings: { unknown: 1 } } },
      { name: 'x', template_data: { phases: ['a'], extra: true } },
      { name: '', template_data: data() },
      { name: 'x', category: 'Web Development', template_data: data() },
      { name: 'x', category: 'a,b', template_data: data() },
      { name: 'x', is_public: 'yes', template_data: data() },
      { name: 'x', usage_count: 1000, template_data: data() },
    ];
    for (const body of bad) {
      await expectEnvelope(await send('POST', '/api/v1/templates', body, owner), 400, 'VALIDATION_ERROR');
    }
    for (const body of [{ template_data: { phases: [] } }, { usage_count: 5 }, { name: null }, '[']) {
      await expectEnvelope(await send('PUT', path, body, owner), 400, 'VALIDATION_ERROR');
    }
    const huge = { name: 'x', description: 'd'.repeat(1_100_000), template_data: data() };
    await expectEnvelope(await send('POST', '/api/v1/templates', huge, owner), 413, 'PAYLOAD_TOO_LARGE');
    await expectEnvelope(await send('PUT', path, huge, owner), 413, 'PAYLOAD_TOO_LARGE');
    // The bounds themselves are accepted.
    const edge = await create(owner, {
      name: 'n'.repeat(200),
      template_data: {
        phases: Array.from({ length: 20 }, () => 'p'.repeat(100)),
        settings: { ai_model: 'gpt-4', max_tokens: 2000, temperature: 0.7, integration_enabled: false },
      },
    });
    expect((edge.template_data as { phases: string[] }).phases).toHaveLength(20);
    const after = (await (await get(path, owner)).json()) as Json;
    expect(after).toEqual(t);
  });
});
