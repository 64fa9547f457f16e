// The shell: skip link, navigation, theme switch, the signed-in user and organization, and the page of the
// current hash route. Pages are loaded on demand (each its own chunk), so the first page stays small.
import type { ComponentType, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './lib/api';
import { navigate, useRoute } from './lib/router';
import { clearSession, getSession, onSession, type Session } from './lib/session';
import { ThemeSwitch } from './ui/theme';

export type PageProps = { params: string[] };
type PageComponent = ComponentType<PageProps>;

interface RouteDef {
  load: () => Promise<PageComponent>;
  // Shown without a session (sign-in, sign-up); every other page needs one.
  open?: boolean;
}

const ROUTES: Record<string, RouteDef> = {
  signin: { load: () => import('./pages/sign-in').then((m) => m.SignInPage), open: true },
  signup: { load: () => import('./pages/sign-up').then((m) => m.SignUpPage), open: true },
  // Where a Google sign-in lands (GET /auth/login-success-redirect sends the browser here).
  oauth: { load: () => import('./pages/oauth-callback').then((m) => m.OAuthCallbackPage), open: true },
  playground: { load: () => import('./pages/playground').then((m) => m.PlaygroundPage) },
  chats: { load: () => import('./pages/chats').then((m) => m.ChatsPage) },
  runs: { load: () => import('./pages/runs').then((m) => m.RunsPage) },
  projects: { load: () => import('./pages/projects').then((m) => m.ProjectsPage) },
  templates: { load: () => import('./pages/templates').then((m) => m.TemplatesPage) },
  dashboard: { load: () => import('./pages/dashboard').then((m) => m.DashboardPage) },
  webhooks: { load: () => import('./pages/webhooks').then((m) => m.WebhooksPage) },
  keys: { load: () => import('./pages/keys').then((m) => m.KeysPage) },
  members: { load: () => import('./pages/members').then((m) => m.MembersPage) },
  organization: { load: () => import('./pages/organization').then((m) => m.OrganizationPage) },
};

const NAV: [string, string][] = [
  ['playground', 'Playground'],
  ['chats', 'Chats'],
  ['runs', 'Runs'],
  ['projects', 'Projects'],
  ['templates', 'Templates'],
  ['dashboard', 'Dashboard'],
  ['webhooks', 'Webhooks'],
  ['keys', 'API keys'],
  ['members', 'Members'],
];

function useSession(): Session | null {
  const [s, set] = useState(getSession());
  useEffect(() => onSession(set), []);
  return s;
}

function LazyPage({ def, params }: { def: RouteDef; params: string[] }): JSX.Element {
  const [mod, setMod] = useState<{ Page: PageComponent } | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    setMod(null);
    def.load().then(
      (Page) => live && setMod({ Page }),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [def]);
  if (failed) return <p role="alert">This page could not be loaded. Reload to try again.</p>;
  if (!mod)
    return (
      <p class="busy" role="status">
        Loading…
      </p>
    );
  return <mod.Page params={params} />;
}

async function signOut(): Promise<void> {
  try {
    await api('/api/v1/auth/logout', { method: 'POST', body: {} });
  } catch {
    // Signed out here whatever the server says: the tokens are dropped below.
  }
  clearSession();
  navigate('/signin');
}

export function App(): JSX.Element {
  const session = useSession();
  const [name = session ? 'playground' : 'signin', ...params] = useRoute();
  const def = ROUTES[name];
  const needsSignIn = def && !def.open && !session;
  useEffect(() => {
    if (needsSignIn) navigate('/signin');
    else if (!def) navigate(session ? '/playground' : '/signin');
  }, [needsSignIn, def, session]);
  // Moving between pages puts focus on the new page's heading, as a page load would.
  useEffect(() => {
    const t = setTimeout(() => document.getElementById('page-title')?.focus(), 0);
    return () => clearTimeout(t);
  }, [name]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={session ? '#/playground' : '#/signin'}>
          <img src={`${import.meta.env.BASE_URL}icon.svg`} alt="" width="24" height="24" /> Edgeway
        </a>
        {session ? (
          <nav aria-label="Main">
            <ul>
              {NAV.map(([route, label]) => (
                <li key={route}>
                  <a href={`#/${route}`} aria-current={route === name ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        <div class="top-end">
          <ThemeSwitch />
          {session ? (
            <>
              <a class="who" href="#/organization" title="Organization and account">
                {session.user.email} · {session.user.role}
              </a>
              <button type="button" class="secondary" onClick={() => void signOut()}>
                Sign out
              </button>
            </>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {def && !needsSignIn ? <LazyPage def={def} params={params} /> : null}
      </main>
      <footer class="foot muted small">
        <a href="/docs">API reference</a> · <a href="/redoc">ReDoc</a> · <a href="/openapi.json">OpenAPI</a> ·{' '}
        <a href="/health">Health</a>
      </footer>
    </>
  );
}
