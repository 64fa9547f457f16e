import { insertRequestRowSql, requestRowValues } from './request-row-insert';
import type { NewRequestRow } from '../../db/schema';
import { microBatcher } from '../../lib/micro-batch';

const INSERT = insertRequestRowSql();

// The exception to "rows travel on the queue": a row whose event would not fit in a queue message, or
// whose event cannot be sent (no REQUEST_LOG binding, or the send failed), is written by the isolate,
// after the answer (in waitUntil), one D1 batch per 20 ms or 50 rows.
// Why: docs/design/request-log.md#failure-modes
export const writeRowsDirectly = microBatcher<D1Database, NewRequestRow>({
  flushAfterMs: 20,
  maxItems: 50,
  write: async (d1, rows) => {
    const stmt = d1.prepare(INSERT);
    const bound = rows.flatMap((r) => {
      const values = requestRowValues(r);
      return values ? [stmt.bind(...values)] : [];
    });
    if (bound.length > 0) await d1.batch(bound);
  },
});
