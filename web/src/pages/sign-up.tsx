// Create an account: it comes with a personal organization where you are admin, and signs you in.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api, sessionFrom, type TokenResponse } from '../lib/api';
import { navigate } from '../lib/router';
import { setSession } from '../lib/session';
import { ErrorNote, Field, Page } from '../ui/components';

export function SignUpPage(_props: PageProps): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const fullName = String(form.get('full_name') ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      const tokens = await api<TokenResponse>('/api/v1/auth/register', {
        anonymous: true,
        body: {
          email: String(form.get('email') ?? ''),
          password: String(form.get('password') ?? ''),
          ...(fullName ? { full_name: fullName } : {}),
        },
      });
      setSession(sessionFrom(tokens));
      navigate('/playground');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="auth">
      <Page title="Create your account">
        <form onSubmit={submit} class="card">
          <Field label="Full name (optional)" name="full_name" autocomplete="name" />
          <Field label="Email" name="email" type="email" autocomplete="email" required />
          <Field
            label="Password"
            name="password"
            type="password"
            autocomplete="new-password"
            minLength={8}
            required
            hint="At least 8 characters."
          />
          <ErrorNote error={error} />
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create account'}
          </button>
        </form>
        <p>
          Already have an account? <a href="#/signin">Sign in</a>
        </p>
      </Page>
    </div>
  );
}
