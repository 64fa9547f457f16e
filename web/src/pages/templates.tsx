// Orchestration templates (GET /api/v1/templates): the organization's own and every public one, searched,
// filtered by category and visibility, sorted, page by page; created, changed and deleted where allowed;
// and a run started from any of them (with a project to run it for).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api } from '../lib/api';
import { fmtDate, fmtInt } from '../lib/format';
import { Busy, ErrorNote, Field, Page, Select } from '../ui/components';
import { ConfirmAction } from '../ui/confirm-action';
import { Pager, useList } from './orchestration/list-state';
import { getSessionRole, getSessionUserId } from './orchestration/session-role';
import { StartRunForm } from './orchestration/start-run';
import { TemplateForm } from './orchestration/template-form';
import { atLeast, type Template } from './orchestration/types';
import './orchestration/orchestration.css';

const SORTS: [string, string][] = [
  ['-created_at', 'Newest first'],
  ['name', 'Name (A–Z)'],
  ['category', 'Category'],
  ['-usage_count', 'Most used'],
  ['-updated_at', 'Recently changed'],
];

type Open = { kind: 'edit' | 'run'; id: string } | { kind: 'new' } | null;

export function TemplatesPage(_props: PageProps): JSX.Element {
  const list = useList<Template>('/api/v1/templates', { search: '', category: '', is_public: '', sort: '-created_at' });
  const [category, setCategory] = useState('');
  const [open, setOpen] = useState<Open>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const role = getSessionRole();
  const me = getSessionUserId();
  // Only the owning organization changes a template. The list does not say which organization a public
  // template is from, so a manager sees the controls on private ones (necessarily ours) and on their own.
  const mayChange = (t: Template) =>
    (atLeast(role, 'member') && t.created_by?.id === me) || (atLeast(role, 'manager') && !t.is_public);
  const rows = list.data?.data ?? [];
  const filtered = Boolean(list.filters.search || list.filters.category || list.filters.is_public);

  return (
    <Page
      title="Templates"
      actions={
        atLeast(role, 'member') && open?.kind !== 'new' ? (
          <button type="button" onClick={() => setOpen({ kind: 'new' })}>
            New template
          </button>
        ) : null
      }
    >
      <p class="visually-hidden" role="status" aria-live="polite">
        {notice}
      </p>
      {open?.kind === 'new' ? (
        <TemplateForm
          onCancel={() => setOpen(null)}
          onSaved={(t) => {
            setOpen(null);
            setNotice(`Template ${t.name} created.`);
            list.reload();
          }}
        />
      ) : null}
      <form
        class="orch-filters"
        role="search"
        aria-label="Filter templates"
        onSubmit={(e) => {
          e.preventDefault();
          list.setFilter('category', category.trim().toLowerCase());
        }}
      >
        <Field
          label="Search templates"
          type="search"
          value={list.typed}
          hint="Name or description"
          onInput={(e) => list.setTyped(e.currentTarget.value)}
        />
        <Field
          label="Category"
          value={category}
          hint="Exact, e.g. custom"
          onInput={(e) => setCategory(e.currentTarget.value)}
          onBlur={() => list.setFilter('category', category.trim().toLowerCase())}
        />
        <Select
          label="Visibility"
          value={list.filters.is_public}
          onChange={(e) => list.setFilter('is_public', e.currentTarget.value)}
        >
          <option value="">Public and private</option>
          <option value="true">Public only</option>
          <option value="false">Private only</option>
        </Select>
        <Select label="Sort" value={list.filters.sort} onChange={(e) => list.setFilter('sort', e.currentTarget.value)}>
          {SORTS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </Select>
        <button type="submit" class="secondary orch-apply">
          Apply
        </button>
      </form>
      <ErrorNote error={list.error} />
      <ErrorNote error={error} />
      {list.loading && !list.data ? <Busy label="Loading templates…" /> : null}
      {list.data && rows.length === 0 ? (
        <p class="muted">{filtered ? 'No template matches these filters.' : 'No templates yet.'}</p>
      ) : null}
      <ul class="orch-cards" aria-label="Templates" aria-busy={list.loading}>
        {rows.map((t) => (
          <li key={t.id} class="card orch-item">
            <div class="orch-item-head">
              <h2 class="orch-item-title">{t.name}</h2>
              <span class="badge">{t.category}</span>
              <span class="badge">{t.is_public ? 'public' : 'private'}</span>
            </div>
            {t.description ? <p>{t.description}</p> : null}
            <p class="small">
              {t.template_data.phases.length} phases: {t.template_data.phases.join(' → ')}
            </p>
            <p class="muted small">
              Used by {fmtInt(t.usage_count)} runs
              {t.created_by ? ` · by ${t.created_by.full_name ?? t.created_by.username}` : ''} · created{' '}
              {fmtDate(t.created_at)}
            </p>
            <div class="row orch-actions">
              {atLeast(role, 'member') ? (
                <button
                  type="button"
                  aria-label={`Start run with ${t.name}`}
                  aria-expanded={open?.kind === 'run' && open.id === t.id}
                  onClick={() => setOpen(open?.kind === 'run' && open.id === t.id ? null : { kind: 'run', id: t.id })}
                >
                  Start run
                </button>
              ) : null}
              {mayChange(t) ? (
                <>
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Edit ${t.name}`}
                    aria-expanded={open?.kind === 'edit' && open.id === t.id}
                    onClick={() =>
                      setOpen(open?.kind === 'edit' && open.id === t.id ? null : { kind: 'edit', id: t.id })
                    }
                  >
                    Edit
                  </button>
                  <ConfirmAction
                    label="Delete"
                    name={`Delete ${t.name}`}
                    question={`Delete the template ${t.name}?`}
                    onConfirm={async () => {
                      setError(null);
                      try {
                        await api(`/api/v1/templates/${encodeURIComponent(t.id)}`, { method: 'DELETE' });
                        setNotice(`Template ${t.name} deleted.`);
                        list.reload();
                      } catch (err) {
                        setError(err);
                      }
                    }}
                  />
                </>
              ) : null}
            </div>
            {open?.kind === 'run' && open.id === t.id ? (
              <StartRunForm template={t} onClose={() => setOpen(null)} />
            ) : null}
            {open?.kind === 'edit' && open.id === t.id ? (
              <TemplateForm
                template={t}
                onCancel={() => setOpen(null)}
                onSaved={(saved) => {
                  setOpen(null);
                  setNotice(`Template ${saved.name} saved.`);
                  list.reload();
                }}
              />
            ) : null}
          </li>
        ))}
      </ul>
      {list.data ? (
        <Pager
          label="Templates"
          page={list.page}
          pages={list.data.pagination.pages}
          total={list.data.pagination.total}
          onPage={list.setPage}
        />
      ) : null}
    </Page>
  );
}
