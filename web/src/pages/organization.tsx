// The current organization (name, tier, this month's quota use; admins rename it), the switcher between the
// organizations the signed-in user belongs to, and the user's own account details.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api, sessionFrom, type Role, type TokenResponse, type User } from '../lib/api';
import { fmtDate, fmtInt } from '../lib/format';
import { getSession, setSession } from '../lib/session';
import { Busy, ErrorNote, Field, Page, Progress, Select, useLoad } from '../ui/components';
import './accounts.css';

interface Organization {
  id: string;
  name: string;
  slug: string;
  subscription_tier: string;
  api_quota_limit: number;
  api_quota_used: number;
  created_at: string;
}

interface Membership {
  id: string;
  name: string;
  slug: string;
  role: Role;
  current: boolean;
}

function Rename({ org, onRenamed }: { org: Organization; onRenamed: (o: Organization) => void }): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        const name = String(new FormData(e.currentTarget).get('name') ?? '').trim();
        setBusy(true);
        setError(null);
        try {
          onRenamed(await api<Organization>('/api/v1/organizations/current', { method: 'PUT', body: { name } }));
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <div class="row form-row">
        <Field label="Organization name" name="name" required maxLength={200} defaultValue={org.name} key={org.name} />
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Renaming…' : 'Rename'}
      </button>
    </form>
  );
}

function Switcher({ onSwitched }: { onSwitched: (name: string) => void }): JSX.Element {
  const session = getSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const orgs = useLoad(
    (signal) => api<{ data: Membership[] }>('/api/v1/auth/organizations', { signal }).then((r) => r.data),
    [session?.user.organization_id],
  );
  if (orgs.error) return <ErrorNote error={orgs.error} />;
  if (!orgs.data) return <Busy label="Loading your organizations…" />;
  if (orgs.data.length < 2)
    return <p class="muted">You belong to this organization only. An admin of another can add you by email.</p>;
  const submit = async (e: Event) => {
    e.preventDefault();
    const id = String(new FormData(e.currentTarget as HTMLFormElement).get('organization') ?? '');
    const target = orgs.data?.find((o) => o.id === id);
    if (!target || target.current) return;
    setBusy(true);
    setError(null);
    try {
      const tokens = await api<TokenResponse>('/api/v1/auth/switch-organization', { body: { organization_id: id } });
      // The old session has ended: from here every page acts in the new organization.
      setSession(sessionFrom(tokens));
      onSwitched(target.name);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit}>
      <div class="row form-row">
        <Select label="Organization to switch to" name="organization" key={session?.user.organization_id}>
          {orgs.data.map((o) => (
            <option key={o.id} value={o.id} selected={o.current}>
              {o.name} ({o.role}){o.current ? ' — current' : ''}
            </option>
          ))}
        </Select>
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Switching…' : 'Switch organization'}
      </button>
    </form>
  );
}

export function OrganizationPage(_props: PageProps): JSX.Element {
  const session = getSession();
  const orgId = session?.user.organization_id;
  const [status, setStatus] = useState('');
  const org = useLoad((signal) => api<Organization>('/api/v1/organizations/current', { signal }), [orgId]);
  const me = useLoad((signal) => api<User>('/api/v1/auth/me', { signal }), [orgId]);
  const [renamed, setRenamed] = useState<Organization | null>(null);
  const current = renamed && renamed.id === org.data?.id ? renamed : org.data;
  return (
    <Page title="Organization">
      <p role="status" class="small">
        {status}
      </p>
      <section class="card" aria-labelledby="org-title">
        <h2 id="org-title">{current ? current.name : 'Current organization'}</h2>
        <ErrorNote error={org.error} />
        {org.loading && !current ? <Busy label="Loading the organization…" /> : null}
        {current ? (
          <>
            <dl class="facts">
              <dt>Slug</dt>
              <dd>
                <code>{current.slug}</code>
              </dd>
              <dt>Tier</dt>
              <dd>{current.subscription_tier}</dd>
              <dt>Your role</dt>
              <dd>{session?.user.role}</dd>
              <dt>Created</dt>
              <dd>{fmtDate(current.created_at)}</dd>
              <dt>Quota this month</dt>
              <dd>
                {fmtInt(current.api_quota_used)} of {fmtInt(current.api_quota_limit)} requests
              </dd>
            </dl>
            <Progress
              label="Quota used this month"
              value={Math.min(current.api_quota_used, current.api_quota_limit)}
              max={Math.max(current.api_quota_limit, 1)}
            />
            {session?.user.role === 'admin' ? (
              <Rename
                org={current}
                onRenamed={(o) => {
                  setRenamed(o);
                  setStatus(`Organization renamed to ${o.name}.`);
                }}
              />
            ) : (
              <p class="muted small">Only admins rename the organization.</p>
            )}
          </>
        ) : null}
      </section>
      <section class="card" aria-labelledby="switch-title">
        <h2 id="switch-title">Switch organization</h2>
        <Switcher onSwitched={(name) => setStatus(`Switched to ${name}.`)} />
      </section>
      <section class="card" aria-labelledby="account-title">
        <h2 id="account-title">Your account</h2>
        <ErrorNote error={me.error} />
        {me.data ? (
          <dl class="facts">
            <dt>Email</dt>
            <dd>{me.data.email}</dd>
            <dt>Username</dt>
            <dd>{me.data.username}</dd>
            <dt>Name</dt>
            <dd>{me.data.full_name ?? '—'}</dd>
            <dt>User id</dt>
            <dd>
              <code>{me.data.id}</code>
            </dd>
          </dl>
        ) : me.loading ? (
          <Busy label="Loading your account…" />
        ) : null}
      </section>
    </Page>
  );
}
