// Orchestration runs: #/runs lists the organization's runs (GET /api/v1/orchestration, filtered by status,
// topic and project, page by page) with a form to start one; #/runs/<run_id> shows one run live.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { fmtDate, fmtMs } from '../lib/format';
import { routeQuery } from '../lib/router';
import { Busy, ErrorNote, Field, Page, Select } from '../ui/components';
import { Pager, StatusBadge, useList } from './orchestration/list-state';
import { RunDetail } from './orchestration/run-detail';
import { getSessionRole } from './orchestration/session-role';
import { StartRunForm } from './orchestration/start-run';
import { atLeast, RUN_STATUSES, type RunListItem } from './orchestration/types';
import './orchestration/orchestration.css';

export function RunsPage({ params }: PageProps): JSX.Element {
  const runId = params[0];
  if (runId) return <RunDetail key={runId} runId={runId} />;
  const projectId = routeQuery().get('project_id') ?? '';
  return <RunList key={projectId} projectId={projectId} />;
}

function RunList({ projectId }: { projectId: string }): JSX.Element {
  const list = useList<RunListItem>('/api/v1/orchestration', { status: '', search: '', project_id: projectId });
  const [starting, setStarting] = useState(false);
  const mayStart = atLeast(getSessionRole(), 'member');
  const rows = list.data?.data ?? [];
  const projectName = projectId ? rows.find((r) => r.project.id === projectId)?.project.name : undefined;
  return (
    <Page
      title="Runs"
      actions={
        mayStart && !starting ? (
          <button type="button" onClick={() => setStarting(true)}>
            Start a run
          </button>
        ) : null
      }
    >
      {starting ? <StartRunForm onClose={() => setStarting(false)} /> : null}
      <form class="orch-filters" role="search" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <Field
          label="Search topics"
          type="search"
          value={list.typed}
          onInput={(e) => list.setTyped(e.currentTarget.value)}
        />
        <Select
          label="Status"
          value={list.filters.status}
          onChange={(e) => list.setFilter('status', e.currentTarget.value)}
        >
          <option value="">Any status</option>
          {RUN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </Select>
        {list.filters.project_id ? (
          <p class="small">
            Project: {projectName ?? 'this project'}{' '}
            <button type="button" class="secondary" onClick={() => list.setFilter('project_id', '')}>
              Show every project
            </button>
          </p>
        ) : null}
      </form>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? <Busy label="Loading runs…" /> : null}
      {list.data && rows.length === 0 ? (
        <p class="muted">No runs{list.filters.status || list.filters.search ? ' match these filters' : ' yet'}.</p>
      ) : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table aria-label="Runs" aria-busy={list.loading}>
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col">Project</th>
                <th scope="col">Status</th>
                <th scope="col">Success</th>
                <th scope="col">Time</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    <a href={`#/runs/${r.id}`}>{r.topic.length > 80 ? `${r.topic.slice(0, 77)}…` : r.topic}</a>
                  </td>
                  <td>{r.project.name}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{r.success_rate === null ? '—' : `${Math.round(r.success_rate)}%`}</td>
                  <td>{fmtMs(r.execution_time_ms)}</td>
                  <td>{fmtDate(r.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {list.data ? (
        <Pager
          label="Runs"
          page={list.page}
          pages={list.data.pagination.pages}
          total={list.data.pagination.total}
          onPage={list.setPage}
        />
      ) : null}
    </Page>
  );
}
