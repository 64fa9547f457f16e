import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { NonRetryableError } from 'cloudflare:workflows';
import { loadConfig } from '../../config';
import { getDb } from '../../db/client';
import { createLogger } from '../../lib/log';
import { isoNow } from '../../lib/time';
import { announce } from './announce';
import { writePhaseFile } from './integration';
import { PhaseFatal, runPhase } from './phase-step';
import {
  closeOpenPhases,
  getPhases,
  getRun,
  hasPhaseEvent,
  refreshCounters,
  runStatus,
  setPhase,
  setRunStatus,
} from './run-store';

// A run on Cloudflare Workflows: one durable step per phase, each retried by the engine with exponential
// backoff, so a run outlives any request and resumes after a restart from its last finished step.
// Why: docs/design/orchestration.md

export interface RunParams {
  runId: string;
}

const log = createLogger({ component: 'orchestration' });

export class OrchestrationWorkflow extends WorkflowEntrypoint<Env, RunParams> {
  override async run(event: Readonly<WorkflowEvent<RunParams>>, step: WorkflowStep): Promise<{ status: string }> {
    const { runId } = event.payload;
    const config = loadConfig(this.env);
    const deps = { env: this.env, config, log, waitUntil: (p: Promise<unknown>) => this.ctx.waitUntil(p) };
    const db = getDb(this.env.DB);

    const total = await step.do('start', async () => {
      const run = await getRun(db, runId);
      if (!run) throw new NonRetryableError(`run ${runId} not found`);
      if (run.status === 'started' && (await setRunStatus(db, runId, 'running'))) {
        await announce(deps, run, 'orchestration.started', { total_phases: run.totalPhases });
      }
      return run.totalPhases;
    });

    const began = Date.now();
    for (let position = 0; position < total; position++) {
      let outcome: Awaited<ReturnType<typeof runPhase>>;
      try {
        outcome = await step.do(
          `phase ${position}`,
          {
            retries: {
              limit: config.ORCHESTRATION_PHASE_RETRIES,
              delay: config.ORCHESTRATION_RETRY_DELAY_MS,
              backoff: 'exponential',
            },
            timeout: '10 minutes',
          },
          async (ctx) => {
            try {
              return await runPhase(deps, runId, position, ctx.attempt);
            } catch (err) {
              // What a retry cannot fix fails the step at once; anything else is retried by the engine.
              if (err instanceof PhaseFatal) throw new NonRetryableError(`${err.code}: ${err.message}`);
              throw err;
            }
          },
        );
      } catch (err) {
        await step.do(`fail ${position}`, async () => {
          await this.fail(deps, runId, position, err instanceof Error ? err.message : String(err), began);
          return null;
        });
        return { status: 'failed' };
      }
      if (outcome.status === 'cancelled') return { status: 'cancelled' };
      await step.do(`announce phase ${position}`, async () => {
        const run = await getRun(db, runId);
        const phase = (await getPhases(db, runId)).find((p) => p.position === position);
        if (run && phase && !(await hasPhaseEvent(db, runId, 'orchestration.phase_completed', phase.phaseCode))) {
          await announce(deps, run, 'orchestration.phase_completed', {
            phase_code: phase.phaseCode,
            phase_name: phase.phaseName,
            execution_time_ms: phase.executionTimeMs,
            total_tokens: (phase.promptTokens ?? 0) + (phase.completionTokens ?? 0),
          });
          if (run.integrationEnabled) await writePhaseFile(deps.env, run, phase);
        }
        return null;
      });
    }

    await step.do('complete', async () => {
      const run = await getRun(db, runId);
      if (!run) return null;
      const executionTimeMs = run.executionTimeMs ?? Date.now() - Date.parse(run.createdAt);
      if (await setRunStatus(db, runId, 'completed', { executionTimeMs, completedAt: isoNow() })) {
        await refreshCounters(db, runId);
        await announce(deps, { ...run, status: 'completed' }, 'orchestration.completed', {
          execution_time_ms: executionTimeMs,
        });
      }
      return null;
    });
    return { status: (await runStatus(db, runId)) ?? 'completed' };
  }

  private async fail(
    deps: Parameters<typeof announce>[0],
    runId: string,
    position: number,
    error: string,
    began: number,
  ) {
    const db = getDb(deps.env.DB);
    const phase = (await getPhases(db, runId)).find((p) => p.position === position);
    if (phase) await setPhase(db, phase.id, { status: 'failed', completedAt: isoNow() });
    await closeOpenPhases(db, runId, 'skipped');
    const run = await getRun(db, runId);
    const executionTimeMs = run ? Date.now() - Date.parse(run.createdAt) : Date.now() - began;
    if (await setRunStatus(db, runId, 'failed', { error, executionTimeMs, completedAt: isoNow() })) {
      await refreshCounters(db, runId);
      if (run) await announce(deps, { ...run, status: 'failed' }, 'orchestration.failed', { error, phase: position });
    }
  }
}
