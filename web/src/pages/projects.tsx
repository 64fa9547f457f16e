// The organization's projects (GET /api/v1/projects): searched, filtered by status and priority, sorted,
// page by page; created, changed and deleted where the role allows (a member their own, a manager or admin
// any); and a run started from any of them.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api } from '../lib/api';
import { fmtDate } from '../lib/format';
import { Busy, ErrorNote, Field, Page, Select } from '../ui/components';
import { ConfirmAction } from '../ui/confirm-action';
import { Pager, StatusBadge, useList } from './orchestration/list-state';
import { ProjectForm } from './orchestration/project-form';
import { getSessionRole, getSessionUserId } from './orchestration/session-role';
import { StartRunForm } from './orchestration/start-run';
import { atLeast, PROJECT_PRIORITIES, PROJECT_STATUSES, type Project } from './orchestration/types';
import './orchestration/orchestration.css';

const SORTS: [string, string][] = [
  ['-created_at', 'Newest first'],
  ['created_at', 'Oldest first'],
  ['name', 'Name (A–Z)'],
  ['-priority', 'Priority (urgent first)'],
  ['-updated_at', 'Recently changed'],
];

type Open = { kind: 'edit' | 'run'; id: string } | { kind: 'new' } | null;

export function ProjectsPage(_props: PageProps): JSX.Element {
  const list = useList<Project>('/api/v1/projects', { search: '', status: '', priority: '', sort: '-created_at' });
  const [open, setOpen] = useState<Open>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const role = getSessionRole();
  const me = getSessionUserId();
  const mayChange = (p: Project) => atLeast(role, 'manager') || (atLeast(role, 'member') && p.created_by?.id === me);
  const rows = list.data?.data ?? [];
  const filtered = Boolean(list.filters.search || list.filters.status || list.filters.priority);

  return (
    <Page
      title="Projects"
      actions={
        atLeast(role, 'member') && open?.kind !== 'new' ? (
          <button type="button" onClick={() => setOpen({ kind: 'new' })}>
            New project
          </button>
        ) : null
      }
    >
      <p class="visually-hidden" role="status" aria-live="polite">
        {notice}
      </p>
      {open?.kind === 'new' ? (
        <ProjectForm
          onCancel={() => setOpen(null)}
          onSaved={(p) => {
            setOpen(null);
            setNotice(`Project ${p.name} created.`);
            list.reload();
          }}
        />
      ) : null}
      <form class="orch-filters" role="search" aria-label="Filter projects" onSubmit={(e) => e.preventDefault()}>
        <Field
          label="Search projects"
          type="search"
          value={list.typed}
          hint="Name or description"
          onInput={(e) => list.setTyped(e.currentTarget.value)}
        />
        <Select
          label="Status"
          value={list.filters.status}
          onChange={(e) => list.setFilter('status', e.currentTarget.value)}
        >
          <option value="">Any status</option>
          {PROJECT_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </Select>
        <Select
          label="Priority"
          value={list.filters.priority}
          onChange={(e) => list.setFilter('priority', e.currentTarget.value)}
        >
          <option value="">Any priority</option>
          {PROJECT_PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </Select>
        <Select label="Sort" value={list.filters.sort} onChange={(e) => list.setFilter('sort', e.currentTarget.value)}>
          {SORTS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </Select>
      </form>
      <ErrorNote error={list.error} />
      <ErrorNote error={error} />
      {list.loading && !list.data ? <Busy label="Loading projects…" /> : null}
      {list.data && rows.length === 0 ? (
        <p class="muted">{filtered ? 'No project matches these filters.' : 'No projects yet.'}</p>
      ) : null}
      <ul class="orch-cards" aria-label="Projects" aria-busy={list.loading}>
        {rows.map((p) => (
          <li key={p.id} class="card orch-item">
            <div class="orch-item-head">
              <h2 class="orch-item-title">{p.name}</h2>
              <StatusBadge status={p.status} />
              <span class="badge">priority: {p.priority}</span>
            </div>
            {p.description ? <p>{p.description}</p> : null}
            <p class="muted small">
              {p.created_by ? `By ${p.created_by.full_name ?? p.created_by.username} · ` : ''}created{' '}
              {fmtDate(p.created_at)}
            </p>
            <div class="row orch-actions">
              {atLeast(role, 'member') ? (
                <button
                  type="button"
                  aria-label={`Start run of ${p.name}`}
                  aria-expanded={open?.kind === 'run' && open.id === p.id}
                  onClick={() => setOpen(open?.kind === 'run' && open.id === p.id ? null : { kind: 'run', id: p.id })}
                >
                  Start run
                </button>
              ) : null}
              <a
                class="button secondary"
                href={`#/runs?project_id=${encodeURIComponent(p.id)}`}
                aria-label={`Runs of ${p.name}`}
              >
                Runs
              </a>
              {mayChange(p) ? (
                <>
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Edit ${p.name}`}
                    aria-expanded={open?.kind === 'edit' && open.id === p.id}
                    onClick={() =>
                      setOpen(open?.kind === 'edit' && open.id === p.id ? null : { kind: 'edit', id: p.id })
                    }
                  >
                    Edit
                  </button>
                  <ConfirmAction
                    label="Delete"
                    name={`Delete ${p.name}`}
                    question={`Delete ${p.name} and its runs?`}
                    onConfirm={async () => {
                      setError(null);
                      try {
                        await api(`/api/v1/projects/${encodeURIComponent(p.id)}`, { method: 'DELETE' });
                        setNotice(`Project ${p.name} deleted.`);
                        list.reload();
                      } catch (err) {
                        setError(err);
                      }
                    }}
                  />
                </>
              ) : null}
            </div>
            {open?.kind === 'run' && open.id === p.id ? (
              <StartRunForm project={p} onClose={() => setOpen(null)} />
            ) : null}
            {open?.kind === 'edit' && open.id === p.id ? (
              <ProjectForm
                project={p}
                onCancel={() => setOpen(null)}
                onSaved={(saved) => {
                  setOpen(null);
                  setNotice(`Project ${saved.name} saved.`);
                  list.reload();
                }}
              />
            ) : null}
          </li>
        ))}
      </ul>
      {list.data ? (
        <Pager
          label="Projects"
          page={list.page}
          pages={list.data.pagination.pages}
          total={list.data.pagination.total}
          onPage={list.setPage}
        />
      ) : null}
    </Page>
  );
}
