// Google sign-in through the web app in Chromium, against `wrangler dev` and the mock OpenID provider (which
// signs in its default user, with no login page): the sign-in page's button → Google → the
// callback → login-success-redirect → the app's #/oauth landing, which spends the one-time token at
// validate-token and trades the refresh cookie for the app's session. Nothing leaves 127.0.0.1.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOCK_OIDC_CLIENT_ID, MOCK_OIDC_CLIENT_SECRET } from '../mock-upstream/oidc';
import { type MockUpstream, startMockUpstream } from '../mock-upstream/server';
import { expectAccessible, HAVE_CHROMIUM, launch, openContext, requireChromium } from './helpers/browser';
import { type DevServer, startDevServer } from './helpers/dev-server';

it('has a Chromium to drive', (ctx) => requireChromium(ctx, 'web-google'));

describe.skipIf(!HAVE_CHROMIUM)('Google sign-in in the web app', () => {
  let mock: MockUpstream;
  let server: DevServer;
  let browser: Browser;

  beforeAll(async () => {
    mock = await startMockUpstream();
    const oidc = `${mock.url}/oidc`;
    server = await startDevServer({
      vars: {
        DEFAULT_PROVIDER: 'local',
        GOOGLE_CLIENT_ID: MOCK_OIDC_CLIENT_ID,
        GOOGLE_CLIENT_SECRET: MOCK_OIDC_CLIENT_SECRET,
        GOOGLE_AUTH_URL: `${oidc}/authorize`,
        GOOGLE_TOKEN_URL: `${oidc}/token`,
        GOOGLE_JWKS_URL: `${oidc}/jwks`,
        GOOGLE_ISSUER: oidc,
      },
    });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await mock?.close();
  });

  it('signs in with Google and lands in the app with a session of its own', async () => {
    const { context, expectClean } = await openContext(browser, server.url);
    const page = await context.newPage();
    await page.goto('/app/#/signin');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // The mock provider, given no login_hint (a browser following redirects cannot be made to add one), signs
    // in its default user.
    const email = 'user@example.com';
    const link = page.getByRole('link', { name: 'Sign in with Google' });
    expect(await link.getAttribute('href')).toBe('/api/v1/auth/google/login');
    await link.click();
    await page.waitForURL(/\/app\/#\/playground/, { timeout: 20_000 });
    await expect.poll(() => page.getByText(email).count(), { timeout: 20_000 }).toBeGreaterThan(0);
    // The landing left no token in the address bar, and the session is the API's bearer pair.
    expect(page.url()).not.toContain('token=');
    const session = await page.evaluate(() => JSON.parse(localStorage.getItem('edgeway.session') ?? 'null'));
    expect(session).toMatchObject({ user: { email, role: 'admin' } });
    const me = await fetch(`${server.url}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${String(session.accessToken)}` },
    });
    expect(me.status).toBe(200);
    await expectAccessible(page, 'playground after Google sign-in');
    await context.close();
    expectClean();
  });
});
