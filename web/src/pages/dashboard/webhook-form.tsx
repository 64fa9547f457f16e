// Creating or editing a webhook: its name, the URL Edgeway posts to, and the events it subscribes to.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorNote, Field } from '../../ui/components';

// The events a webhook may subscribe to (src/db/schema.ts WEBHOOK_EVENTS, the API's enum).
export const WEBHOOK_EVENTS = [
  'orchestration.started',
  'orchestration.phase_completed',
  'orchestration.completed',
  'orchestration.failed',
  'orchestration.cancelled',
  'project.created',
  'project.updated',
  'project.deleted',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface Webhook {
  id: string;
  name: string;
  url: string;
  events: WebhookEvent[];
  is_active: boolean;
  disabled_reason: string | null;
  last_triggered_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookDraft {
  name: string;
  url: string;
  events: WebhookEvent[];
}

export function WebhookForm({
  idPrefix,
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  idPrefix: string;
  initial: WebhookDraft;
  submitLabel: string;
  onSubmit: (draft: WebhookDraft) => Promise<void>;
  onCancel?: () => void;
}): JSX.Element {
  const [draft, setDraft] = useState(initial);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (event: WebhookEvent, on: boolean) =>
    setDraft((d) => ({ ...d, events: on ? [...d.events, event] : d.events.filter((e) => e !== event) }));
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        if (draft.events.length === 0) {
          setError(new Error('Choose at least one event.'));
          return;
        }
        setBusy(true);
        setError(null);
        try {
          await onSubmit(draft);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <Field
        id={`${idPrefix}-name`}
        label="Name"
        required
        maxLength={200}
        value={draft.name}
        onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
      />
      <Field
        id={`${idPrefix}-url`}
        label="URL"
        type="url"
        required
        hint="Edgeway posts each event here, signed with the webhook's secret (Standard Webhooks)."
        value={draft.url}
        onInput={(e) => setDraft({ ...draft, url: e.currentTarget.value })}
      />
      <fieldset class="events">
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((event) => (
          <label key={event}>
            <input
              type="checkbox"
              checked={draft.events.includes(event)}
              onChange={(e) => toggle(event, e.currentTarget.checked)}
            />
            <code>{event}</code>
          </label>
        ))}
      </fieldset>
      <ErrorNote error={error} />
      <div class="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : submitLabel}
        </button>
        {onCancel ? (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}
