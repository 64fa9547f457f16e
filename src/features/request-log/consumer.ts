import { insertRequestRowsFromJsonSql, jsonColumn, REQUEST_ROW_WIDTH, requestRowValues } from './request-row-insert';
import { createLogger, describeError } from '../../lib/log';
import type { RequestEvent } from './middleware';

// Histogram bucket bounds in milliseconds; '+Inf' catches the rest.
export const BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

const EVENT_COLUMNS = [
  'id',
  'batch_id',
  'request_id',
  'ts',
  'method',
  'route',
  'status',
  'latency_ms',
  'upstream_ms',
  'overhead_ms',
  'organization_id',
  'user_id',
  'api_key_id',
  'dialect',
  'model',
  'provider',
  'prompt_tokens',
  'completion_tokens',
  'cost_usd',
  'cache_status',
  'error_code',
  'ttft_ms',
  'stream',
  'rate_limited',
  'quota_exceeded',
] as const;

// A redelivered event keeps the row (and batch id) of the delivery that first inserted it. Many events per
// statement: its one parameter is a JSON array of eventValues() arrays.
const INSERT_EVENTS = `INSERT OR IGNORE INTO request_events (${EVENT_COLUMNS.join(', ')}) SELECT ${EVENT_COLUMNS.map((_, i) => jsonColumn(i)).join(', ')} FROM json_each(?) ORDER BY key`;

// Rollups and histograms add exactly the rows this delivery inserted (WHERE batch_id = ?), so an
// event seen twice is counted once. Upsert-from-SELECT needs the WHERE clause SQLite asks for.
const ROLLUP_KEY =
  'period, period_start, method, route, status, model, provider, organization_id, cache_status, error_code';

const rollupUpsert = (period: 'minute' | 'day', periodStart: string) => `
INSERT INTO rollups (${ROLLUP_KEY}, count, latency_ms_sum, overhead_ms_sum, prompt_tokens, completion_tokens, cost_usd)
SELECT '${period}', ${periodStart}, method, route, status, COALESCE(model, ''), COALESCE(provider, ''),
  COALESCE(organization_id, ''), COALESCE(cache_status, ''), COALESCE(error_code, ''),
  COUNT(*), SUM(latency_ms), SUM(overhead_ms), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd)
FROM request_events WHERE batch_id = ?
GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10
ON CONFLICT (${ROLLUP_KEY}) DO UPDATE SET
  count = count + excluded.count,
  latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
  overhead_ms_sum = overhead_ms_sum + excluded.overhead_ms_sum,
  prompt_tokens = prompt_tokens + excluded.prompt_tokens,
  completion_tokens = completion_tokens + excluded.completion_tokens,
  cost_usd = cost_usd + excluded.cost_usd`;

const MINUTE = `strftime('%Y-%m-%dT%H:%MZ', ts / 1000, 'unixepoch')`;
const DAY = `strftime('%Y-%m-%d', ts / 1000, 'unixepoch')`;

const bucketOf = (column: string) =>
  `CASE ${BUCKETS_MS.map((le) => `WHEN ${column} <= ${le} THEN '${le}'`).join(' ')} ELSE '+Inf' END`;

const histogramUpsert = (metric: string, column: string) => `
INSERT INTO histograms (metric, day, method, route, le, count, sum_ms)
SELECT '${metric}', ${DAY}, method, route, ${bucketOf(column)}, COUNT(*), SUM(${column})
FROM request_events WHERE batch_id = ? AND ${column} IS NOT NULL
GROUP BY 2, 3, 4, 5
ON CONFLICT (metric, day, method, route, le) DO UPDATE SET
  count = count + excluded.count,
  sum_ms = sum_ms + excluded.sum_ms`;

// An event's `requests` rows are written only if this delivery inserted the event (its row carries
// this delivery's batch id): a redelivered event adds no second row, like it adds no second count.
const INSERT_CALL_ROWS = insertRequestRowsFromJsonSql(
  `EXISTS (SELECT 1 FROM request_events WHERE id = ${jsonColumn(REQUEST_ROW_WIDTH)} AND batch_id = ${jsonColumn(REQUEST_ROW_WIDTH + 1)})`,
);

// D1 caps a string parameter (and a row) at 2 MB: the JSON of a statement stays well under it.
const MAX_JSON_CHARS = 512 * 1024;

// Arrays grouped so each group's JSON stays under MAX_JSON_CHARS (a single larger item goes alone).
export function jsonChunks(items: readonly unknown[][]): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const item of items) {
    const json = JSON.stringify(item);
    if (current.length > 0 && size + json.length + 1 > MAX_JSON_CHARS) {
      chunks.push(`[${current.join(',')}]`);
      current = [];
      size = 2;
    }
    current.push(json);
    size += json.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(',')}]`);
  return chunks;
}

const AGGREGATES = [
  rollupUpsert('minute', MINUTE),
  rollupUpsert('day', DAY),
  histogramUpsert('request_duration', 'latency_ms'),
  histogramUpsert('gateway_overhead', 'overhead_ms'),
  histogramUpsert('ttft', 'ttft_ms'),
];

function isRequestEvent(body: unknown): body is RequestEvent {
  if (typeof body !== 'object' || body === null) return false;
  const e = body as Partial<RequestEvent>;
  return (
    e.kind === 'request' &&
    typeof e.id === 'string' &&
    e.id.length > 0 &&
    typeof e.ts === 'number' &&
    typeof e.method === 'string' &&
    typeof e.route === 'string' &&
    typeof e.status === 'number' &&
    typeof e.latency_ms === 'number'
  );
}

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function eventValues(e: RequestEvent, batchId: string): (string | number | null)[] {
  return [
    e.id,
    batchId,
    str(e.request_id) ?? '',
    Math.trunc(e.ts),
    e.method,
    e.route,
    Math.trunc(e.status),
    num(e.latency_ms),
    numOrNull(e.upstream_ms),
    num(e.overhead_ms, num(e.latency_ms)),
    str(e.organization_id),
    str(e.user_id),
    str(e.api_key_id),
    str(e.dialect),
    str(e.model),
    str(e.provider),
    Math.trunc(num(e.prompt_tokens)),
    Math.trunc(num(e.completion_tokens)),
    num(e.cost_usd),
    str(e.cache_status),
    str(e.error_code),
    numOrNull(e.ttft_ms),
    e.stream === true ? 1 : 0,
    e.rate_limited === true ? 1 : 0,
    e.quota_exceeded === true ? 1 : 0,
  ];
}

// One delivery of the request log, written in one D1 batch (one transaction): the events, the AI calls'
// `requests` rows of the events it inserted, then the rollups and histograms computed from what this
// delivery inserted. If the write fails, the whole
// batch is retried; after max_retries it goes to the dead-letter queue (wrangler.toml).
// Why: docs/design/request-log.md#the-consumer-one-transaction-per-delivery-idempotent
export async function handleQueue(batch: MessageBatch<unknown>, env: Pick<Env, 'DB'>): Promise<void> {
  const log = createLogger({ queue: batch.queue });
  // Keyed by event id: a message duplicated within one delivery is one event (and writes its rows once).
  const unique = new Map<string, RequestEvent>();
  for (const message of batch.messages) {
    if (isRequestEvent(message.body)) {
      if (!unique.has(message.body.id)) unique.set(message.body.id, message.body);
    } else if ((message.body as { kind?: unknown } | null)?.kind !== 'probe') {
      log.warn('request log message dropped: not a request event', { message_id: message.id });
    }
  }
  const events = [...unique.values()];
  if (events.length === 0) return;
  const batchId = crypto.randomUUID();
  const d1 = env.DB;
  const rows: (string | number | null)[][] = [];
  for (const e of events) {
    for (const call of Array.isArray(e.calls) ? e.calls : []) {
      const values = requestRowValues(call);
      if (values) rows.push([...values, e.id, batchId]);
      else log.warn('request row dropped: malformed', { event_id: e.id });
    }
  }
  const insertEvents = d1.prepare(INSERT_EVENTS);
  const insertRows = d1.prepare(INSERT_CALL_ROWS);
  try {
    await d1.batch([
      ...jsonChunks(events.map((e) => eventValues(e, batchId))).map((json) => insertEvents.bind(json)),
      ...jsonChunks(rows).map((json) => insertRows.bind(json)),
      ...AGGREGATES.map((sql) => d1.prepare(sql).bind(batchId)),
    ]);
  } catch (err) {
    log.error('request log batch failed; retrying', {
      error: describeError(err),
      messages: batch.messages.length,
      attempts: Math.max(...batch.messages.map((m) => m.attempts)),
    });
    batch.retryAll();
  }
}
