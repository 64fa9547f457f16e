import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import {
  integrationOperations,
  orchestrationPhases,
  orchestrationRuns,
  runEvents,
  type PhaseStatus,
  type RunStatus,
} from '../../db/schema';
import { isoNow } from '../../lib/time';

// A run's rows in D1: the run, its phases, its integration operations and its numbered progress events.
// The Workflow's steps and the routes both go through here.

export type RunRow = typeof orchestrationRuns.$inferSelect;
export type PhaseRow = typeof orchestrationPhases.$inferSelect;
export type OperationRow = typeof integrationOperations.$inferSelect;
export type RunEventRow = typeof runEvents.$inferSelect;

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];
export const isTerminal = (status: RunStatus) => TERMINAL_RUN_STATUSES.includes(status);

export function getRun(db: Database, runId: string): Promise<RunRow | undefined> {
  return db.select().from(orchestrationRuns).where(eq(orchestrationRuns.id, runId)).get();
}

export function getPhases(db: Database, runId: string): Promise<PhaseRow[]> {
  return db
    .select()
    .from(orchestrationPhases)
    .where(eq(orchestrationPhases.runId, runId))
    .orderBy(asc(orchestrationPhases.position))
    .all();
}

export function getOperations(db: Database, runId: string): Promise<OperationRow[]> {
  return db
    .select()
    .from(integrationOperations)
    .where(eq(integrationOperations.runId, runId))
    .orderBy(asc(integrationOperations.createdAt))
    .all();
}

export async function runStatus(db: Database, runId: string): Promise<RunStatus | undefined> {
  const row = await db
    .select({ status: orchestrationRuns.status })
    .from(orchestrationRuns)
    .where(eq(orchestrationRuns.id, runId))
    .get();
  return row?.status;
}

// Appends one event with the run's next number, in one statement (so two writers never take one number).
export async function appendEvent(
  db: Database,
  runId: string,
  type: string,
  data: Record<string, unknown>,
): Promise<void> {
  await db.run(
    sql`INSERT INTO run_events (run_id, seq, type, data)
        SELECT ${runId}, COALESCE(MAX(seq), 0) + 1, ${type}, ${JSON.stringify(data)} FROM run_events WHERE run_id = ${runId}`,
  );
}

export function eventsAfter(db: Database, runId: string, after: number, limit = 500): Promise<RunEventRow[]> {
  return db
    .select()
    .from(runEvents)
    .where(and(eq(runEvents.runId, runId), gt(runEvents.seq, after)))
    .orderBy(asc(runEvents.seq))
    .limit(limit)
    .all();
}

// Moves a run to `status` unless it has already ended (a cancel wins over a step finishing meanwhile).
export async function setRunStatus(
  db: Database,
  runId: string,
  status: RunStatus,
  extra: Partial<Pick<RunRow, 'executionTimeMs' | 'error' | 'completedAt'>> = {},
): Promise<boolean> {
  const changed = await db
    .update(orchestrationRuns)
    .set({ status, updatedAt: isoNow(), ...extra })
    .where(
      and(
        eq(orchestrationRuns.id, runId),
        sql`${orchestrationRuns.status} NOT IN ('completed', 'failed', 'cancelled')`,
      ),
    )
    .returning({ id: orchestrationRuns.id })
    .all();
  return changed.length > 0;
}

export async function setPhase(
  db: Database,
  phaseId: string,
  fields: Partial<Omit<PhaseRow, 'id' | 'runId' | 'position' | 'phaseCode' | 'phaseName'>>,
): Promise<void> {
  await db.update(orchestrationPhases).set(fields).where(eq(orchestrationPhases.id, phaseId)).run();
}

// Phases that have not ended take the run's end (`cancelled` or `skipped`).
export async function closeOpenPhases(db: Database, runId: string, status: PhaseStatus): Promise<void> {
  await db
    .update(orchestrationPhases)
    .set({ status, completedAt: isoNow() })
    .where(and(eq(orchestrationPhases.runId, runId), inArray(orchestrationPhases.status, ['pending', 'running'])))
    .run();
}

// The run's counters from its phases: completed phases, and completed ÷ ended in percent.
export async function refreshCounters(db: Database, runId: string): Promise<void> {
  await db.run(
    sql`UPDATE orchestration_runs SET
          completed_phases = (SELECT COUNT(*) FROM orchestration_phases WHERE run_id = ${runId} AND status = 'completed'),
          success_rate = (SELECT CASE WHEN COUNT(*) = 0 THEN NULL
                            ELSE ROUND(100.0 * SUM(status = 'completed') / COUNT(*), 1) END
                          FROM orchestration_phases WHERE run_id = ${runId} AND status IN ('completed', 'failed')),
          updated_at = ${isoNow()}
        WHERE id = ${runId}`,
  );
}

// The run's Workflow is alive (recover.ts reads it).
export async function beat(db: Database, runId: string): Promise<void> {
  await db.update(orchestrationRuns).set({ heartbeatAt: isoNow() }).where(eq(orchestrationRuns.id, runId)).run();
}

// Whether a phase's milestone is already in the run's events (a new instance replaying a finished phase).
export async function hasPhaseEvent(db: Database, runId: string, type: string, phaseCode: string): Promise<boolean> {
  const row = await db
    .select({ seq: runEvents.seq })
    .from(runEvents)
    .where(
      and(
        eq(runEvents.runId, runId),
        eq(runEvents.type, type),
        sql`json_extract(${runEvents.data}, '$.phase_code') = ${phaseCode}`,
      ),
    )
    .get();
  return row !== undefined;
}
