import { and, eq, isNull } from 'drizzle-orm';
import type { Config } from '../../config';
import { getDb } from '../../db/client';
import { orchestrationRuns } from '../../db/schema';
import type { Logger } from '../../lib/log';
import { isoNow } from '../../lib/time';
import { appendEvent, type RunRow } from './run-store';

// A run whose Workflow instance has stopped without ending it — `wrangler dev` stopped mid-phase: the local
// engine does not resume an instance that was in flight when its process died — is handed to a new instance
// of the same run. The steps are idempotent over D1 (a completed phase is not called again, an announced
// milestone not announced twice), so the new instance continues where the old one stopped.
// Checked when someone looks at the run. Why: docs/design/orchestration.md

export async function recoverIfStalled(env: Env, config: Config, log: Logger, run: RunRow): Promise<boolean> {
  if (run.status !== 'started' && run.status !== 'running') return false;
  const lastSign = run.heartbeatAt ?? run.updatedAt;
  if (Date.now() - Date.parse(lastSign) < config.ORCHESTRATION_STALL_SECONDS * 1000) return false;
  const db = getDb(env.DB);
  // One recoverer: the one whose conditional update finds the heartbeat it read.
  const claimed = await db
    .update(orchestrationRuns)
    .set({ heartbeatAt: isoNow() })
    .where(
      and(
        eq(orchestrationRuns.id, run.id),
        run.heartbeatAt === null
          ? isNull(orchestrationRuns.heartbeatAt)
          : eq(orchestrationRuns.heartbeatAt, run.heartbeatAt),
      ),
    )
    .returning({ id: orchestrationRuns.id })
    .all();
  if (claimed.length === 0) return false;
  try {
    const old = await env.ORCHESTRATION.get(run.workflowInstanceId ?? run.id);
    // An instance that is still alive somewhere must not run beside the new one.
    await old.terminate().catch(() => undefined);
    const next = `${run.id}-r${Date.now().toString(36)}`;
    await env.ORCHESTRATION.create({ id: next, params: { runId: run.id } });
    await db.update(orchestrationRuns).set({ workflowInstanceId: next }).where(eq(orchestrationRuns.id, run.id)).run();
    await appendEvent(db, run.id, 'orchestration.resumed', { run_id: run.id, instance: next });
    log.warn('stalled run handed to a new Workflow instance', { runId: run.id, instance: next });
    return true;
  } catch (err) {
    log.error('stalled run not recovered', { runId: run.id, error: String(err) });
    return false;
  }
}
