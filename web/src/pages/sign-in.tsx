// Sign in with email and password, or with Google when the deployment has it configured.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api, sessionFrom, type TokenResponse } from '../lib/api';
import { navigate } from '../lib/router';
import { setSession } from '../lib/session';
import { ErrorNote, Field, Page } from '../ui/components';

export function SignInPage(_props: PageProps): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      const tokens = await api<TokenResponse>('/api/v1/auth/login', {
        anonymous: true,
        body: { email: String(form.get('email') ?? ''), password: String(form.get('password') ?? '') },
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
      <Page title="Sign in">
        <form onSubmit={submit} class="card">
          <Field label="Email" name="email" type="email" autocomplete="email" required />
          <Field label="Password" name="password" type="password" autocomplete="current-password" required />
          <ErrorNote error={error} />
          <div class="row">
            <button type="submit" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
            <a class="button secondary" href="/api/v1/auth/google/login">
              Sign in with Google
            </a>
          </div>
        </form>
        <p>
          New here? <a href="#/signup">Create an account</a>
        </p>
      </Page>
    </div>
  );
}
