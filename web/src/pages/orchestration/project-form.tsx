// Create or change a project (POST /api/v1/projects, PUT /api/v1/projects/{id}): the fields given are saved.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { ErrorNote, Field, Select, TextArea } from '../../ui/components';
import { PROJECT_PRIORITIES, PROJECT_STATUSES, type Project } from './types';

export function ProjectForm({
  project,
  onSaved,
  onCancel,
}: {
  project?: Project;
  onSaved: (p: Project) => void;
  onCancel: () => void;
}): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (k: string) => String(f.get(k) ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      const body = {
        name: text('name'),
        description: text('description') || null,
        topic: text('topic'),
        priority: text('priority'),
        status: text('status'),
      };
      const saved = project
        ? await api<Project>(`/api/v1/projects/${encodeURIComponent(project.id)}`, { method: 'PUT', body })
        : await api<Project>('/api/v1/projects', { body });
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const title = project ? `Edit ${project.name}` : 'New project';
  return (
    <form class="card orch-form" onSubmit={submit} aria-label={title}>
      <h2>{title}</h2>
      <Field label="Name" name="name" required maxLength={200} defaultValue={project?.name ?? ''} />
      <TextArea
        label="Description"
        name="description"
        maxLength={2000}
        rows={2}
        defaultValue={project?.description ?? ''}
      />
      <TextArea label="Topic" name="topic" maxLength={10000} rows={3} defaultValue={project?.topic ?? ''} />
      <div class="orch-pair">
        <Select label="Priority" name="priority">
          {PROJECT_PRIORITIES.map((p) => (
            <option key={p} value={p} selected={p === (project?.priority ?? 'medium')}>
              {p}
            </option>
          ))}
        </Select>
        <Select label="Status" name="status">
          {PROJECT_STATUSES.map((s) => (
            <option key={s} value={s} selected={s === (project?.status ?? 'active')}>
              {s}
            </option>
          ))}
        </Select>
      </div>
      <ErrorNote error={error} />
      <div class="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : project ? 'Save project' : 'Create project'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
