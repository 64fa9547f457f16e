import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type Account, memberOf, register } from '../helpers/auth';
import { call, expectEnvelope, postJson } from '../helpers/http';

// Seed 003 §2.3 projects, with §5 pagination and §6 filtering and sorting (API.md "Pagination, filtering,
// sorting"): the shapes field by field, every filter and sort of the seed's examples, limit/offset, page and
// cursor walks, who may do what, and other organizations' ids (404, row unchanged).

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

async function create(who: Account, body: Json): Promise<Json> {
  const res = await postJson('/api/v1/projects', body, undefined, who.auth);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Json;
}

async function list(who: Account, query: string): Promise<Page> {
  const res = await get(`/api/v1/projects?${query}`, who);
  expect(res.status, `${query}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as Page;
}

const row = (id: string) => env.DB.prepare('SELECT * FROM projects WHERE id = ?').bind(id).first<Json>();

async function username(who: Account): Promise<string> {
  const me = (await (await get('/api/v1/auth/me', who)).json()) as { username: string };
  return me.username;
}

describe('project CRUD (seed 003 shapes)', () => {
  it('creates, reads, lists, updates and deletes with the seed fields', async () => {
    const owner = await register();
    const seedBody = {
      name: 'New Project',
      description: 'Project description',
      topic: 'Detailed project topic for AI processing',
      priority: 'medium',
      metadata: { estimated_duration: '2 months', budget: 50000, team_size: 5 },
    };
    const created = await create(owner, seedBody);
    const creator = { id: owner.userId, username: await username(owner), full_name: 'Test User' };
    expect(Object.keys(created).sort()).toEqual(
      [
        'id',
        'name',
        'description',
        'topic',
        'status',
        'priority',
        'created_by',
        'orchestration_runs',
        'metadata',
        'created_at',
        'updated_at',
      ].sort(),
    );
    expect(created.id).toMatch(UUID);
    expect(created.name).toBe('New Project');
    expect(created.description).toBe('Project description');
    expect(created.topic).toBe('Detailed project topic for AI processing');
    expect(created.status).toBe('active');
    expect(created.priority).toBe('medium');
    expect(created.created_by).toEqual(creator);
    expect(created.metadata).toEqual(seedBody.metadata);
    expect(created.orchestration_runs).toEqual([]);
    expect(created.created_at).toMatch(ISO_MS);
    expect(created.updated_at).toMatch(ISO_MS);
    const id = String(created.id);

    // GET one carries the project's runs (seed: id, status, success_rate, created_at), newest first.
    for (const [runId, status, rate, at] of [
      [crypto.randomUUID(), 'completed', 95.5, '2024-01-10T09:00:00.000Z'],
      [crypto.randomUUID(), 'running', null, '2024-01-11T09:00:00.000Z'],
    ] as const) {
      await env.DB.prepare(
        'INSERT INTO orchestration_runs (id, organization_id, project_id, created_by, topic, status, total_phases, success_rate, created_at) VALUES (?, ?, ?, ?, ?, ?, 3, ?, ?)',
      )
        .bind(runId, owner.organizationId, id, owner.userId, 't', status, rate, at)
        .run();
    }
    const one = (await (await get(`/api/v1/projects/${id}`, owner)).json()) as Json;
    expect(one).toMatchObject({ ...created, orchestration_runs: expect.any(Array) });
    const runs = one.orchestration_runs as Json[];
    expect(runs.map((r) => Object.keys(r).sort())).toEqual([
      ['created_at', 'id', 'status', 'success_rate'],
      ['created_at', 'id', 'status', 'success_rate'],
    ]);
    expect(runs.map((r) => [r.status, r.success_rate, r.created_at])).toEqual([
      ['running', null, '2024-01-11T09:00:00.000Z'],
      ['completed', 95.5, '2024-01-10T09:00:00.000Z'],
    ]);

    // The list item: the seed's fields, without the runs; the seed's pagination fields and API.md's.
    const res = await get('/api/v1/projects', owner);
    const page = (await res.json()) as Page;
    const item = { ...created };
    delete item.orchestration_runs;
    expect(page.data).toEqual([item]);
    expect(page.pagination).toEqual({
      total: 1,
      limit: 50,
      offset: 0,
      page: 1,
      pages: 1,
      has_next: false,
      has_prev: false,
      next_cursor: null,
      prev_cursor: null,
    });
    expect(res.headers.get('x-total-count')).toBe('1');
    expect(res.headers.get('link')).toContain('rel="first"');

    // PUT: the seed's body; the fields given change, the others stay.
    const put = await send(
      'PUT',
      `/api/v1/projects/${id}`,
      { name: 'Updated Project Name', description: 'Updated description', priority: 'high', status: 'active' },
      owner,
    );
    expect(put.status).toBe(200);
    const updated = (await put.json()) as Json;
    expect(updated).toMatchObject({
      id,
      name: 'Updated Project Name',
      description: 'Updated description',
      priority: 'high',
      status: 'active',
      topic: created.topic,
      metadata: created.metadata,
      created_by: creator,
      created_at: created.created_at,
    });
    expect(String(updated.updated_at) >= String(created.updated_at)).toBe(true);
    // metadata replaces; description may be cleared.
    const cleared = (await (
      await send('PUT', `/api/v1/projects/${id}`, { description: null, metadata: { complexity: 'high' } }, owner)
    ).json()) as Json;
    expect(cleared).toMatchObject({
      description: null,
      metadata: { complexity: 'high' },
      name: 'Updated Project Name',
    });

    const gone = await del(`/api/v1/projects/${id}`, owner);
    expect(gone.status).toBe(200);
    expect(await gone.json()).toEqual({ message: 'Project deleted successfully' });
    await expectEnvelope(await get(`/api/v1/projects/${id}`, owner), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(await del(`/api/v1/projects/${id}`, owner), 404, 'RESOURCE_NOT_FOUND');
    expect(await row(id)).toBeNull();
    // Its runs go with it.
    const left = await env.DB.prepare('SELECT count(*) AS n FROM orchestration_runs WHERE project_id = ?')
      .bind(id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it('defaults status to active, priority to medium, metadata to {}; created_by is null once the account is gone', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const p = await create(member, { name: 'Minimal' });
    expect(p).toMatchObject({ status: 'active', priority: 'medium', metadata: {}, description: null, topic: '' });
    await env.DB.prepare('DELETE FROM users WHERE id = ?').bind(member.userId).run();
    const after = (await (await get(`/api/v1/projects/${String(p.id)}`, owner)).json()) as Json;
    expect(after.created_by).toBeNull();
  });
});

// Twelve projects with known statuses, priorities and creation times (set in D1, as the date filters need).
const FIXTURE: [string, string, string, string, string][] = [
  // name, description, status, priority, created_at
  ['Alpha shop', 'E-commerce with AI', 'active', 'high', '2024-01-01T00:00:00.000Z'],
  ['beta api', 'REST keyword service', 'completed', 'low', '2024-01-05T12:00:00.000Z'],
  ['Gamma', 'Mobile app', 'archived', 'urgent', '2024-01-10T08:30:00.000Z'],
  ['delta', '100% coverage', 'failed', 'medium', '2024-01-15T00:00:00.000Z'],
  ['Epsilon keyword', 'Search', 'active', 'urgent', '2024-01-20T00:00:00.000Z'],
  ['zeta', 'snake_case tool', 'completed', 'high', '2024-01-31T00:00:00.000Z'],
  ['Eta', 'Data pipeline', 'active', 'low', '2024-01-31T23:59:59.999Z'],
  ['theta', 'ML ops', 'active', 'medium', '2024-02-01T00:00:00.000Z'],
  ['Iota', 'Dashboard', 'completed', 'urgent', '2024-02-10T00:00:00.000Z'],
  ['kappa', 'Chatbot', 'archived', 'high', '2024-02-10T00:00:00.000Z'],
  ['Lambda', 'Serverless', 'active', 'medium', '2024-02-10T00:00:00.000Z'],
  ['mu', 'Monitoring', 'failed', 'low', '2023-12-31T23:59:59.999Z'],
];
const RANK = ['low', 'medium', 'high', 'urgent'];

interface Fixture {
  owner: Account;
  ids: Map<string, string>; // name → id
}

async function fixture(): Promise<Fixture> {
  const owner = await register();
  const ids = new Map<string, string>();
  for (const [name, description, status, priority, at] of FIXTURE) {
    const p = await create(owner, { name, description, status, priority });
    ids.set(name, String(p.id));
    await env.DB.prepare('UPDATE projects SET created_at = ?, updated_at = ? WHERE id = ?')
      .bind(at, at, String(p.id))
      .run();
  }
  return { owner, ids };
}

const names = (page: Page) => page.data.map((p) => String(p.name));
const fixtureNames = (keep: (f: (typeof FIXTURE)[number]) => boolean) => FIXTURE.filter(keep).map((f) => f[0]);
// Ties in the keys are broken by id; a test comparing an order sorts tied names the same way.
const idOrder = (ids: Map<string, string>) => (a: string, b: string) =>
  (ids.get(a) ?? '') < (ids.get(b) ?? '') ? -1 : 1;

describe('filters (seed 003 §6.1)', () => {
  it('exact, several values, dates, text search; a value outside the enum is a 400 naming the filter', async () => {
    const { owner } = await fixture();
    const sorted = (xs: string[]) => [...xs].sort();
    expect(sorted(names(await list(owner, 'status=active')))).toEqual(sorted(fixtureNames((f) => f[2] === 'active')));
    const several = await list(owner, 'status=active,completed');
    expect(sorted(names(several))).toEqual(sorted(fixtureNames((f) => f[2] === 'active' || f[2] === 'completed')));
    expect(several.pagination.total).toBe(8);
    expect(sorted(names(await list(owner, 'priority=urgent&status=active')))).toEqual(['Epsilon keyword']);
    // January 2024: created_after inclusive, created_before exclusive.
    expect(sorted(names(await list(owner, 'created_after=2024-01-01&created_before=2024-01-31')))).toEqual(
      sorted(fixtureNames((f) => f[4] >= '2024-01-01' && f[4] < '2024-01-31')),
    );
    expect(sorted(names(await list(owner, 'created_after=2024-02-01T00:00:00Z')))).toEqual(
      sorted(['theta', 'Iota', 'kappa', 'Lambda']),
    );
    // Name or description, any case; LIKE wildcards are literal.
    expect(sorted(names(await list(owner, 'search=KEYWORD')))).toEqual(sorted(['beta api', 'Epsilon keyword']));
    expect(names(await list(owner, 'search=%25'))).toEqual(['delta']);
    expect(names(await list(owner, 'search=_'))).toEqual(['zeta']);
    expect(names(await list(owner, 'search=nothing-like-this'))).toEqual([]);

    for (const [query, field] of [
      ['status=bogus', 'status'],
      ['status=active,bogus', 'status'],
      ['priority=extreme', 'priority'],
      ['status=active,', 'status'],
      ['created_after=2024-02-30', 'created_after'],
      ['created_before=last-week', 'created_before'],
    ]) {
      const body = await expectEnvelope(await get(`/api/v1/projects?${query}`, owner), 400, 'VALIDATION_ERROR');
      expect(
        body.error.details?.map((d) => d.field),
        query,
      ).toEqual([field]);
    }
  });
});

describe('sorting (seed 003 §6.2)', () => {
  it('sorts by priority rank then newest (sort=priority,-created_at), and by every declared field', async () => {
    const { owner, ids } = await fixture();
    const tie = idOrder(ids);
    const byRankThenNewest = [...FIXTURE]
      .sort(
        (a, b) =>
          RANK.indexOf(a[3]) - RANK.indexOf(b[3]) || (a[4] < b[4] ? 1 : a[4] > b[4] ? -1 : 0) || tie(a[0], b[0]),
      )
      .map((f) => f[0]);
    expect(names(await list(owner, 'sort=priority,-created_at'))).toEqual(byRankThenNewest);
    // Urgent first: by rank, not alphabetically (which would put "urgent" last only by luck of letters).
    const urgentFirst = names(await list(owner, 'sort=-priority,-created_at'));
    expect(urgentFirst.slice(0, 3)).toEqual(['Iota', 'Epsilon keyword', 'Gamma']);
    expect(urgentFirst.slice(-3)).toEqual(['Eta', 'beta api', 'mu']);
    // Seed 002's spelling.
    const newest = [...FIXTURE].sort((a, b) => (a[4] < b[4] ? 1 : a[4] > b[4] ? -1 : tie(a[0], b[0])));
    expect(names(await list(owner, 'sort=created_at&order=desc'))).toEqual(newest.map((f) => f[0]));
    // The default: newest first.
    expect(names(await list(owner, ''))).toEqual(newest.map((f) => f[0]));
    // Names without regard to case.
    expect(names(await list(owner, 'sort=name'))).toEqual(
      FIXTURE.map((f) => f[0]).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)),
    );
    expect(names(await list(owner, 'sort=-name')).at(0)).toBe('zeta');
    expect(names(await list(owner, 'sort=status,name')).slice(0, 5)).toEqual([
      'Alpha shop',
      'Epsilon keyword',
      'Eta',
      'Lambda',
      'theta',
    ]);
    expect((await list(owner, 'sort=-updated_at')).data[0]?.name).toBeDefined();

    for (const query of ['sort=no_such_field', 'sort=priority,-nope', 'sort=name,name', 'sort=name;drop']) {
      const body = await expectEnvelope(await get(`/api/v1/projects?${query}`, owner), 400, 'VALIDATION_ERROR');
      expect(body.error.details?.[0]?.field, query).toBe('sort');
    }
    const body = await expectEnvelope(await get('/api/v1/projects?sort=no_such_field', owner), 400, 'VALIDATION_ERROR');
    expect(body.error.details?.[0]?.message).toContain('no_such_field');
  });
});

describe('pagination (seed 003 §5)', () => {
  it('walks the list by limit/offset, by page and by cursor (both ways) with no row twice and none missing', async () => {
    const { owner } = await fixture();
    const sort = 'sort=priority,-created_at';
    const all = names(await list(owner, sort));
    expect(all).toHaveLength(12);

    const byOffset: string[] = [];
    for (const offset of [0, 5, 10]) {
      const page = await list(owner, `${sort}&limit=5&offset=${offset}`);
      expect(page.pagination).toMatchObject({
        total: 12,
        limit: 5,
        offset,
        page: offset / 5 + 1,
        pages: 3,
        has_prev: offset > 0,
        has_next: offset < 10,
      });
      byOffset.push(...names(page));
    }
    expect(byOffset).toEqual(all);
    expect(names(await list(owner, `${sort}&limit=5&page=2`))).toEqual(all.slice(5, 10));
    expect((await list(owner, `${sort}&limit=5&page=4`)).data).toEqual([]);

    const forward: string[] = [];
    const cursors: string[] = [];
    let page = await list(owner, `${sort}&limit=5`);
    for (;;) {
      forward.push(...names(page));
      const next = page.pagination.next_cursor;
      if (next === null) break;
      expect(next).toMatch(/^[A-Za-z0-9_-]+$/);
      cursors.push(String(next));
      page = await list(owner, `${sort}&limit=5&cursor=${String(next)}`);
      expect(page.pagination.offset).toBe(forward.length);
    }
    expect(forward).toEqual(all);
    expect(page.pagination).toMatchObject({ has_next: false, has_prev: true, offset: 10, page: 3 });

    const backward: string[][] = [];
    for (;;) {
      backward.unshift(names(page));
      const prev = page.pagination.prev_cursor;
      if (prev === null) break;
      page = await list(owner, `${sort}&limit=5&cursor=${String(prev)}`);
    }
    expect(backward.flat()).toEqual(all);
    expect(page.pagination).toMatchObject({ offset: 0, has_prev: false });

    // A cursor made for another sort (even one with keys of the same types) is refused.
    const res = await get(`/api/v1/projects?sort=-priority,created_at&limit=5&cursor=${cursors[0] ?? ''}`, owner);
    const refused = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(refused.error.details?.[0]?.field).toBe('cursor');
  });

  it('refuses bad cursors, limits and mixed windows with 400, never 500', async () => {
    const owner = await register();
    const forged = btoa('{"s":"-created_at","d":"n","k":[1,2]}').replace(/=+$/, '');
    for (const query of [
      'cursor=not-a-cursor',
      'cursor=%25%25%25',
      `cursor=${forged}`,
      `cursor=${'A'.repeat(5000)}`,
      'limit=0',
      'limit=101',
      'limit=ten',
      'offset=-1',
      'page=0',
      'offset=5&page=2',
      'offset=0&cursor=abc',
    ]) {
      await expectEnvelope(await get(`/api/v1/projects?${query}`, owner), 400, 'VALIDATION_ERROR');
    }
    expect((await list(owner, 'limit=100')).pagination.limit).toBe(100);
  });
});

describe('roles', () => {
  it('viewers read; members create and change their own; managers and admins change anyone’s', async () => {
    const owner = await register();
    const viewer = await memberOf(owner, 'viewer');
    const member = await memberOf(owner, 'member');
    const other = await memberOf(owner, 'member');
    const manager = await memberOf(owner, 'manager');

    const mine = await create(member, { name: 'Member project', priority: 'low' });
    const path = `/api/v1/projects/${String(mine.id)}`;
    expect((await get(path, viewer)).status).toBe(200);
    expect((await list(viewer, '')).pagination.total).toBe(1);
    await expectEnvelope(
      await postJson('/api/v1/projects', { name: 'x' }, undefined, viewer.auth),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    await expectEnvelope(await send('PUT', path, { name: 'viewer' }, viewer), 403, 'INSUFFICIENT_PERMISSIONS');
    await expectEnvelope(await del(path, viewer), 403, 'INSUFFICIENT_PERMISSIONS');

    // Another member sees it but may not change or delete it.
    const before = await row(String(mine.id));
    await expectEnvelope(await send('PUT', path, { name: 'taken' }, other), 403, 'INSUFFICIENT_PERMISSIONS');
    await expectEnvelope(await del(path, other), 403, 'INSUFFICIENT_PERMISSIONS');
    expect(await row(String(mine.id))).toEqual(before);

    // Its creator may.
    expect(((await (await send('PUT', path, { priority: 'high' }, member)).json()) as Json).priority).toBe('high');
    // A manager may change anyone's; an admin too; then a manager deletes it.
    expect(((await (await send('PUT', path, { status: 'completed' }, manager)).json()) as Json).status).toBe(
      'completed',
    );
    expect(((await (await send('PUT', path, { name: 'By admin' }, owner)).json()) as Json).name).toBe('By admin');
    expect((await del(path, manager)).status).toBe(200);
    expect(await row(String(mine.id))).toBeNull();

    // The member deletes their own.
    const own = await create(member, { name: 'Short-lived' });
    expect((await del(`/api/v1/projects/${String(own.id)}`, member)).status).toBe(200);
  });

  it("another organization's project is 404 to read, change and delete, and stays as it was", async () => {
    const owner = await register();
    const stranger = await register();
    const p = await create(owner, { name: 'Secret', description: 'Ours', metadata: { k: 1 } });
    const id = String(p.id);
    const before = await row(id);
    await expectEnvelope(await get(`/api/v1/projects/${id}`, stranger), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(
      await send('PUT', `/api/v1/projects/${id}`, { name: 'Mine now', status: 'archived' }, stranger),
      404,
      'RESOURCE_NOT_FOUND',
    );
    await expectEnvelope(await del(`/api/v1/projects/${id}`, stranger), 404, 'RESOURCE_NOT_FOUND');
    expect(await row(id)).toEqual(before);
    expect((await list(stranger, '')).data).toEqual([]);
    expect((await list(stranger, 'search=Secret')).pagination.total).toBe(0);
    // Not a UUID: 404 as well.
    await expectEnvelope(await get('/api/v1/projects/not-a-uuid', owner), 404, 'RESOURCE_NOT_FOUND');
  });
});

describe('bodies', () => {
  it('refuses malformed and out-of-bounds bodies with 400, oversized ones with 413', async () => {
    const owner = await register();
    const p = await create(owner, { name: 'Target' });
    const path = `/api/v1/projects/${String(p.id)}`;
    const bad: unknown[] = [
      '{"name": ',
      '[]',
      {},
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(201) },
      { name: 'ok', priority: 'extreme' },
      { name: 'ok', status: 'deleted' },
      { name: 'ok', description: 'x'.repeat(2001) },
      { name: 'ok', metadata: [] },
      { name: 'ok', metadata: 'text' },
      { name: 'ok', metadata: { big: 'x'.repeat(17_000) } },
      { name: 'ok', organization_id: crypto.randomUUID() },
      { name: 'ok', created_by: crypto.randomUUID() },
    ];
    for (const body of bad) {
      const res = await send('POST', '/api/v1/projects', body, owner);
      await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    }
    // Nested deeper than JSON.stringify can go: refused, not a 500.
    const deep = `{"name":"ok","metadata":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
    await expectEnvelope(await send('POST', '/api/v1/projects', deep, owner), 400, 'VALIDATION_ERROR');
    for (const body of [{ name: '' }, { priority: 'extreme' }, { owner: 'me' }, { metadata: [1] }, '{oops']) {
      await expectEnvelope(await send('PUT', path, body, owner), 400, 'VALIDATION_ERROR');
    }
    const huge = { name: 'ok', description: 'x'.repeat(1_100_000) };
    await expectEnvelope(await send('POST', '/api/v1/projects', huge, owner), 413, 'PAYLOAD_TOO_LARGE');
    await expectEnvelope(await send('PUT', path, huge, owner), 413, 'PAYLOAD_TOO_LARGE');
    // Nothing was stored by any of them.
    expect((await list(owner, '')).pagination.total).toBe(1);
    expect(((await (await get(path, owner)).json()) as Json).name).toBe('Target');
  });
});

// The parser every list shares, on the seed 004 model list (issue 13: `?sort=no_such_field` answered 200).
describe('GET /api/v1/model sorts through the shared parser', () => {
  it('sorts by its declared fields, refuses others with 400 on `sort`, and keeps catalogue order by default', async () => {
    const body = await expectEnvelope(await call('/api/v1/model?sort=no_such_field'), 400, 'VALIDATION_ERROR');
    expect(body.error.details).toEqual([{ field: 'sort', message: expect.stringContaining('no_such_field') }]);
    const catalogue = ((await (await call('/api/v1/models')).json()) as Json[]).map((m) => m.id);
    const res = await call('/api/v1/model?limit=100');
    expect(res.headers.get('x-total-count')).toBe(String(catalogue.length));
    expect(((await res.json()) as Page).data.map((m) => m.id)).toEqual(catalogue);
    const longest = ((await (await call('/api/v1/model?limit=100&sort=-context_length,id')).json()) as Page).data;
    const lengths = longest.map((m) => Number(m.context_length));
    expect(lengths).toEqual([...lengths].sort((a, b) => b - a));
    const byName = ((await (await call('/api/v1/model?limit=100&sort=name&order=desc')).json()) as Page).data;
    const modelNames = byName.map((m) => String(m.name));
    expect(modelNames).toEqual([...modelNames].sort().reverse());
  });
});

describe('every list endpoint and the sort parameter', () => {
  it('an unknown sort field is a 400 on every list, including those of a fixed order', async () => {
    const admin = await register();
    for (const path of [
      '/api/v1/projects',
      '/api/v1/templates',
      '/api/v1/orchestration',
      '/api/v1/model',
      '/api/v1/chat',
      '/api/v1/organizations/current/members',
      '/api/v1/webhooks',
    ]) {
      const res = await call(`${path}?sort=no_such_field`, { headers: admin.auth });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('VALIDATION_ERROR');
      // Without a sort they answer.
      expect((await call(path, { headers: admin.auth })).status, path).toBe(200);
    }
  });
});
