import type { NewRequestRow } from '../../db/schema';

// Column order of the one INSERT every background-recorded call uses. A plain prepared statement:
// the query builder cost ~90 µs a row on the request's thread (bench/RESULTS.md).
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
] as const;

const INSERT = `INSERT INTO requests (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;

function values(r: NewRequestRow): (string | number | null)[] {
  return [
    r.userId ?? null,
    r.organizationId ?? null,
    r.dialect,
    r.text,
    r.response ?? null,
    r.model,
    r.provider,
    r.status,
    r.errorCode ?? null,
    r.promptTokens ?? 0,
    r.completionTokens ?? 0,
    r.totalTokens ?? 0,
    r.latencyMs ?? 0,
    r.ttftMs ?? null,
    r.costUsd ?? 0,
    r.stream ? 1 : 0,
    r.attempts ?? 1,
    r.cacheStatus ?? null,
    r.requestId ?? null,
  ];
}

const FLUSH_AFTER_MS = 20;
const MAX_BATCH = 50;

interface Batch {
  d1: D1Database;
  rows: NewRequestRow[];
  done: Promise<void>;
  flush: () => void;
}

// Rows of one isolate are written together: one D1 batch (one transaction) per 20 ms or 50 rows
// instead of one write per call. Each caller hands `done` to waitUntil, so the invocation that
// produced a row stays alive until it is written.
let current: Batch | undefined;

function open(d1: D1Database): Batch {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const batch: Batch = {
    d1,
    rows: [],
    flush: release,
    done: gate.then(async () => {
      if (current === batch) current = undefined;
      const stmt = d1.prepare(INSERT);
      await d1.batch(batch.rows.map((r) => stmt.bind(...values(r))));
    }),
  };
  setTimeout(release, FLUSH_AFTER_MS);
  return batch;
}

export function logRequest(d1: D1Database, row: NewRequestRow): Promise<void> {
  if (!current || current.d1 !== d1) current = open(d1);
  const batch = current;
  batch.rows.push(row);
  if (batch.rows.length >= MAX_BATCH) batch.flush();
  return batch.done;
}
