// Start a run (POST /api/v1/orchestrate) from a project, a template, or both: the topic, the phases (the
// template's, a custom list, or the seven defaults), the model, and whether each phase's output is also
// written as a file. On success the run's own page opens and shows it live.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { navigate } from '../../lib/router';
import { ErrorNote, Select, TextArea, useLoad } from '../../ui/components';
import type { ListPage, Project, Started, Template } from './types';

interface CatalogueModel {
  id: string;
  name: string;
  provider: string;
  capabilities: string[];
  available: boolean;
}

async function choices(signal: AbortSignal, needProjects: boolean, needTemplates: boolean) {
  const [projects, templates, models] = await Promise.all([
    needProjects ? api<ListPage<Project>>('/api/v1/projects?limit=100&sort=name', { signal }) : null,
    needTemplates ? api<ListPage<Template>>('/api/v1/templates?limit=100&sort=name', { signal }) : null,
    api<ListPage<CatalogueModel>>('/api/v1/model?available=true&limit=100', { signal }),
  ]);
  return {
    projects: projects?.data ?? [],
    templates: templates?.data ?? [],
    models: models.data.filter((m) => m.capabilities.includes('chat')),
  };
}

export function StartRunForm({
  project,
  template,
  onClose,
}: {
  project?: Project;
  template?: Template;
  onClose?: () => void;
}): JSX.Element {
  const opts = useLoad((signal) => choices(signal, !project, !template), [project?.id, template?.id]);
  const [projectId, setProjectId] = useState(project?.id ?? '');
  const [templateId, setTemplateId] = useState(template?.id ?? '');
  const [topic, setTopic] = useState(project?.topic ?? '');
  const [custom, setCustom] = useState('');
  const [model, setModel] = useState('');
  const [files, setFiles] = useState(template?.template_data.settings?.integration_enabled ?? true);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const chosenTemplate = template ?? opts.data?.templates.find((t) => t.id === templateId);
  const phases = custom
    .split('\n')
    .map((p) => p.trim())
    .filter(Boolean);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const started = await api<Started>('/api/v1/orchestrate', {
        body: {
          project_id: projectId,
          topic,
          integration_enabled: files,
          ...(templateId ? { template_id: templateId } : {}),
          ...(phases.length > 0 ? { custom_phases: phases } : {}),
          ...(model ? { settings: { ai_model: model } } : {}),
        },
      });
      navigate(`/runs/${started.run_id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const title = project
    ? `Start a run of ${project.name}`
    : template
      ? `Start a run with ${template.name}`
      : 'Start a run';
  return (
    <form class="card orch-start" onSubmit={submit} aria-label={title}>
      <h2>{title}</h2>
      <ErrorNote error={opts.error} />
      {project ? null : (
        <Select
          label="Project"
          required
          value={projectId}
          onChange={(e) => {
            const id = e.currentTarget.value;
            setProjectId(id);
            const p = opts.data?.projects.find((x) => x.id === id);
            if (p && !topic) setTopic(p.topic);
          }}
        >
          <option value="">{opts.loading ? 'Loading projects…' : 'Choose a project'}</option>
          {opts.data?.projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </Select>
      )}
      {template ? (
        <p class="small">Phases of the template: {template.template_data.phases.join(' → ')}</p>
      ) : (
        <Select label="Template" value={templateId} onChange={(e) => setTemplateId(e.currentTarget.value)}>
          <option value="">No template (the seven default phases)</option>
          {opts.data?.templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name} ({t.template_data.phases.length} phases)
            </option>
          ))}
        </Select>
      )}
      <TextArea
        label="Topic"
        required
        maxLength={10000}
        value={topic}
        onInput={(e) => setTopic(e.currentTarget.value)}
      />
      <TextArea
        label="Custom phases (optional, one per line)"
        value={custom}
        rows={3}
        onInput={(e) => setCustom(e.currentTarget.value)}
        aria-describedby="orch-phases-hint"
      />
      <p id="orch-phases-hint" class="muted small">
        {phases.length > 0
          ? `${phases.length} custom phases replace the ${chosenTemplate ? "template's" : 'default'} ones.`
          : chosenTemplate
            ? `Runs the template's ${chosenTemplate.template_data.phases.length} phases.`
            : 'Runs Ideation, Research, Requirements, Architecture, Implementation, Testing and Deployment.'}
      </p>
      <Select label="Model" value={model} onChange={(e) => setModel(e.currentTarget.value)}>
        <option value="">
          {chosenTemplate?.template_data.settings?.ai_model
            ? `The template's (${chosenTemplate.template_data.settings.ai_model})`
            : 'The default model'}
        </option>
        {opts.data?.models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name} ({m.provider})
          </option>
        ))}
      </Select>
      <label class="orch-check">
        <input type="checkbox" checked={files} onChange={(e) => setFiles(e.currentTarget.checked)} /> Write each phase's
        output as a downloadable file
      </label>
      <ErrorNote error={error} />
      <div class="row">
        <button type="submit" disabled={busy || !projectId || !topic.trim()}>
          {busy ? 'Starting…' : 'Start run'}
        </button>
        {onClose ? (
          <button type="button" class="secondary" onClick={onClose}>
            Close
          </button>
        ) : null}
      </div>
    </form>
  );
}
