// Driving the web app in Debian's Chromium (playwright-core, never a downloaded browser) against a dev
// server: a watch on every page for console errors, uncaught exceptions, Content-Security-Policy violations
// and any request that would leave 127.0.0.1 (blocked and recorded); screenshots at desktop and phone
// widths kept under .tmp/web-shots/; and an axe-core accessibility check run inside the page.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect, type TestContext } from 'vitest';
import { repoRoot } from './dev-server';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
const IN_CI = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI.toLowerCase());
const NO_CHROMIUM = `Chromium not found at ${CHROMIUM_PATH} (install Debian's \`chromium\` or set CHROMIUM_PATH)`;
export const SHOTS = join(repoRoot, '.tmp', 'web-shots');

// Call from a test of its own: a missing browser skips locally (with a warning) and fails in CI.
export function requireChromium(ctx: TestContext, label: string): void {
  if (!HAVE_CHROMIUM && !IN_CI) {
    console.warn(`${label}: skipped: ${NO_CHROMIUM}`);
    ctx.skip(NO_CHROMIUM);
  }
  expect(HAVE_CHROMIUM, NO_CHROMIUM).toBe(true);
}

export async function launch(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
  });
}

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

export interface Watch {
  consoleErrors: string[];
  pageErrors: string[];
  cspViolations: string[];
  // Requests to anywhere but 127.0.0.1: aborted, and listed here.
  offsite: string[];
}

// A browser context on the dev server with everything watched. `expectClean()` asserts the whole session
// had no console error, exception, CSP violation or off-site request.
export async function openContext(
  browser: Browser,
  baseUrl: string,
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; watch: Watch; expectClean: () => void }> {
  const context = await browser.newContext({
    viewport,
    baseURL: baseUrl,
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const watch: Watch = { consoleErrors: [], pageErrors: [], cspViolations: [], offsite: [] };
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1') return route.continue();
    watch.offsite.push(url.href);
    return route.abort('blockedbyclient');
  });
  // CSP violations are reported to the page as events; a listener installed before any script runs
  // forwards them to the console, where they are collected.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  context.on('page', (page) => watchPage(page, watch));
  return {
    context,
    watch,
    expectClean: () => {
      expect(watch.offsite, 'requests that left 127.0.0.1').toEqual([]);
      expect(watch.cspViolations, 'CSP violations').toEqual([]);
      expect(watch.pageErrors, 'uncaught exceptions').toEqual([]);
      expect(watch.consoleErrors, 'console errors').toEqual([]);
    },
  };
}

// Expected failures a test provokes on purpose (e.g. a 401 from a wrong password shows in the console as a
// failed resource) are filtered by the caller from watch.consoleErrors.
function watchPage(page: Page, watch: Watch): void {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/CSP violation|Content Security Policy/i.test(text)) watch.cspViolations.push(text);
    else watch.consoleErrors.push(text);
  });
  page.on('pageerror', (err) => watch.pageErrors.push(String(err)));
}

// Screenshots of the current page at desktop and phone widths: .tmp/web-shots/<name>-desktop.png, -phone.png.
export async function screenshots(page: Page, name: string): Promise<void> {
  const size = page.viewportSize() ?? DESKTOP;
  for (const [label, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(50);
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(size);
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

// axe-core run inside the page (injected over the DevTools protocol, so the page's CSP is not loosened):
// no serious or critical violation on the page as it is now.
export async function expectAccessible(page: Page, name: string): Promise<void> {
  // A string is evaluated by the DevTools protocol itself: no eval() in the page, which its CSP forbids.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: { run: (ctx: Document, opts: object) => Promise<{ violations: unknown[] }> };
    };
    const result = await w.axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  });
  const bad = (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, `axe violations on ${name}`).toEqual([]);
}

// A new account through the app's own sign-up page; answers its email and password.
export async function signUp(page: Page, email = `web-${crypto.randomUUID().slice(0, 8)}@example.com`) {
  const password = 'correct horse battery staple';
  await page.goto('/app/#/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/#\/playground/);
  return { email, password };
}
