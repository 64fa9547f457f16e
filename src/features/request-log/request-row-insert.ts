import { type NewRequestRow, REQUEST_STATUSES } from '../../db/schema';

// The one plain INSERT of a `requests` row outside the query builder: the request-log consumer writes the
// rows its events carry, and an isolate writes the few rows that cannot travel on the queue. The query
// builder cost ~90 µs a row. Why: docs/design/request-log.md#the-event
const COLUMNS = [
  'user_id',
  'organization_id',
  'dialect',
  'text',
  'response',
  'model',
  'provider',
  'status',
  'error_code',
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'latency_ms',
  'ttft_ms',
  'cost_usd',
  'stream',
  'attempts',
  'cache_status',
  'request_id',
  'created_at',
  'updated_at',
] as const;

const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

// The row is written after the call, possibly after its user or organization was deleted: a reference
// that no longer exists becomes NULL, as ON DELETE SET NULL would have made it, instead of failing the
// whole delivery on the foreign key. The row keeps the time its call settled, not the time it is written.
const SELECT_VALUES = [
  '(SELECT id FROM users WHERE id = ?)',
  '(SELECT id FROM organizations WHERE id = ?)',
  ...COLUMNS.slice(2, -2).map(() => '?'),
  `COALESCE(?, ${NOW})`,
  `COALESCE(?, ${NOW})`,
].join(', ');

/** INSERT … SELECT of one row; `where` (without the keyword) adds a condition with its own parameters. */
export function insertRequestRowSql(where?: string): string {
  return `INSERT INTO requests (${COLUMNS.join(', ')}) SELECT ${SELECT_VALUES}${where ? ` WHERE ${where}` : ''}`;
}

// The same INSERT for many rows in one statement: its one parameter is a JSON array of rows, each the array
// requestRowValues() makes followed by `extra` more values, read as `value` of json_each; `where` may use
// `$.n` paths through the `col(n)` it is given. One statement instead of one per row: the request-log
// consumer's D1 work per event is most of its cost. Why: docs/design/request-log.md#the-consumer
export const jsonColumn = (n: number) => `json_extract(value, '$[${n}]')`;

export function insertRequestRowsFromJsonSql(where?: string): string {
  const values = [
    `(SELECT id FROM users WHERE id = ${jsonColumn(0)})`,
    `(SELECT id FROM organizations WHERE id = ${jsonColumn(1)})`,
    ...COLUMNS.slice(2, -2).map((_, i) => jsonColumn(i + 2)),
    `COALESCE(${jsonColumn(COLUMNS.length - 2)}, ${NOW})`,
    `COALESCE(${jsonColumn(COLUMNS.length - 1)}, ${NOW})`,
  ].join(', ');
  return `INSERT INTO requests (${COLUMNS.join(', ')}) SELECT ${values} FROM json_each(?)${where ? ` WHERE ${where}` : ''} ORDER BY key`;
}

export const REQUEST_ROW_WIDTH = COLUMNS.length;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const int = (v: unknown, fallback: number): number => Math.trunc(num(v, fallback));

const isStatus = (v: unknown): v is NewRequestRow['status'] =>
  typeof v === 'string' && (REQUEST_STATUSES as readonly string[]).includes(v);

/**
 * The statement's parameters for a row, in column order; undefined when a required field is missing or
 * malformed (rows arrive as JSON from the queue, and one bad row must not fail a whole delivery).
 */
export function requestRowValues(row: unknown): (string | number | null)[] | undefined {
  if (typeof row !== 'object' || row === null) return undefined;
  const r = row as Partial<Record<keyof NewRequestRow, unknown>>;
  const dialect = str(r.dialect);
  const text = str(r.text);
  const model = str(r.model);
  const provider = str(r.provider);
  if (dialect === null || text === null || model === null || provider === null || !isStatus(r.status)) return undefined;
  const ttft = r.ttftMs;
  const createdAt = str(r.createdAt);
  return [
    str(r.userId),
    str(r.organizationId),
    dialect,
    text,
    str(r.response),
    model,
    provider,
    r.status,
    str(r.errorCode),
    int(r.promptTokens, 0),
    int(r.completionTokens, 0),
    int(r.totalTokens, 0),
    int(r.latencyMs, 0),
    typeof ttft === 'number' && Number.isFinite(ttft) ? Math.trunc(ttft) : null,
    num(r.costUsd, 0),
    r.stream === true ? 1 : 0,
    int(r.attempts, 1),
    str(r.cacheStatus),
    str(r.requestId),
    createdAt,
    createdAt,
  ];
}
