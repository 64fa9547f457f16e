import { describe, expect, it } from 'vitest';
import { ApiError } from './errors';
import { paginate, paginationHeaders, PaginationQuery, window } from './pagination';

// API.md, pagination: `limit` (default 50, max 100) and one of `offset`, `page` (1-based) or an opaque
// `cursor`; the envelope has total, limit, offset, page, pages, has_next, has_prev, next_cursor and
// prev_cursor. A cursor the server did not hand out is a 400 VALIDATION_ERROR naming `cursor`.

const parse = (query: Record<string, string>) => PaginationQuery.safeParse(query);

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const base64url = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

describe('query bounds', () => {
  it('takes limit 1..100, offset ≥ 0, page ≥ 1, from query strings', () => {
    expect(parse({ limit: '1', offset: '0' }).data).toEqual({ limit: 1, offset: 0 });
    expect(parse({ limit: '100', page: '3' }).data).toEqual({ limit: 100, page: 3 });
    const invalid: Record<string, string>[] = [
      { limit: '0' },
      { limit: '101' },
      { limit: '2.5' },
      { limit: 'ten' },
      { offset: '-1' },
      { page: '0' },
      { cursor: 'x'.repeat(201) },
    ];
    for (const bad of invalid) {
      expect(parse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('defaults to the first 50', () => {
    expect(window({})).toEqual({ limit: 50, offset: 0 });
  });

  it('turns a 1-based page into an offset', () => {
    expect(window({ page: 1, limit: 20 })).toEqual({ limit: 20, offset: 0 });
    expect(window({ page: 3, limit: 20 })).toEqual({ limit: 20, offset: 40 });
    expect(window({ page: 2 })).toEqual({ limit: 50, offset: 50 });
  });

  it('refuses more than one of offset, page and cursor', () => {
    const cursor = paginate(100, 10, 0).next_cursor ?? '';
    for (const q of [
      { offset: 0, page: 1 },
      { offset: 10, cursor },
      { page: 2, cursor },
    ]) {
      expect(refusal(() => window(q))).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
    }
  });
});

describe('envelope', () => {
  it('describes the first, a middle and the last page', () => {
    expect(paginate(45, 20, 0)).toMatchObject({
      total: 45,
      limit: 20,
      offset: 0,
      page: 1,
      pages: 3,
      has_next: true,
      has_prev: false,
      prev_cursor: null,
    });
    expect(paginate(45, 20, 20)).toMatchObject({ page: 2, pages: 3, has_next: true, has_prev: true });
    expect(paginate(45, 20, 40)).toMatchObject({
      page: 3,
      pages: 3,
      has_next: false,
      has_prev: true,
      next_cursor: null,
    });
  });

  it('has one page, and no cursors, when there is nothing', () => {
    expect(paginate(0, 50, 0)).toEqual({
      total: 0,
      limit: 50,
      offset: 0,
      page: 1,
      pages: 1,
      has_next: false,
      has_prev: false,
      next_cursor: null,
      prev_cursor: null,
    });
  });

  it('ends exactly at the total: no next page when the last one is full', () => {
    expect(paginate(40, 20, 20)).toMatchObject({ pages: 2, has_next: false, next_cursor: null });
    expect(paginate(41, 20, 20)).toMatchObject({ pages: 3, has_next: true });
  });
});

describe('cursors', () => {
  it('round-trip: next_cursor leads to the next page and prev_cursor to the previous one', () => {
    const middle = paginate(1_000, 25, 100);
    expect(window({ cursor: middle.next_cursor ?? '', limit: 25 })).toEqual({ limit: 25, offset: 125 });
    expect(window({ cursor: middle.prev_cursor ?? '', limit: 25 })).toEqual({ limit: 25, offset: 75 });
  });

  it('walk every row exactly once from the first page to the last', () => {
    const total = 237;
    const limit = 20;
    const seen: number[] = [];
    let q: PaginationQuery = { limit };
    for (;;) {
      const { offset } = window(q);
      const page = paginate(total, limit, offset);
      for (let row = offset; row < Math.min(total, offset + limit); row++) seen.push(row);
      if (!page.next_cursor) break;
      q = { limit, cursor: page.next_cursor };
    }
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('go back no further than the start', () => {
    const page = paginate(100, 50, 30);
    expect(window({ cursor: page.prev_cursor ?? '' })).toEqual({ limit: 50, offset: 0 });
  });

  it('are URL-safe and pass the query schema, even for large offsets', () => {
    for (const offset of [0, 7, 62, 1_000, 123_456_789, 2 ** 40]) {
      const cursor = paginate(2 ** 41, 1, offset + 1).prev_cursor ?? '';
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(parse({ cursor }).success).toBe(true);
      expect(window({ cursor, limit: 1 }).offset).toBe(offset);
    }
  });

  it('that were tampered with or made up are refused with 400 VALIDATION_ERROR on `cursor`', () => {
    const good = paginate(1_000, 10, 0).next_cursor ?? '';
    const tampered = [
      '',
      'not-a-cursor',
      '%%%',
      `${good}x`,
      good.slice(0, -2),
      good.toUpperCase(),
      base64url('{"o":-10}'),
      base64url('{"o":1.5}'),
      base64url('{"o":"10"}'),
      base64url('{"o":null}'),
      base64url('{"offset":10}'),
      base64url('[10]'),
      base64url('null'),
      base64url('10'),
    ];
    for (const cursor of tampered) {
      const err = refusal(() => window({ cursor }));
      expect(err, cursor).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
      expect(err.details).toEqual([{ field: 'cursor', message: expect.any(String) }]);
    }
  });
});

describe('pages read by key', () => {
  it('take has_next from the rows the page holds, and the cursors it was given', () => {
    // A short page after a cursor that started at 0: more rows follow although offset + limit reaches total.
    expect(paginate(10, 50, 0, { returned: 5, nextCursor: 'n', prevCursor: 'p' })).toMatchObject({
      has_next: true,
      has_prev: false,
      next_cursor: 'n',
      prev_cursor: null,
    });
    expect(paginate(10, 5, 5, { returned: 5, nextCursor: 'n', prevCursor: 'p' })).toMatchObject({
      has_next: false,
      has_prev: true,
      next_cursor: null,
      prev_cursor: 'p',
    });
  });
});

describe('headers', () => {
  it('carry the total and links to the first, previous and next pages', () => {
    const headers = paginationHeaders(
      'http://h.test/api/v1/projects?status=active&limit=5&offset=5',
      paginate(12, 5, 5, { returned: 5, nextCursor: 'NEXT', prevCursor: 'PREV' }),
    );
    expect(headers['X-Total-Count']).toBe('12');
    expect(headers.Link).toBe(
      [
        '<http://h.test/api/v1/projects?status=active&limit=5>; rel="first"',
        '<http://h.test/api/v1/projects?status=active&limit=5&cursor=PREV>; rel="prev"',
        '<http://h.test/api/v1/projects?status=active&limit=5&cursor=NEXT>; rel="next"',
      ].join(', '),
    );
    expect(paginationHeaders('http://h.test/x?page=1', paginate(0, 50, 0)).Link).toBe('<http://h.test/x>; rel="first"');
  });
});
