// Members of the current organization, a page at a time. Admins add registered users by email, change roles
// and remove members; everyone else reads. Nobody changes their own membership (the API refuses it).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api, type Role } from '../lib/api';
import { fmtDate } from '../lib/format';
import { getSession } from '../lib/session';
import { Busy, ErrorNote, Field, Page, Select, useLoad } from '../ui/components';
import { ConfirmAction } from '../ui/confirm-action';
import './accounts.css';

interface Member {
  user_id: string;
  email: string;
  username: string;
  full_name: string | null;
  role: Role;
  joined_at: string;
}

interface MemberPage {
  data: Member[];
  pagination: { total: number; limit: number; offset: number; page: number; pages: number; has_next: boolean };
}

const ROLES: Role[] = ['admin', 'manager', 'member', 'viewer'];
const PAGE_SIZE = 20;

function RoleOptions({ selected }: { selected: Role }): JSX.Element {
  return (
    <>
      {ROLES.map((r) => (
        <option key={r} value={r} selected={r === selected}>
          {r}
        </option>
      ))}
    </>
  );
}

function AddMember({ onAdded }: { onAdded: (m: Member) => void }): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setBusy(true);
    setError(null);
    try {
      const added = await api<Member>('/api/v1/organizations/current/members', {
        body: { email: String(data.get('email') ?? '').trim(), role: String(data.get('role') ?? 'member') },
      });
      // Only the email is cleared: a full reset would put the role back on the first option (admin).
      (form.elements.namedItem('email') as HTMLInputElement).value = '';
      onAdded(added);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-member-title">
      <h2 id="add-member-title">Add a member</h2>
      <p class="muted small">They need an Edgeway account already; they keep their own organization too.</p>
      <div class="row form-row">
        <Field label="Email" name="email" type="email" required autocomplete="off" />
        <Select label="Role" name="role">
          <RoleOptions selected="member" />
        </Select>
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Adding…' : 'Add member'}
      </button>
    </form>
  );
}

function RoleChange({ member, onSaved }: { member: Member; onSaved: (role: Role) => Promise<void> }): JSX.Element {
  const [busy, setBusy] = useState(false);
  const id = `role-${member.user_id}`;
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const role = new FormData(e.currentTarget).get('role') as Role;
        setBusy(true);
        try {
          await onSaved(role);
        } finally {
          setBusy(false);
        }
      }}
    >
      <label class="visually-hidden" for={id}>
        Role of {member.email}
      </label>
      <select id={id} name="role" key={member.role}>
        <RoleOptions selected={member.role} />
      </select>
      <button type="submit" class="secondary" disabled={busy} aria-label={`Change role of ${member.email}`}>
        {busy ? 'Saving…' : 'Change role'}
      </button>
    </form>
  );
}

export function MembersPage(_props: PageProps): JSX.Element {
  const session = getSession();
  const isAdmin = session?.user.role === 'admin';
  const [offset, setOffset] = useState(0);
  const [status, setStatus] = useState('');
  const [actionError, setActionError] = useState<unknown>(null);
  const list = useLoad(
    (signal) =>
      api<MemberPage>(`/api/v1/organizations/current/members?limit=${PAGE_SIZE}&offset=${offset}`, { signal }),
    [offset, session?.user.organization_id],
  );
  const act = async (run: () => Promise<unknown>, done: string) => {
    setActionError(null);
    try {
      await run();
      setStatus(done);
      list.reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const path = (m: Member) => `/api/v1/organizations/current/members/${encodeURIComponent(m.user_id)}`;
  const p = list.data?.pagination;
  return (
    <Page title="Members">
      {isAdmin ? (
        <AddMember
          onAdded={(m) => {
            setStatus(`${m.email} added as ${m.role}.`);
            list.reload();
          }}
        />
      ) : (
        <p class="muted">Only admins change members; you are {session?.user.role} here.</p>
      )}
      <p role="status" class="small">
        {status}
      </p>
      <ErrorNote error={actionError} />
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? <Busy label="Loading members…" /> : null}
      {list.data ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Members of the organization</caption>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                {isAdmin ? (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((m) => {
                const self = m.user_id === session?.user.id;
                return (
                  <tr key={m.user_id}>
                    <th scope="row">
                      {m.full_name ?? m.username} <br />
                      <span class="muted small">{m.email}</span> {self ? <span class="badge">you</span> : null}
                    </th>
                    <td>
                      {isAdmin && !self ? (
                        <RoleChange
                          member={m}
                          onSaved={(role) =>
                            act(() => api(path(m), { method: 'PUT', body: { role } }), `${m.email} is now ${role}.`)
                          }
                        />
                      ) : (
                        m.role
                      )}
                    </td>
                    <td>{fmtDate(m.joined_at)}</td>
                    {isAdmin ? (
                      <td>
                        {self ? (
                          <span class="muted small">You cannot change your own membership</span>
                        ) : (
                          <ConfirmAction
                            label="Remove"
                            name={`Remove ${m.email}`}
                            question={`Remove ${m.email} from the organization?`}
                            confirmLabel="Yes, remove"
                            onConfirm={() => act(() => api(path(m), { method: 'DELETE' }), `${m.email} removed.`)}
                          />
                        )}
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {p && p.pages > 1 ? (
        <nav class="pager" aria-label="Member pages">
          <button
            type="button"
            class="secondary"
            disabled={p.offset === 0}
            onClick={() => setOffset(Math.max(0, p.offset - PAGE_SIZE))}
          >
            Previous
          </button>
          <span>
            Page {p.page} of {p.pages} ({p.total} members)
          </span>
          <button
            type="button"
            class="secondary"
            disabled={!p.has_next}
            onClick={() => setOffset(p.offset + PAGE_SIZE)}
          >
            Next
          </button>
        </nav>
      ) : p ? (
        <p class="muted small">{p.total === 1 ? '1 member' : `${p.total} members`}</p>
      ) : null}
    </Page>
  );
}
