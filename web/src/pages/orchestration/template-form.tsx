// Create or change a template (POST /api/v1/templates, PUT /api/v1/templates/{id}): name, description,
// category (a slug), public or not, and its phases one per line. What the form does not show of
// template_data (integrations, other settings) is kept as it was.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { ErrorNote, Field, TextArea } from '../../ui/components';
import type { Template } from './types';

export function TemplateForm({
  template,
  onSaved,
  onCancel,
}: {
  template?: Template;
  onSaved: (t: Template) => void;
  onCancel: () => void;
}): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (k: string) => String(f.get(k) ?? '').trim();
    const phases = text('phases')
      .split('\n')
      .map((p) => p.trim())
      .filter(Boolean);
    const model = text('ai_model');
    const settings = { ...(template?.template_data.settings ?? {}), integration_enabled: f.get('files') === 'on' };
    if (model) Object.assign(settings, { ai_model: model });
    else delete settings.ai_model;
    setBusy(true);
    setError(null);
    try {
      const body = {
        name: text('name'),
        description: text('description') || null,
        category: text('category') || 'custom',
        is_public: f.get('is_public') === 'on',
        template_data: { ...(template?.template_data ?? {}), phases, settings },
      };
      const saved = template
        ? await api<Template>(`/api/v1/templates/${encodeURIComponent(template.id)}`, { method: 'PUT', body })
        : await api<Template>('/api/v1/templates', { body });
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const title = template ? `Edit ${template.name}` : 'New template';
  return (
    <form class="card orch-form" onSubmit={submit} aria-label={title}>
      <h2>{title}</h2>
      <Field label="Name" name="name" required maxLength={200} defaultValue={template?.name ?? ''} />
      <TextArea
        label="Description"
        name="description"
        maxLength={2000}
        rows={2}
        defaultValue={template?.description ?? ''}
      />
      <Field
        label="Category"
        name="category"
        maxLength={50}
        pattern="[a-z0-9]+([\-_][a-z0-9]+)*"
        hint="Lower-case letters and digits, words joined by - or _ (default: custom)"
        defaultValue={template?.category ?? ''}
      />
      <TextArea
        label="Phases (one per line, 1 to 20)"
        name="phases"
        required
        rows={4}
        defaultValue={template?.template_data.phases.join('\n') ?? ''}
      />
      <Field
        label="Model (optional)"
        name="ai_model"
        maxLength={200}
        hint="A catalogue id such as gpt-4o-mini, or provider:model"
        defaultValue={template?.template_data.settings?.ai_model ?? ''}
      />
      <label class="orch-check">
        <input
          type="checkbox"
          name="files"
          defaultChecked={template?.template_data.settings?.integration_enabled ?? false}
        />{' '}
        Write each phase's output as a file
      </label>
      <label class="orch-check">
        <input type="checkbox" name="is_public" defaultChecked={template?.is_public ?? false} /> Public (every
        organization can see and use it)
      </label>
      <ErrorNote error={error} />
      <div class="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : template ? 'Save template' : 'Create template'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
