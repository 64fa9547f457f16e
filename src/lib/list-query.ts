import { z } from '@hono/zod-openapi';
import { and, asc, desc, eq, inArray, not, or, sql, type Column, type SQL } from 'drizzle-orm';
import { ApiError, type ErrorDetail } from './errors';
import { assertOneWindow, paginate, type Pagination, PaginationQuery } from './pagination';

// The one reader of list queries (API.md "Pagination, filtering, sorting"): limit and one of offset, page or
// cursor; filters (exact, several comma-separated values, created_after/created_before, search); sorting
// (`sort=priority,-created_at`, or seed 002's `sort=created_at&order=desc`). Each endpoint declares what it
// sorts and filters by; anything else in `sort`, or a filter value outside its enum, is a 400 naming the
// field. Cursors are keyset cursors (the last row's sort key and id), so walking a list that changes
// underneath neither repeats nor skips a row. Why and how: docs/design/list-queries.md

export type SortValue = string | number;

export interface SortField<Row> {
  // A NOT NULL column or expression: the keyset comparisons below assume no NULLs.
  expr: Column | SQL;
  type: 'string' | 'number';
  // The row's value of `expr` as the query returns it; the cursor carries it.
  key: (row: Row) => SortValue;
}

export type Filter =
  // ?status=active or ?status=active,completed: each value one of `values`.
  | { kind: 'enum'; column: Column; values: readonly string[] }
  // ?is_public=true|false
  | { kind: 'boolean'; column: Column }
  // ?category=a,b: free values compared exactly (each at most `max` characters).
  | { kind: 'exact'; column: Column; max: number };

export interface ListSpec<Row> {
  sortable: Record<string, SortField<Row>>;
  // In the `sort` syntax, e.g. '-created_at'.
  defaultSort: string;
  // The unique last key that makes every order total (the primary key).
  id: SortField<Row>;
  filters?: Record<string, Filter>;
  // ?search=: a substring of any of these (LIKE, case-insensitive for ASCII, wildcards escaped).
  search?: readonly Column[];
  // ?created_after= (inclusive) and ?created_before= (exclusive) compare this ISO 8601 text column.
  created?: Column;
}

export interface SortKey {
  field: string;
  desc: boolean;
}

export interface ListQuery<Row> {
  limit: number;
  // The filters (AND the endpoint's own scope to it).
  where: SQL | undefined;
  // Where a cursor says the page starts; undefined without one.
  seek: SQL | undefined;
  orderBy: SQL[];
  // Rows to read: one more than `limit`, which tells whether there is more.
  fetch: number;
  // SQL OFFSET: the offset or page asked for; 0 with a cursor.
  offset: number;
  // Over the filtered rows (WHERE scope AND where, without seek): how many come before the page.
  before: SQL.Aliased<number>;
  // The page's rows in order and its envelope, from the rows read and the two counts.
  finish(rows: Row[], counts: { total: number; before: number }): { data: Row[]; pagination: Pagination };
}

export const MAX_SEARCH_CHARS = 200;
const MAX_CURSOR_CHARS = 4096;
const MAX_FILTER_VALUES = 20;

const invalid = (details: ErrorDetail[]) => new ApiError('VALIDATION_ERROR', undefined, { details });

// ---------------------------------------------------------------------------------------------------------
// Sorting

// `sort` is comma-separated fields, each optionally prefixed `-` (descending) or `+` (ascending; a `+` sent
// unescaped arrives as a space, which is trimmed); `order` (seed 002) sets the direction of the fields given
// without a sign, or of the default sort's when `sort` is absent.
export function parseSort(
  sort: string | undefined,
  order: 'asc' | 'desc' | undefined,
  fields: readonly string[],
  defaultSort: string,
): SortKey[] {
  const given = sort !== undefined && sort.trim() !== '';
  const text = given ? sort : defaultSort;
  if (text.trim() === '') return [];
  const keys: SortKey[] = [];
  const problems: string[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    const sign = item.startsWith('-') ? '-' : item.startsWith('+') ? '+' : '';
    const field = item.slice(sign.length).trim();
    if (field === '') problems.push('Empty sort field');
    else if (!fields.includes(field)) {
      problems.push(`Unknown sort field "${field.slice(0, 50)}"; sortable: ${fields.join(', ')}`);
    } else if (keys.some((k) => k.field === field)) problems.push(`"${field}" is given twice`);
    else keys.push({ field, desc: sign === '-' || (sign === '' && order === 'desc') });
  }
  if (problems.length > 0) throw invalid([{ field: 'sort', message: problems.join('; ') }]);
  return keys;
}

export const sortSignature = (keys: readonly SortKey[]) => keys.map((k) => `${k.desc ? '-' : ''}${k.field}`).join(',');

// For lists held in memory (the model catalogue): a comparator for parsed sort keys.
export function compareBy<Row>(
  keys: readonly SortKey[],
  valueOf: Record<string, (row: Row) => SortValue>,
): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const k of keys) {
      const get = valueOf[k.field];
      if (!get) continue;
      const x = get(a);
      const y = get(b);
      const c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  };
}

// The query parameters for sorting, documented with the endpoint's fields.
export function sortParams(fields: readonly string[], defaultSort: string) {
  return {
    sort: z
      .string()
      .max(200)
      .optional()
      .openapi({
        description: `Comma-separated fields, \`-\` for descending: ${fields.join(', ')}. Default: ${defaultSort || 'as stored'}`,
        example: defaultSort || fields[0],
      }),
    order: z
      .enum(['asc', 'desc'])
      .optional()
      .openapi({ description: 'Direction of the sort fields given without a sign (seed 002)' }),
  };
}

// ORDER BY by rank rather than alphabetically: the position of the column's value in `values`.
export function rankOf(column: Column, values: readonly string[]): SQL {
  // Inlined, not bound: the values are the code's own constants, and D1 allows 100 bound parameters a
  // statement, which a rank repeated in ORDER BY and a cursor's comparisons would eat into.
  const cases = values.map((v, i) => sql.raw(`WHEN '${v.replace(/'/g, "''")}' THEN ${i}`));
  return sql`(CASE ${column} ${sql.join(cases, sql` `)} ELSE ${sql.raw(String(values.length))} END)`;
}

// ---------------------------------------------------------------------------------------------------------
// Cursors: base64url of {s: the sort they were made for, d: next or previous, k: the anchor row's keys}.

const CursorBody = z
  .object({
    s: z.string(),
    d: z.enum(['n', 'p']),
    k: z.array(z.union([z.string(), z.number()])),
  })
  .strict();
type CursorBody = z.infer<typeof CursorBody>;

function toBase64Url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(
    Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
  );
}

const badCursor = (message = 'Invalid cursor') => invalid([{ field: 'cursor', message }]);

function decodeCursor(text: string, signature: string, types: readonly SortField<unknown>['type'][]): CursorBody {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error('not base64url');
    parsed = JSON.parse(fromBase64Url(text));
  } catch {
    throw badCursor();
  }
  const body = CursorBody.safeParse(parsed);
  if (!body.success || body.data.k.length !== types.length) throw badCursor();
  if (!body.data.k.every((v, i) => (types[i] === 'number' ? Number.isFinite(v) : typeof v === 'string'))) {
    throw badCursor();
  }
  if (body.data.s !== signature) throw badCursor('This cursor was made for another sort order');
  return body.data;
}

// ---------------------------------------------------------------------------------------------------------
// Filters

function listValues(raw: string, field: string, max: number, problems: ErrorDetail[]): string[] {
  const values = raw.split(',').map((v) => v.trim());
  if (values.some((v) => v === '')) problems.push({ field, message: 'Empty value in the list' });
  else if (values.length > MAX_FILTER_VALUES) problems.push({ field, message: `At most ${MAX_FILTER_VALUES} values` });
  else if (values.some((v) => v.length > max))
    problems.push({ field, message: `Values are at most ${max} characters` });
  else return [...new Set(values)];
  return [];
}

function filterCondition(name: string, filter: Filter, raw: string, problems: ErrorDetail[]): SQL | undefined {
  if (filter.kind === 'boolean') {
    if (raw !== 'true' && raw !== 'false') {
      problems.push({ field: name, message: 'Must be true or false' });
      return undefined;
    }
    return eq(filter.column, raw === 'true');
  }
  const values = listValues(raw, name, filter.kind === 'exact' ? filter.max : 100, problems);
  if (values.length === 0) return undefined;
  if (filter.kind === 'enum') {
    const outside = values.filter((v) => !filter.values.includes(v));
    if (outside.length > 0) {
      problems.push({
        field: name,
        message: `"${(outside[0] ?? '').slice(0, 50)}" is not one of: ${filter.values.join(', ')}`,
      });
      return undefined;
    }
  }
  return values.length === 1 ? eq(filter.column, values[0]) : inArray(filter.column, values);
}

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+\- ]\d{2}:?\d{2})?)?$/i;

// ISO 8601 date (midnight UTC) or date-time (UTC when no offset is given) → the stored format
// (`2024-01-01T00:00:00.000Z`), or undefined when it is not one or names a day that does not exist.
export function isoInstant(text: string): string | undefined {
  const m = ISO_INSTANT.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => Number(v ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number(`${m[7] ?? ''}000`.slice(0, 3));
  const at = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  if (
    at.getUTCFullYear() !== y ||
    at.getUTCMonth() !== mo - 1 ||
    at.getUTCDate() !== d ||
    at.getUTCHours() !== h ||
    at.getUTCMinutes() !== mi ||
    at.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  const zone = m[8];
  let shift = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    // A `+` sent unescaped in a query string arrives as a space.
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = Number(digits.slice(2));
    if (zh > 23 || zm > 59) return undefined;
    shift = sign * (zh * 60 + zm) * 60_000;
  }
  return new Date(at.getTime() - shift).toISOString();
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

// ---------------------------------------------------------------------------------------------------------
// The definition of one list endpoint: its query schema (for the route and the OpenAPI document) and its
// parser.

export interface ListDefinition<Row> {
  query: z.ZodObject<Record<string, z.ZodType>>;
  parse(raw: Record<string, unknown>): ListQuery<Row>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export function defineList<Row>(spec: ListSpec<Row>): ListDefinition<Row> {
  const fields = Object.keys(spec.sortable);
  parseSort(undefined, undefined, fields, spec.defaultSort); // a wrong default fails at startup, not per request
  const shape: Record<string, z.ZodType> = {
    ...PaginationQuery.shape,
    cursor: z
      .string()
      .max(MAX_CURSOR_CHARS)
      .optional()
      .openapi({ description: 'Opaque: next_cursor or prev_cursor of a previous page' }),
    ...sortParams(fields, spec.defaultSort),
  };
  if (spec.search) {
    shape.search = z
      .string()
      .max(MAX_SEARCH_CHARS)
      .optional()
      .openapi({ description: 'Text contained in any of the searched fields (case-insensitive)' });
  }
  if (spec.created) {
    shape.created_after = z
      .string()
      .max(40)
      .optional()
      .openapi({ description: 'ISO 8601 date or date-time: created at or after', example: '2024-01-01' });
    shape.created_before = z
      .string()
      .max(40)
      .optional()
      .openapi({ description: 'ISO 8601 date or date-time: created before', example: '2024-01-31' });
  }
  for (const [name, filter] of Object.entries(spec.filters ?? {})) {
    const description =
      filter.kind === 'enum'
        ? `One or several (comma-separated) of: ${filter.values.join(', ')}`
        : filter.kind === 'boolean'
          ? 'true or false'
          : 'One or several (comma-separated) values';
    shape[name] = z.string().max(2000).optional().openapi({ description });
  }
  return { query: z.object(shape), parse: (raw) => parseList(spec, fields, raw) };
}

function parseList<Row>(spec: ListSpec<Row>, fields: string[], raw: Record<string, unknown>): ListQuery<Row> {
  const limit = num(raw.limit) ?? 50;
  const window = { offset: num(raw.offset), page: num(raw.page), cursor: str(raw.cursor) };
  assertOneWindow(window);
  const order = raw.order === 'asc' || raw.order === 'desc' ? raw.order : undefined;
  const problems: ErrorDetail[] = [];
  let sortKeys: SortKey[] = [];
  try {
    sortKeys = parseSort(str(raw.sort), order, fields, spec.defaultSort);
  } catch (err) {
    // Reported with the filters' problems: one answer names every bad parameter.
    if (!(err instanceof ApiError) || !err.details) throw err;
    problems.push(...err.details);
  }
  const signature = sortSignature(sortKeys);

  const conditions: (SQL | undefined)[] = [];
  for (const [name, filter] of Object.entries(spec.filters ?? {})) {
    const value = str(raw[name]);
    if (value !== undefined) conditions.push(filterCondition(name, filter, value.trim(), problems));
  }
  if (spec.created) {
    for (const [name, op] of [
      ['created_after', '>='],
      ['created_before', '<'],
    ] as const) {
      const value = str(raw[name]);
      if (value === undefined) continue;
      const instant = isoInstant(value);
      if (instant === undefined) problems.push({ field: name, message: 'Must be an ISO 8601 date or date-time' });
      else conditions.push(sql`${spec.created} ${sql.raw(op)} ${instant}`);
    }
  }
  const search = str(raw.search)?.trim();
  if (spec.search && search !== undefined && search !== '') {
    const pattern = `%${escapeLike(search)}%`;
    conditions.push(or(...spec.search.map((column) => sql`${column} LIKE ${pattern} ESCAPE '\\'`)));
  }
  if (problems.length > 0) throw invalid(problems);

  // Every order ends with the id, so rows with equal keys still have one place in it.
  const keys = [
    ...sortKeys.map((k) => ({ ...(spec.sortable[k.field] as SortField<Row>), desc: k.desc })),
    { ...spec.id, desc: false },
  ];
  const cursor =
    window.cursor === undefined
      ? undefined
      : decodeCursor(
          window.cursor,
          signature,
          keys.map((k) => k.type),
        );
  const forward = cursor?.d !== 'p';
  // Backwards (a previous page) reads the order reversed, then turns the page round.
  const orderBy = keys.map((k) => (k.desc !== forward ? asc(k.expr) : desc(k.expr)));
  const offset = cursor ? 0 : window.page !== undefined ? (window.page - 1) * limit : (window.offset ?? 0);

  // Rows strictly after (forwards) or before (backwards) the anchor in this order.
  const beyond = (values: readonly SortValue[], forwards: boolean): SQL => {
    const alternatives = keys.map((k, i) => {
      const ahead = k.desc !== forwards ? sql`${k.expr} > ${values[i]}` : sql`${k.expr} < ${values[i]}`;
      const equal = keys.slice(0, i).map((e, j) => sql`${e.expr} = ${values[j]}`);
      return and(...equal, ahead) as SQL;
    });
    return sql`(${or(...alternatives)})`;
  };
  const seek = cursor ? beyond(cursor.k, forward) : undefined;
  // Before the page: the rows up to and including the anchor (forwards), or those before it (backwards).
  const counted = cursor ? (forward ? not(beyond(cursor.k, true)) : beyond(cursor.k, false)) : undefined;
  // Aliased: D1 names an unaliased column by its text, and drizzle's batch() then maps a column named like a
  // number ("50") to the wrong field.
  const before = (
    counted
      ? sql<number>`coalesce(sum(CASE WHEN ${counted} THEN 1 ELSE 0 END), 0)`
      : sql<number>`${sql.raw(String(offset))}`
  )
    .mapWith(Number)
    .as('list_before');

  const encode = (row: Row, d: 'n' | 'p') =>
    toBase64Url(JSON.stringify({ s: signature, d, k: keys.map((k) => k.key(row)) } satisfies CursorBody));

  return {
    limit,
    where: conditions.length > 0 ? and(...conditions) : undefined,
    seek,
    orderBy,
    fetch: limit + 1,
    offset,
    before,
    finish(rows, counts) {
      const data = rows.slice(0, limit);
      if (!forward) data.reverse();
      const start = forward ? counts.before : Math.max(0, counts.before - data.length);
      const first = data[0];
      const last = data[data.length - 1];
      return {
        data,
        pagination: paginate(counts.total, limit, cursor ? start : offset, {
          returned: data.length,
          nextCursor: last === undefined ? null : encode(last, 'n'),
          prevCursor: first === undefined ? null : encode(first, 'p'),
        }),
      };
    },
  };
}
