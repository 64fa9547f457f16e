import { z } from '@hono/zod-openapi';
import { ApiError } from './errors';

// docs/api.md, pagination: limit (default 50, max 100) and one of offset, page (1-based) or an opaque cursor.
export const PaginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  offset: z.coerce.number().int().min(0).optional(),
  page: z.coerce.number().int().min(1).optional(),
  cursor: z.string().max(200).optional(),
  // Lists of a fixed order take no sort field (API.md: an unknown sort field is a 400); lists that sort
  // declare theirs (list-query.ts sortParams, or window's `sortable`).
  sort: z.string().max(200).optional().openapi({ description: 'Sort fields this list takes (none unless documented)' }),
  order: z.enum(['asc', 'desc']).optional(),
});

export type PaginationQuery = z.infer<typeof PaginationQuery>;

export const PaginationSchema = z
  .object({
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
    page: z.number().int(),
    pages: z.number().int(),
    has_next: z.boolean(),
    has_prev: z.boolean(),
    next_cursor: z.string().nullable(),
    prev_cursor: z.string().nullable(),
  })
  .openapi('Pagination');

export type Pagination = z.infer<typeof PaginationSchema>;

function encodeCursor(offset: number): string {
  return btoa(JSON.stringify({ o: offset }))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function decodeCursor(cursor: string): number {
  try {
    const parsed: unknown = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'o' in parsed &&
      Number.isInteger(parsed.o) &&
      Number(parsed.o) >= 0
    ) {
      return Number(parsed.o);
    }
  } catch {
    // fall through
  }
  throw new ApiError('VALIDATION_ERROR', undefined, { details: [{ field: 'cursor', message: 'Invalid cursor' }] });
}

// At most one of offset, page and cursor: each says where the page starts.
export function assertOneWindow(q: Pick<PaginationQuery, 'offset' | 'page' | 'cursor'>): void {
  const given = [q.offset, q.page, q.cursor].filter((v) => v !== undefined).length;
  if (given > 1) {
    throw new ApiError('VALIDATION_ERROR', undefined, {
      details: [{ field: 'offset', message: 'Use only one of offset, page or cursor' }],
    });
  }
}

export function window(q: PaginationQuery, sortable: readonly string[] = []): { limit: number; offset: number } {
  assertOneWindow(q);
  const unknown = (q.sort ?? '')
    .split(',')
    .map((f) => f.trim().replace(/^[-+]\s*/, ''))
    .filter((f) => f !== '' && !sortable.includes(f));
  if (unknown.length > 0) {
    throw new ApiError('VALIDATION_ERROR', undefined, {
      details: [
        {
          field: 'sort',
          message: `Unknown sort field "${unknown[0]?.slice(0, 50) ?? ''}"; ${sortable.length > 0 ? `sortable: ${sortable.join(', ')}` : 'this list has a fixed order'}`,
        },
      ],
    });
  }
  const limit = q.limit ?? 50;
  const offset =
    q.cursor !== undefined ? decodeCursor(q.cursor) : q.page !== undefined ? (q.page - 1) * limit : (q.offset ?? 0);
  return { limit, offset };
}

// What a page that was read by key (src/lib/list-query.ts) knows better than offset arithmetic: how many
// rows it holds and the cursors anchored on its first and last rows.
export interface KeyedPage {
  returned: number;
  nextCursor: string | null;
  prevCursor: string | null;
}

export function paginate(total: number, limit: number, offset: number, keyed?: KeyedPage): Pagination {
  const hasNext = offset + (keyed ? keyed.returned : limit) < total;
  const hasPrev = offset > 0;
  return {
    total,
    limit,
    offset,
    page: Math.floor(offset / limit) + 1,
    pages: Math.max(1, Math.ceil(total / limit)),
    has_next: hasNext,
    has_prev: hasPrev,
    next_cursor: !hasNext ? null : keyed ? keyed.nextCursor : encodeCursor(offset + limit),
    prev_cursor: !hasPrev ? null : keyed ? keyed.prevCursor : encodeCursor(Math.max(0, offset - limit)),
  };
}

// Headers every list answer carries besides its envelope: the total (`X-Total-Count`) and RFC 8288 links to
// the first, previous and next pages (the request's own URL with its window replaced by a cursor).
export function paginationHeaders(requestUrl: string, p: Pagination): Record<string, string> {
  const link = (rel: string, cursor: string | null) => {
    const url = new URL(requestUrl);
    for (const name of ['offset', 'page', 'cursor']) url.searchParams.delete(name);
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links = [link('first', null)];
  if (p.prev_cursor !== null) links.push(link('prev', p.prev_cursor));
  if (p.next_cursor !== null) links.push(link('next', p.next_cursor));
  return { 'X-Total-Count': String(p.total), Link: links.join(', ') };
}
