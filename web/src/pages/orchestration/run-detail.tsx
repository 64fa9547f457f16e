// One run, live: its status, a progress bar over its phases, the phases themselves, and Cancel while it
// runs. Milestones are also spoken through a polite live region, so a screen reader hears them as they come.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { getSessionRole } from './session-role';
import { fmtDate, fmtMs } from '../../lib/format';
import { Busy, ErrorNote, Page, Progress } from '../../ui/components';
import { StatusBadge } from './list-state';
import { PhaseList } from './phase-list';
import { useLiveRun } from './run-live';
import { atLeast, TERMINAL } from './types';

const CONNECTION: Record<string, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  ended: 'Finished',
};

export function RunDetail({ runId }: { runId: string }): JSX.Element {
  const live = useLiveRun(runId);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const [cancelling, setCancelling] = useState(false);
  const d = live.detail;
  if (!d) {
    return (
      <Page title="Run">
        <p>
          <a href="#/runs">All runs</a>
        </p>
        {live.error ? <ErrorNote error={live.error} /> : <Busy label="Loading the run…" />}
      </Page>
    );
  }
  const { run, phases } = d;
  const ended = phases.filter((p) => !['pending', 'running'].includes(p.status)).length;
  const done = phases.filter((p) => p.status === 'completed').length;
  const terminal = TERMINAL.includes(run.status);
  const cancel = async () => {
    setCancelling(true);
    setCancelError(null);
    try {
      await api(`/api/v1/orchestration/${encodeURIComponent(run.id)}/cancel`, { method: 'POST', body: {} });
      // The event stream brings the cancellation too; showing it now does not wait for the next poll.
      live.setDetail({
        ...d,
        run: { ...run, status: 'cancelled' },
        phases: phases.map((p) =>
          p.status === 'pending' || p.status === 'running' ? { ...p, status: 'cancelled' } : p,
        ),
      });
    } catch (err) {
      setCancelError(err);
    } finally {
      setCancelling(false);
    }
  };
  return (
    <Page
      title={`Run: ${run.topic.length > 60 ? `${run.topic.slice(0, 57)}…` : run.topic}`}
      actions={
        !terminal && atLeast(getSessionRole(), 'member') ? (
          <button type="button" class="danger" disabled={cancelling} onClick={() => void cancel()}>
            {cancelling ? 'Cancelling…' : 'Cancel run'}
          </button>
        ) : null
      }
    >
      <p>
        <a href="#/runs">All runs</a> ·{' '}
        <a href={`#/runs?project_id=${encodeURIComponent(run.project_id)}`}>Runs of this project</a>
      </p>
      <ErrorNote error={cancelError} />
      <div class="card orch-run-summary">
        <p class="orch-run-status">
          Status: <StatusBadge status={run.status} />{' '}
          <span class="muted small" data-connection={live.connection}>
            ({CONNECTION[live.connection]})
          </span>
        </p>
        <Progress value={phases.length ? ended : 0} max={Math.max(phases.length, 1)} label="Run progress" />
        <p class="small">
          {done} of {phases.length} phases completed
          {run.execution_time_ms !== null ? ` · ${fmtMs(run.execution_time_ms)}` : ''} · started{' '}
          {fmtDate(run.created_at)}
          {run.success_rate !== null ? ` · success rate ${Math.round(run.success_rate)}%` : ''}
        </p>
        {run.error ? <p class="orch-phase-error">{run.error}</p> : null}
        <p class="visually-hidden" role="status" aria-live="polite">
          {live.announcement}
        </p>
      </div>
      {live.error ? <ErrorNote error={live.error} /> : null}
      <h2>Phases</h2>
      <PhaseList phases={phases} operations={d.integration_operations} />
    </Page>
  );
}
