// API keys of the organization (admins only, as the API decides): the list by prefix, a new key shown once
// with a copy button, and revoking with a confirmation step.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api, type Role } from '../lib/api';
import { fmtDate } from '../lib/format';
import { getSession } from '../lib/session';
import { Busy, CopyButton, ErrorNote, Field, Page, Select, useLoad } from '../ui/components';
import { ConfirmAction } from '../ui/confirm-action';
import './accounts.css';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

type NewKey = ApiKey & { key: string };

const ROLES: Role[] = ['admin', 'manager', 'member', 'viewer'];

// The end of the chosen day in the browser's time zone: a key "expiring on" a date works through that day.
function endOfDay(date: string): string {
  return new Date(`${date}T23:59:59`).toISOString();
}

function tomorrow(): string {
  const d = new Date(Date.now() + 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function CreatedKey({ created, onDone }: { created: NewKey; onDone: () => void }): JSX.Element {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [created.id]);
  return (
    <section class="card secret" aria-labelledby="new-key-title">
      <h2 id="new-key-title" ref={heading} tabIndex={-1}>
        Key “{created.name}” created
      </h2>
      <p>
        <strong>Copy it now: you will not see it again.</strong> Edgeway keeps only its prefix; if you lose it, revoke
        it and create another.
      </p>
      <div class="secret-row">
        <code class="secret-value" aria-label="The new API key">
          {created.key}
        </code>
        <CopyButton text={created.key} label="Copy key" />
      </div>
      <p class="muted small">
        Send it as <code>Authorization: Bearer …</code> or <code>X-API-Key: …</code>.
      </p>
      <button type="button" class="secondary" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (k: NewKey) => void }): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const expires = String(data.get('expires') ?? '');
    setBusy(true);
    setError(null);
    try {
      const created = await api<NewKey>('/api/v1/auth/api-keys', {
        body: {
          name: String(data.get('name') ?? '').trim(),
          role: String(data.get('role') ?? 'member'),
          ...(expires ? { expires_at: endOfDay(expires) } : {}),
        },
      });
      // Not form.reset(): it would put the role back on the first option (admin), not the default.
      for (const field of ['name', 'expires']) (form.elements.namedItem(field) as HTMLInputElement).value = '';
      onCreated(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <div class="row form-row">
        <Field label="Name" name="name" required maxLength={100} placeholder="ci-deploy" autocomplete="off" />
        <Select label="Role" name="role">
          {ROLES.map((r) => (
            <option key={r} value={r} selected={r === 'member'}>
              {r}
            </option>
          ))}
        </Select>
        <Field label="Expires on (optional)" name="expires" type="date" min={tomorrow()} hint="Empty: never" />
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create key'}
      </button>
    </form>
  );
}

export function KeysPage(_props: PageProps): JSX.Element {
  const session = getSession();
  const isAdmin = session?.user.role === 'admin';
  const [created, setCreated] = useState<NewKey | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const keys = useLoad(
    (signal) =>
      isAdmin ? api<{ data: ApiKey[] }>('/api/v1/auth/api-keys', { signal }).then((r) => r.data) : Promise.resolve([]),
    [isAdmin, session?.user.organization_id],
  );
  if (!isAdmin)
    return (
      <Page title="API keys">
        <p class="card">
          Only admins of an organization manage its API keys; your role here is <strong>{session?.user.role}</strong>.
          Ask an admin for a key, or switch to an organization you administer on the{' '}
          <a href="#/organization">organization page</a>.
        </p>
      </Page>
    );
  const revoke = async (k: ApiKey) => {
    setActionError(null);
    try {
      await api(`/api/v1/auth/api-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
      setStatus(`Key “${k.name}” revoked.`);
      keys.reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return (
    <Page title="API keys">
      <p class="muted">
        Keys let programs call the API as this organization, with the role you give them. They act at most with your own
        role.
      </p>
      {created ? (
        <CreatedKey created={created} onDone={() => setCreated(null)} />
      ) : (
        <CreateKeyForm
          onCreated={(k) => {
            setCreated(k);
            setStatus('');
            keys.reload();
          }}
        />
      )}
      <h2>Active keys</h2>
      <p role="status" class="small">
        {status}
      </p>
      <ErrorNote error={actionError} />
      <ErrorNote error={keys.error} />
      {keys.loading && !keys.data ? <Busy label="Loading keys…" /> : null}
      {keys.data && keys.data.length === 0 ? <p class="muted">No active keys.</p> : null}
      {keys.data && keys.data.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Active API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id}>
                  <th scope="row">{k.name}</th>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{k.role}</td>
                  <td>{fmtDate(k.created_at)}</td>
                  <td>{k.expires_at ? fmtDate(k.expires_at) : 'never'}</td>
                  <td>{k.last_used_at ? fmtDate(k.last_used_at) : 'never'}</td>
                  <td>
                    <ConfirmAction
                      label="Revoke"
                      name={`Revoke key ${k.name}`}
                      question={`Revoke “${k.name}”? Programs using it stop working.`}
                      confirmLabel="Yes, revoke"
                      onConfirm={() => revoke(k)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Page>
  );
}
