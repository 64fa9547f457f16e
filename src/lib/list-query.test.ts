import { env } from 'cloudflare:test';
import { and, count, sql } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '../db/client';
import { ApiError } from './errors';
import { compareBy, defineList, isoInstant, type ListQuery, parseSort, rankOf } from './list-query';
import type { Pagination } from './pagination';

// The shared list parser (API.md "Pagination, filtering, sorting"): its sort syntax, its filters and dates,
// its refusals (400 VALIDATION_ERROR naming the field, never a 500), and — against a real D1 table — that
// offset, page and cursor pages walk a list in the declared order, forwards and backwards, with no row
// twice and none missing, even while rows are added in front of the reader.

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const LEVELS = ['low', 'medium', 'high', 'urgent'] as const;
type Level = (typeof LEVELS)[number];

const items = sqliteTable('list_query_test_items', {
  id: text('id').primaryKey(),
  grp: text('grp').notNull(),
  level: text('level', { enum: LEVELS }).notNull(),
  n: integer('n').notNull(),
  name: text('name').notNull(),
  note: text('note'),
  flag: integer('flag', { mode: 'boolean' }).notNull(),
  createdAt: text('created_at').notNull(),
});
type Item = typeof items.$inferSelect;

const list = defineList<Item>({
  sortable: {
    level: { expr: rankOf(items.level, LEVELS), type: 'number', key: (r) => LEVELS.indexOf(r.level) },
    name: { expr: sql`${items.name} COLLATE NOCASE`, type: 'string', key: (r) => r.name },
    n: { expr: items.n, type: 'number', key: (r) => r.n },
    created_at: { expr: items.createdAt, type: 'string', key: (r) => r.createdAt },
  },
  defaultSort: '-created_at',
  id: { expr: items.id, type: 'string', key: (r) => r.id },
  filters: {
    level: { kind: 'enum', column: items.level, values: LEVELS },
    grp: { kind: 'exact', column: items.grp, max: 10 },
    flag: { kind: 'boolean', column: items.flag },
  },
  search: [items.name, items.note],
  created: items.createdAt,
});

const parse = (query: Record<string, string>) => {
  const checked = list.query.safeParse(query);
  if (!checked.success) throw new Error(`query schema refused ${JSON.stringify(query)}`);
  return list.parse(checked.data);
};

async function page(query: Record<string, string>): Promise<{ data: Item[]; pagination: Pagination }> {
  const q: ListQuery<Item> = parse(query);
  const db = getDb(env.DB);
  const [rows, counts] = await db.batch([
    db
      .select()
      .from(items)
      .where(and(q.where, q.seek))
      .orderBy(...q.orderBy)
      .limit(q.fetch)
      .offset(q.offset),
    db.select({ total: count(), before: q.before }).from(items).where(q.where),
  ]);
  return q.finish(rows, counts[0] ?? { total: 0, before: 0 });
}

describe('sort', () => {
  const fields = ['priority', 'created_at', 'name'];

  it('reads fields with - for descending and + (or the space an unescaped + becomes) for ascending', () => {
    expect(parseSort('priority,-created_at', undefined, fields, '')).toEqual([
      { field: 'priority', desc: false },
      { field: 'created_at', desc: true },
    ]);
    expect(parseSort('+name, -priority', undefined, fields, '')).toEqual([
      { field: 'name', desc: false },
      { field: 'priority', desc: true },
    ]);
    expect(parseSort(' name', undefined, fields, '')).toEqual([{ field: 'name', desc: false }]);
  });

  it("takes seed 002's order= for the fields given without a sign, or for the default", () => {
    expect(parseSort('created_at', 'desc', fields, '')).toEqual([{ field: 'created_at', desc: true }]);
    expect(parseSort('created_at,+name', 'desc', fields, '')).toEqual([
      { field: 'created_at', desc: true },
      { field: 'name', desc: false },
    ]);
    expect(parseSort('-created_at', 'asc', fields, '')).toEqual([{ field: 'created_at', desc: true }]);
    expect(parseSort(undefined, 'asc', fields, 'created_at')).toEqual([{ field: 'created_at', desc: false }]);
    expect(parseSort(undefined, undefined, fields, '-created_at')).toEqual([{ field: 'created_at', desc: true }]);
    expect(parseSort('', undefined, fields, '')).toEqual([]);
  });

  it('refuses unknown, repeated and empty fields with 400 on `sort`, naming the field', () => {
    for (const [text, says] of [
      ['no_such_field', 'no_such_field'],
      ['priority,-bogus', 'bogus'],
      ['name,-name', 'twice'],
      ['name,,priority', 'Empty'],
      ['-', 'Empty'],
      ['name;drop table x', 'name;drop'],
    ] as const) {
      const err = refusal(() => parseSort(text, undefined, fields, ''));
      expect(err).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
      expect(err.details).toEqual([{ field: 'sort', message: expect.stringContaining(says) }]);
    }
  });

  it('compares rows in memory the same way', () => {
    const rows = [
      { a: 2, b: 'x' },
      { a: 1, b: 'y' },
      { a: 2, b: 'a' },
    ];
    const by = compareBy<(typeof rows)[number]>(parseSort('-a,b', undefined, ['a', 'b'], ''), {
      a: (r) => r.a,
      b: (r) => r.b,
    });
    expect([...rows].sort(by)).toEqual([rows[2], rows[0], rows[1]]);
  });
});

describe('dates', () => {
  it('reads ISO 8601 dates and date-times into the stored UTC format', () => {
    expect(isoInstant('2024-01-31')).toBe('2024-01-31T00:00:00.000Z');
    expect(isoInstant('2024-01-31T10:20')).toBe('2024-01-31T10:20:00.000Z');
    expect(isoInstant('2024-01-31T10:20:30.5Z')).toBe('2024-01-31T10:20:30.500Z');
    expect(isoInstant('2024-01-31T10:20:30.123456Z')).toBe('2024-01-31T10:20:30.123Z');
    expect(isoInstant('2024-01-31T10:20:30+02:00')).toBe('2024-01-31T08:20:30.000Z');
    expect(isoInstant('2024-01-31T10:20:30 0200')).toBe('2024-01-31T08:20:30.000Z');
    expect(isoInstant('2024-01-01T00:30:00-01:00')).toBe('2024-01-01T01:30:00.000Z');
    expect(isoInstant('2024-02-29')).toBe('2024-02-29T00:00:00.000Z');
  });

  it('refuses what is not one, and days that do not exist', () => {
    for (const bad of [
      '',
      'yesterday',
      '2024-02-30',
      '2023-02-29',
      '2024-13-01',
      '2024-01-01T24:00',
      '2024-01-01T10:60',
      '2024-01-01T10:00:00+25:00',
      '0050-01-01',
      '2024-1-1',
      '1704067200',
    ]) {
      expect(isoInstant(bad), bad).toBeUndefined();
    }
  });
});

describe('parse', () => {
  const refused = (query: Record<string, string>) => refusal(() => parse(query));

  it('defaults to the first 50 in the default order', () => {
    const q = parse({});
    expect(q).toMatchObject({ limit: 50, offset: 0, fetch: 51, seek: undefined, where: undefined });
    expect(q.orderBy).toHaveLength(2); // -created_at, then the id
  });

  it('turns page into an offset', () => {
    expect(parse({ page: '3', limit: '20' })).toMatchObject({ limit: 20, offset: 40 });
  });

  it('refuses filter values outside their enum, naming the filter', () => {
    const err = refused({ level: 'low,extreme' });
    expect(err).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
    expect(err.details).toEqual([{ field: 'level', message: expect.stringContaining('extreme') }]);
  });

  it('refuses empty list items, too many values, over-long values, non-booleans and bad dates', () => {
    for (const [query, field] of [
      [{ level: 'low,' }, 'level'],
      [{ grp: Array.from({ length: 21 }, (_, i) => `g${i}`).join(',') }, 'grp'],
      [{ grp: 'x'.repeat(11) }, 'grp'],
      [{ flag: 'yes' }, 'flag'],
      [{ flag: 'true,false' }, 'flag'],
      [{ created_after: '2024-02-30' }, 'created_after'],
      [{ created_before: 'soon' }, 'created_before'],
      [{ sort: 'nope' }, 'sort'],
    ] as const) {
      expect(
        refused(query).details?.map((d) => d.field),
        JSON.stringify(query),
      ).toEqual([field]);
    }
  });

  it('names every bad field at once', () => {
    const err = refused({ level: 'extreme', flag: 'maybe', created_after: 'x', sort: 'nope' });
    expect(err.details?.map((d) => d.field).sort()).toEqual(['created_after', 'flag', 'level', 'sort']);
  });

  it('refuses more than one of offset, page and cursor', () => {
    expect(refused({ offset: '0', page: '1' }).code).toBe('VALIDATION_ERROR');
  });

  it('refuses cursors it did not make, or made for another sort, with 400 on `cursor`', () => {
    const b64 = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const made = b64(JSON.stringify({ s: '-created_at', d: 'n', k: ['2024-01-01T00:00:00.000Z', 'x'] }));
    expect(() => parse({ cursor: made })).not.toThrow();
    for (const cursor of [
      'x',
      '%%%',
      'not a cursor',
      `${made}$`,
      made.slice(0, -3),
      b64('null'),
      b64('[]'),
      b64('{"o":10}'),
      b64(JSON.stringify({ s: '-created_at', d: 'n', k: ['2024-01-01T00:00:00.000Z'] })),
      b64(JSON.stringify({ s: '-created_at', d: 'n', k: [1, 'x'] })),
      b64(JSON.stringify({ s: '-created_at', d: 'x', k: ['a', 'x'] })),
      b64(JSON.stringify({ s: '-created_at', d: 'n', k: ['a', 'x'], extra: 1 })),
      b64(JSON.stringify({ s: 'name', d: 'n', k: ['a', 'x'] })),
      b64('\u00ff\u00fe'),
    ]) {
      const err = refused({ cursor });
      expect(err, cursor).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
      expect(err.details).toEqual([{ field: 'cursor', message: expect.any(String) }]);
    }
    expect(refused({ cursor: made, sort: 'name' }).details?.[0]?.message).toContain('another sort');
  });
});

// ---------------------------------------------------------------------------------------------------------

const GROUPS = ['a', 'b', 'c'];
const NAMES = ['alpha', 'Beta', 'gamma', 'Delta', 'alpha', 'ALPHA', 'beta'];
const NOTES = ['100% sure', 'snake_case', 'plain', null, 'a\\b'];

function makeRows(total: number): Item[] {
  return Array.from({ length: total }, (_, i) => ({
    id: `id-${String((i * 37) % 101).padStart(3, '0')}-${i}`,
    grp: GROUPS[i % 3] as string,
    level: LEVELS[(i * 7) % 4] as Level,
    n: (i * 13) % 5,
    name: NAMES[i % NAMES.length] as string,
    note: NOTES[i % NOTES.length] ?? null,
    flag: i % 4 === 0,
    // Many rows share a timestamp: ties are broken by the id.
    createdAt: `2024-01-${String(1 + (i % 9)).padStart(2, '0')}T00:00:00.000Z`,
  }));
}

let rows: Item[] = [];

beforeAll(async () => {
  await env.DB.exec(
    'CREATE TABLE IF NOT EXISTS list_query_test_items (id TEXT PRIMARY KEY, grp TEXT NOT NULL, level TEXT NOT NULL, n INTEGER NOT NULL, name TEXT NOT NULL, note TEXT, flag INTEGER NOT NULL, created_at TEXT NOT NULL)',
  );
  await env.DB.exec('DELETE FROM list_query_test_items');
  rows = makeRows(61);
  const db = getDb(env.DB);
  for (let i = 0; i < rows.length; i += 10)
    await db
      .insert(items)
      .values(rows.slice(i, i + 10))
      .run();
});

// The order the list promises, computed here: the keys, then the id ascending.
const byId = (a: Item, b: Item) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const ORDERS: Record<string, (a: Item, b: Item) => number> = {
  '': (a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : byId(a, b)),
  'level,-created_at': (a, b) => LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level) || ORDERS['']?.(a, b) || 0,
  'name,-n': (a, b) => {
    const x = a.name.toLowerCase();
    const y = b.name.toLowerCase();
    return x < y ? -1 : x > y ? 1 : b.n - a.n || byId(a, b);
  },
  '-n': (a, b) => b.n - a.n || byId(a, b),
};

async function walk(query: Record<string, string>, limit: number, direction: 'next' | 'prev', from?: string) {
  const seen: string[][] = [];
  const pages: Pagination[] = [];
  let cursor = from;
  for (let guard = 0; guard < 100; guard++) {
    const res = await page({ ...query, limit: String(limit), ...(cursor ? { cursor } : {}) });
    seen.push(res.data.map((r) => r.id));
    pages.push(res.pagination);
    const next = direction === 'next' ? res.pagination.next_cursor : res.pagination.prev_cursor;
    if (!next) break;
    cursor = next;
  }
  return { seen, pages };
}

describe('pages against D1', () => {
  it.each(Object.keys(ORDERS))('walk the whole list by cursor, both ways, in order `%s`', async (sort) => {
    const expected = [...rows].sort(ORDERS[sort]).map((r) => r.id);
    const query: Record<string, string> = sort ? { sort } : {};
    const forward = await walk(query, 7, 'next');
    expect(forward.seen.flat()).toEqual(expected);
    // Each page's envelope says where it is.
    let at = 0;
    for (const [i, p] of forward.pages.entries()) {
      expect(p).toMatchObject({ total: expected.length, limit: 7, offset: at, page: i + 1, pages: 9 });
      expect(p.has_prev).toBe(at > 0);
      at += forward.seen[i]?.length ?? 0;
      expect(p.has_next).toBe(at < expected.length);
    }
    // Backwards from the last page, by prev_cursor: the same rows, the same pages.
    const lastPage = forward.pages[forward.pages.length - 2]?.next_cursor ?? undefined;
    const backward = await walk(query, 7, 'prev', lastPage);
    expect(backward.seen.reverse().flat()).toEqual(expected);
    expect(backward.pages[backward.pages.length - 1]).toMatchObject({ offset: 0, has_prev: false, prev_cursor: null });
  });

  it('gives the same pages by offset, by page and by cursor', async () => {
    const sort = 'level,-created_at';
    const expected = [...rows].sort(ORDERS[sort]).map((r) => r.id);
    const first = await page({ sort, limit: '10' });
    const byOffset = await page({ sort, limit: '10', offset: '10' });
    const byPage = await page({ sort, limit: '10', page: '2' });
    const byCursor = await page({ sort, limit: '10', cursor: first.pagination.next_cursor ?? '' });
    for (const p of [byOffset, byPage, byCursor]) {
      expect(p.data.map((r) => r.id)).toEqual(expected.slice(10, 20));
      expect(p.pagination).toMatchObject({ offset: 10, page: 2, has_prev: true, has_next: true, total: 61 });
    }
    // From an offset page, the cursors lead on without overlap.
    const after = await page({ sort, limit: '10', cursor: byOffset.pagination.next_cursor ?? '' });
    expect(after.data.map((r) => r.id)).toEqual(expected.slice(20, 30));
    const beforeIt = await page({ sort, limit: '10', cursor: byOffset.pagination.prev_cursor ?? '' });
    expect(beforeIt.data.map((r) => r.id)).toEqual(expected.slice(0, 10));
    // The last page by offset.
    const last = await page({ sort, limit: '10', offset: '60' });
    expect(last.data.map((r) => r.id)).toEqual(expected.slice(60));
    expect(last.pagination).toMatchObject({ has_next: false, next_cursor: null, page: 7, pages: 7 });
  });

  it('neither repeats nor skips a row when rows are added in front of the reader', async () => {
    const sort = '-n';
    const before = [...rows].sort(ORDERS[sort]).map((r) => r.id);
    const db = getDb(env.DB);
    const seen: string[] = [];
    let cursor: string | null | undefined;
    const added: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await page({ sort, limit: '5', ...(cursor ? { cursor } : {}) });
      seen.push(...res.data.map((r) => r.id));
      // A row that sorts first: an offset reader would see the page boundary move and repeat a row.
      const id = `zz-added-${i}`;
      await db
        .insert(items)
        .values({ ...makeRows(1)[0], id, n: 99, createdAt: '2030-01-01T00:00:00.000Z' } as Item)
        .run();
      added.push(id);
      cursor = res.pagination.next_cursor;
      if (!cursor) break;
    }
    await env.DB.prepare(`DELETE FROM list_query_test_items WHERE id LIKE 'zz-added-%'`).run();
    expect(seen).toEqual(before);
    expect(added.length).toBeGreaterThan(5);
  });

  it('filters by one or several values, booleans and dates', async () => {
    const ids = (data: Item[]) => data.map((r) => r.id).sort();
    const expect1 = rows.filter((r) => r.level === 'urgent' || r.level === 'low');
    expect(ids((await page({ level: 'urgent,low', limit: '100' })).data)).toEqual(ids(expect1));
    expect((await page({ level: 'urgent,low' })).pagination.total).toBe(expect1.length);
    expect(ids((await page({ grp: 'b', flag: 'true', limit: '100' })).data)).toEqual(
      ids(rows.filter((r) => r.grp === 'b' && r.flag)),
    );
    expect(ids((await page({ flag: 'false', limit: '100' })).data)).toEqual(ids(rows.filter((r) => !r.flag)));
    // created_after is inclusive, created_before exclusive: together they tile.
    const jan3to5 = rows.filter((r) => r.createdAt >= '2024-01-03' && r.createdAt < '2024-01-05');
    expect(ids((await page({ created_after: '2024-01-03', created_before: '2024-01-05', limit: '100' })).data)).toEqual(
      ids(jan3to5),
    );
    expect(
      ids(
        (
          await page({
            created_after: '2024-01-03T00:00:00Z',
            created_before: '2024-01-04T23:59:59.999Z',
            limit: '100',
          })
        ).data,
      ),
    ).toEqual(ids(jan3to5));
  });

  it('searches text with LIKE wildcards taken literally, ignoring ASCII case', async () => {
    const ids = (data: Item[]) => data.map((r) => r.id).sort();
    const containing = (s: string) =>
      ids(rows.filter((r) => r.name.toLowerCase().includes(s) || (r.note ?? '').toLowerCase().includes(s)));
    for (const term of ['%', '_', '\\', 'alp', 'ALP', 'e_c', '0%', '%%']) {
      expect(ids((await page({ search: term, limit: '100' })).data), term).toEqual(containing(term.toLowerCase()));
    }
    expect(containing('%')).not.toEqual(ids(rows));
    expect(containing('_')).not.toEqual(ids(rows));
  });

  it('keeps a query with many values, three sort keys and a cursor under D1 limits', async () => {
    const first = await page({ sort: 'level,name,-n', grp: 'a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t', limit: '3' });
    const next = await page({
      sort: 'level,name,-n',
      grp: 'a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t',
      level: 'low,medium,high,urgent',
      search: 'a',
      created_after: '2020-01-01',
      limit: '3',
      cursor: first.pagination.next_cursor ?? '',
    });
    expect(next.pagination.offset).toBe(3);
  });
});
