// The web app's shell in Chromium against `wrangler dev`: served at /app/ (and / sends people there) under
// a Content-Security-Policy without 'unsafe-inline' scripts, sign-up and sign-in through its pages, errors in
// plain words with the request id, keyboard-only use, light and dark, the first page's JavaScript budget.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAccessible,
  HAVE_CHROMIUM,
  launch,
  openContext,
  PHONE,
  requireChromium,
  screenshots,
  signUp,
} from './helpers/browser';
import { type DevServer, rawRequest, repoRoot, startDevServer } from './helpers/dev-server';

it('has a Chromium to drive', (ctx) => requireChromium(ctx, 'web-shell'));

// The JavaScript the first page loads before it is usable: the entry script, the sign-in page's chunk (the
// page a new visitor lands on) and every chunk they import statically (other pages load on demand), gzipped
// as a server would send them.
function firstPageScripts(): { files: string[]; gzipBytes: number } {
  const dir = join(repoRoot, 'public', 'app');
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const entries = [...html.matchAll(/<script[^>]+src="\/app\/([^"]+)"/g)].map((m) => m[1] ?? '');
  entries.push(
    ...readdirSync(join(dir, 'assets'))
      .filter((f) => /^sign-in-.*\.js$/.test(f))
      .map((f) => `assets/${f}`),
  );
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(join(dir, file), 'utf8');
    // Static imports only: `import ... from "./x.js"` (dynamic import() chunks load later, per page).
    for (const m of code.matchAll(/(?:^|[;\n}])\s*import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+)["']/g)) {
      visit(join(file, '..', m[1] ?? ''));
    }
  };
  entries.forEach(visit);
  const files = [...seen];
  const gzipBytes = files.reduce((n, f) => n + gzipSync(readFileSync(join(dir, f))).length, 0);
  return { files, gzipBytes };
}

describe('the web app shell', () => {
  it('keeps the first page within 150 KB of gzipped JavaScript', () => {
    const { files, gzipBytes } = firstPageScripts();
    expect(files.some((f) => f.includes('sign-in-'))).toBe(true);
    console.info(`web-shell: first page JavaScript ${files.join(', ')}: ${gzipBytes} bytes gzipped`);
    expect(gzipBytes).toBeLessThanOrEqual(150 * 1024);
  });
});

describe.skipIf(!HAVE_CHROMIUM)('the web app shell in Chromium', () => {
  let server: DevServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startDevServer({ vars: { DEFAULT_PROVIDER: 'local' } });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the app at /app/ with a strict CSP; / sends people there', async () => {
    const app = await rawRequest(`${server.url}/app/`);
    expect(app.status).toBe(200);
    const csp = String(app.headers['content-security-policy'] ?? '');
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("connect-src 'self'");
    const html = app.body.toString('utf8');
    // No inline script at all: every <script> has a src.
    expect([...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/g)]).toEqual([]);
    const root = await rawRequest(`${server.url}/`);
    expect(root.status).toBe(200);
    expect(root.body.toString('utf8')).toContain('url=/app/');
  });

  it('signs up, shows the signed-in shell, signs out and back in — clean, accessible, on desktop and phone', async () => {
    const { context, watch, expectClean } = await openContext(browser, server.url);
    const page = await context.newPage();
    const started = Date.now();
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    console.info(`web-shell: / to a usable sign-in form in ${Date.now() - started} ms (loopback)`);
    await screenshots(page, 'sign-in');
    await expectAccessible(page, 'sign in');

    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await expectAccessible(page, 'sign up');
    await screenshots(page, 'sign-up');
    const { email, password } = await signUp(page);
    await expect.poll(() => page.getByText(email).count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).count()).toBe(1);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // A wrong password: the API's message in plain words, with the request id to quote.
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('Invalid email or password');
    await expect.poll(() => alert.textContent()).toMatch(/Request id: req_/);
    await expectAccessible(page, 'sign in with an error');
    // The browser reports the refused login as a failed resource: expected here, and only that.
    const refused = watch.consoleErrors.filter((e) => /401/.test(e));
    expect(refused.length).toBeLessThanOrEqual(1);
    watch.consoleErrors.splice(0, watch.consoleErrors.length, ...watch.consoleErrors.filter((e) => !/401/.test(e)));

    // Keyboard only: Tab to the fields, type, Enter submits.
    await page.getByLabel('Email').fill('');
    await page.getByLabel('Email').focus();
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/playground/);
    await expect.poll(() => page.getByText(email).count()).toBeGreaterThan(0);
    // Signed in on a phone: the menu scrolls within the screen, the page is no wider than it.
    await page.setViewportSize(PHONE);
    await expect
      .poll(() => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth))
      .toBeLessThanOrEqual(0);
    await page.getByRole('link', { name: 'Members' }).scrollIntoViewIfNeeded();
    await expect.poll(() => page.getByRole('link', { name: 'Members' }).isVisible()).toBe(true);
    await screenshots(page, 'shell-signed-in');
    await context.close();
    expectClean();
  });

  it('follows the chosen theme (dark and light) and fits a phone', async () => {
    const { context, expectClean } = await openContext(browser, server.url, PHONE);
    const page = await context.newPage();
    await page.goto('/app/#/signin');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.getByLabel('Theme').selectOption('dark');
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await expect.poll(background).toBe('rgb(18, 21, 28)');
    await page.getByLabel('Theme').selectOption('light');
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await expect.poll(background).toBe('rgb(255, 255, 255)');
    // Nothing wider than the phone's screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.getByLabel('Theme').selectOption('dark');
    await expectAccessible(page, 'sign in (dark, phone)');
    await context.close();
    expectClean();
  });
});
