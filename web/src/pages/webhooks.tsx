// The organization's webhooks (managers and admins): create one (its signing secret is shown once, with a
// copy button), edit, enable or disable, rotate the secret, delete, send a test event and read each one's
// delivery log. All through the public API: /api/v1/webhooks and its sub-routes.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api } from '../lib/api';
import { fmtDate } from '../lib/format';
import { getSession } from '../lib/session';
import { Busy, CopyButton, ErrorNote, Page, useLoad } from '../ui/components';
import { Deliveries } from './dashboard/webhook-deliveries';
import { type Webhook, type WebhookDraft, WebhookForm } from './dashboard/webhook-form';
import './dashboard/dashboard.css';

const BASE = '/api/v1/webhooks';
const path = (id: string, rest = '') => `${BASE}/${encodeURIComponent(id)}${rest}`;

// The secret of a webhook just made or rotated: the only time the API shows it.
function SecretOnce({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }): JSX.Element {
  return (
    <div class="secret" role="status">
      <p>
        The signing secret of <strong>{name}</strong>. Copy it now: it will not be shown again.
      </p>
      <p>
        <code>{secret}</code>
      </p>
      <div class="row">
        <CopyButton text={secret} label="Copy secret" />
        <button type="button" class="secondary" onClick={onDone}>
          I have saved it
        </button>
      </div>
    </div>
  );
}

function WebhookCard({
  hook,
  onChanged,
  onSecret,
}: {
  hook: Webhook;
  onChanged: () => void;
  onSecret: (name: string, secret: string) => void;
}): JSX.Element {
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [showLog, setShowLog] = useState(false);
  const [logVersion, setLogVersion] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);

  const act = async (what: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNote('');
    try {
      await what();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const headingId = `hook-${hook.id}`;
  return (
    <li class="card">
      <div class="hook-head">
        <h2 id={headingId}>{hook.name}</h2>
        <span class={`badge ${hook.is_active ? 'ok' : 'bad'}`}>{hook.is_active ? 'Enabled' : 'Disabled'}</span>
      </div>
      <p class="hook-url">
        <code>{hook.url}</code>
      </p>
      <p class="small">
        Events:{' '}
        {hook.events.map((e) => (
          <span key={e}>
            <code>{e}</code>{' '}
          </span>
        ))}
      </p>
      <p class="muted small">
        Last triggered {fmtDate(hook.last_triggered_at)}
        {hook.disabled_reason ? ` · Disabled: ${hook.disabled_reason}` : ''}
      </p>
      {editing ? (
        <WebhookForm
          idPrefix={`edit-${hook.id}`}
          initial={{ name: hook.name, url: hook.url, events: hook.events }}
          submitLabel="Save changes"
          onCancel={() => setEditing(false)}
          onSubmit={async (draft) => {
            await api(path(hook.id), { method: 'PUT', body: draft });
            setEditing(false);
            onChanged();
          }}
        />
      ) : (
        <div class="row">
          <button
            type="button"
            disabled={busy || !hook.is_active}
            title={hook.is_active ? undefined : 'Enable the webhook to send a test'}
            onClick={() =>
              act(async () => {
                await api(path(hook.id, '/test'), { method: 'POST' });
                setNote('Test event queued: its delivery appears in the log.');
                setShowLog(true);
                setLogVersion((v) => v + 1);
              })
            }
          >
            Send test
          </button>
          <button type="button" class="secondary" aria-expanded={showLog} onClick={() => setShowLog((s) => !s)}>
            {showLog ? 'Hide delivery log' : 'Delivery log'}
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={() => setEditing(true)}>
            Edit
          </button>
          <button
            type="button"
            class="secondary"
            disabled={busy}
            onClick={() =>
              act(async () => {
                await api(path(hook.id), { method: 'PUT', body: { is_active: !hook.is_active } });
                setNote(hook.is_active ? 'Disabled.' : 'Enabled.');
                onChanged();
              })
            }
          >
            {hook.is_active ? 'Disable' : 'Enable'}
          </button>
          <button
            type="button"
            class="secondary"
            disabled={busy}
            onClick={() =>
              act(async () => {
                const rotated = await api<Webhook & { secret_key: string }>(path(hook.id, '/rotate-secret'), {
                  method: 'POST',
                });
                onSecret(rotated.name, rotated.secret_key);
              })
            }
          >
            Rotate secret
          </button>
          {confirmDelete ? (
            <>
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={() =>
                  act(async () => {
                    await api(path(hook.id), { method: 'DELETE' });
                    onChanged();
                  })
                }
              >
                Delete “{hook.name}” for good
              </button>
              <button type="button" class="secondary" onClick={() => setConfirmDelete(false)}>
                Keep it
              </button>
            </>
          ) : (
            <button type="button" class="secondary" disabled={busy} onClick={() => setConfirmDelete(true)}>
              Delete…
            </button>
          )}
        </div>
      )}
      <p class="small" role="status">
        {note}
      </p>
      <ErrorNote error={error} />
      {showLog ? <Deliveries webhookId={hook.id} version={logVersion} /> : null}
    </li>
  );
}

const MANAGERS = new Set(['admin', 'manager']);

export function WebhooksPage(_props: PageProps): JSX.Element {
  const role = getSession()?.user.role;
  const allowed = role !== undefined && MANAGERS.has(role);
  const { data, error, loading, reload } = useLoad(
    (signal) =>
      allowed ? api<{ data: Webhook[] }>(`${BASE}?limit=100`, { signal }) : Promise.resolve({ data: [] as Webhook[] }),
    [allowed],
  );
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);

  if (!allowed) {
    return (
      <Page title="Webhooks">
        <p>Webhooks are managed by the organization's managers and admins; your role is {role ?? 'unknown'}.</p>
      </Page>
    );
  }
  return (
    <Page
      title="Webhooks"
      actions={
        creating ? null : (
          <button type="button" onClick={() => setCreating(true)}>
            New webhook
          </button>
        )
      }
    >
      <div class="webhooks">
        {secret ? <SecretOnce {...secret} onDone={() => setSecret(null)} /> : null}
        {creating ? (
          <section class="card" aria-labelledby="new-webhook">
            <h2 id="new-webhook">New webhook</h2>
            <WebhookForm
              idPrefix="new"
              initial={{ name: '', url: '', events: ['orchestration.completed'] }}
              submitLabel="Create webhook"
              onCancel={() => setCreating(false)}
              onSubmit={async (draft: WebhookDraft) => {
                const made = await api<Webhook & { secret_key: string }>(BASE, { method: 'POST', body: draft });
                setSecret({ name: made.name, secret: made.secret_key });
                setCreating(false);
                reload();
              }}
            />
          </section>
        ) : null}
        <ErrorNote error={error} />
        {loading && !data ? <Busy label="Loading webhooks…" /> : null}
        {data && data.data.length === 0 ? (
          <p class="muted">No webhooks yet. Create one to be told when runs and projects change.</p>
        ) : null}
        {data && data.data.length > 0 ? (
          <ul class="hook-list" aria-label="Webhooks">
            {data.data.map((hook) => (
              <WebhookCard
                key={hook.id}
                hook={hook}
                onChanged={reload}
                onSecret={(name, s) => setSecret({ name, secret: s })}
              />
            ))}
          </ul>
        ) : null}
      </div>
    </Page>
  );
}
