// Where a Google sign-in lands in the app (#/oauth, or #/oauth?token=<one-time login token>). The OAuth flow
// ends with the session in HTTP-only cookies, which scripts cannot read; the app's session is the bearer pair
// every other client uses. So: spend the login token if one came (validate-token sets the cookies), then
// trade the refresh cookie for a token pair with POST /auth/refresh — both public API routes.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api, sessionFrom, type TokenResponse } from '../lib/api';
import { navigate, routeQuery } from '../lib/router';
import { setSession } from '../lib/session';
import { Busy, ErrorNote, Page } from '../ui/components';

export function OAuthCallbackPage(_props: PageProps): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    const token = routeQuery().get('token');
    void (async () => {
      try {
        if (token) await api(`/api/v1/auth/validate-token?token=${encodeURIComponent(token)}`, { anonymous: true });
        // An empty body: the refresh token comes from the ew_refresh cookie the sign-in set.
        const tokens = await api<TokenResponse>('/api/v1/auth/refresh', { method: 'POST', body: {}, anonymous: true });
        if (!live) return;
        setSession(sessionFrom(tokens));
        navigate('/playground');
      } catch (err) {
        if (live) setError(err);
      }
    })();
    return () => {
      live = false;
    };
  }, []);
  return (
    <div class="auth">
      <Page title="Signing you in">
        {error ? (
          <>
            <ErrorNote error={error} />
            <p>
              <a href="#/signin">Back to sign in</a>
            </p>
          </>
        ) : (
          <Busy label="Finishing the Google sign-in…" />
        )}
      </Page>
    </div>
  );
}
