import { loadConfig } from '../../config';
import { createLogger, describeError } from '../../lib/log';
import { DAY_MS, minuteKey } from './buckets';

// The request log's fine-grained data is pruned on a cron trigger (wrangler.toml [triggers]): request_events
// after REQUEST_EVENTS_RETENTION_DAYS, minute rollups after MINUTE_ROLLUPS_RETENTION_DAYS. Day rollups and
// the daily histograms (what /metrics and the daily analytics read) are kept.
// Why: docs/design/analytics.md#the-scheduled-cleanup

// Rows per DELETE: one statement stays short (D1 runs statements one at a time, and a long one holds up
// every other writer), and the loop stops between statements when its time is up.
export const CLEANUP_BATCH_ROWS = 1_000;
// Wall time one run may spend deleting; what is left goes at the next trigger.
export const CLEANUP_BUDGET_MS = 20_000;

// Oldest first through the ts index; rowid subquery because SQLite's DELETE … LIMIT is not compiled in.
const DELETE_EVENTS = `DELETE FROM request_events WHERE rowid IN (SELECT rowid FROM request_events WHERE ts < ?1 ORDER BY ts LIMIT ?2)`;
const DELETE_MINUTE_ROLLUPS = `DELETE FROM rollups WHERE rowid IN (SELECT rowid FROM rollups WHERE period = 'minute' AND period_start < ?1 LIMIT ?2)`;

export interface CleanupResult {
  request_events: number;
  minute_rollups: number;
  // False when the time budget ran out with old rows possibly left.
  complete: boolean;
}

export interface CleanupOptions {
  eventsRetentionDays: number;
  minuteRollupsRetentionDays: number;
  now?: number;
  batchRows?: number;
  budgetMs?: number;
}

export async function pruneRequestLog(d1: D1Database, o: CleanupOptions): Promise<CleanupResult> {
  const now = o.now ?? Date.now();
  const batchRows = o.batchRows ?? CLEANUP_BATCH_ROWS;
  const deadline = Date.now() + (o.budgetMs ?? CLEANUP_BUDGET_MS);
  const jobs = [
    { key: 'request_events', sql: DELETE_EVENTS, cutoff: now - o.eventsRetentionDays * DAY_MS },
    {
      key: 'minute_rollups',
      sql: DELETE_MINUTE_ROLLUPS,
      cutoff: minuteKey(now - o.minuteRollupsRetentionDays * DAY_MS),
    },
  ] as const;
  const result: CleanupResult = { request_events: 0, minute_rollups: 0, complete: true };
  for (const job of jobs) {
    const statement = d1.prepare(job.sql);
    for (;;) {
      if (Date.now() >= deadline) return { ...result, complete: false };
      const { meta } = await statement.bind(job.cutoff, batchRows).run();
      result[job.key] += meta.changes;
      if (meta.changes < batchRows) break;
    }
  }
  return result;
}

// The worker's `scheduled` handler: one cleanup per trigger. A failure is logged; the next trigger retries.
export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const log = createLogger({ cron: controller.cron });
  try {
    const config = loadConfig(env);
    const result = await pruneRequestLog(env.DB, {
      eventsRetentionDays: config.REQUEST_EVENTS_RETENTION_DAYS,
      minuteRollupsRetentionDays: config.MINUTE_ROLLUPS_RETENTION_DAYS,
      now: controller.scheduledTime,
    });
    log.info('request log pruned', { ...result });
  } catch (err) {
    log.error('request log cleanup failed', { error: describeError(err) });
    throw err;
  }
}
