// The documentation pages in a real (Debian) Chromium against the dev server: they must render
// under their Content-Security-Policy with every asset served by the worker itself (no CDN).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, repoRoot, startDevServer } from './helpers/dev-server';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
const IN_CI = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI.toLowerCase());
const NO_CHROMIUM = `Chromium not found at ${CHROMIUM_PATH} (install Debian's \`chromium\` or set CHROMIUM_PATH)`;
const SHOTS = join(repoRoot, '.tmp');

it('has a Chromium to drive', (ctx) => {
  if (!HAVE_CHROMIUM && !IN_CI) {
    console.warn(`docs-browser: skipped: ${NO_CHROMIUM}`);
    ctx.skip(NO_CHROMIUM);
  }
  // In CI a missing browser is a failure, never a silent skip.
  expect(HAVE_CHROMIUM, NO_CHROMIUM).toBe(true);
});

interface Recorder {
  requests: string[];
  /** url -> Playwright's failure text ("csp" when Chromium blocked it for the page's CSP) */
  failed: Map<string, string>;
  /** Requests that have finished or failed. */
  settled: number;
  pageErrors: string[];
  consoleErrors: string[];
  cspViolations: string[];
}

describe.skipIf(!HAVE_CHROMIUM)('documentation pages in Chromium', () => {
  let server: DevServer;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startDevServer({ vars: { DEFAULT_PROVIDER: 'local' } });
    browser = await chromium.launch({
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
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function openPage(): Promise<{ page: Page; rec: Recorder }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const rec: Recorder = {
      requests: [],
      failed: new Map(),
      settled: 0,
      pageErrors: [],
      consoleErrors: [],
      cspViolations: [],
    };
    page.on('request', (r) => rec.requests.push(r.url()));
    page.on('requestfinished', () => rec.settled++);
    page.on('requestfailed', (r) => {
      rec.failed.set(r.url(), r.failure()?.errorText ?? 'unknown');
      rec.settled++;
    });
    page.on('pageerror', (e) => rec.pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') rec.consoleErrors.push(m.text());
    });
    // Reported by the page itself, so a violation is seen even when the browser logs nothing.
    await page.exposeFunction('__cspViolation', (v: string) => rec.cspViolations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const report = (window as unknown as { __cspViolation: (v: string) => void }).__cspViolation;
        void report(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} (${e.sourceFile}:${e.lineNumber})`);
      });
    });
    return { page, rec };
  }

  async function expectCleanAndLocal(page: Page, rec: Recorder): Promise<void> {
    expect(rec.requests.length).toBeGreaterThan(0);
    // Let every request the page started come to an end, so failures (and their reasons) are known.
    await page.waitForLoadState('networkidle');
    await expect.poll(() => rec.requests.length - rec.settled, { timeout: 10_000 }).toBe(0);
    const foreign = rec.requests.filter((u) => {
      if (u.startsWith('data:')) return false;
      const url = new URL(u.startsWith('blob:') ? u.slice('blob:'.length) : u);
      return url.hostname !== '127.0.0.1' || url.port !== String(server.port);
    });
    expect(
      foreign.map((u) => `${u} (${rec.failed.get(u) ?? 'not blocked'})`),
      'requests that left the dev server',
    ).toEqual([]);
    expect(rec.cspViolations, 'CSP violations').toEqual([]);
    expect(rec.pageErrors, 'page errors').toEqual([]);
    expect(rec.consoleErrors, 'console errors').toEqual([]);
    // Same-origin requests that failed (a missing vendor file, say) are errors too.
    expect(
      [...rec.failed.entries()].map(([u, why]) => `${u}: ${why}`),
      'failed requests',
    ).toEqual([]);
  }

  it('renders Swagger UI at /docs from local assets under its CSP', async () => {
    const { page, rec } = await openPage();
    const res = await page.goto(`${server.url}/docs`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");

    const post = page.locator('.opblock.opblock-post', { hasText: '/api/v1/requests' }).first();
    await post.waitFor({ state: 'visible', timeout: 30_000 });
    await expect.poll(() => post.locator('.opblock-summary-method').innerText()).toBe('POST');
    expect(await post.locator('.opblock-summary-path').innerText()).toContain('/api/v1/requests');
    expect(await page.locator('.opblock.opblock-get', { hasText: '/api/v1/requests/{id}' }).count()).toBeGreaterThan(0);
    expect(await page.locator('.info .title').innerText()).toContain('Edgeway API');

    await page.screenshot({ path: join(SHOTS, 'docs-swagger.png'), fullPage: true });
    await expectCleanAndLocal(page, rec);
    expect(rec.requests.some((u) => u.endsWith('/openapi.json'))).toBe(true);
    await page.context().close();
  });

  it('renders ReDoc at /redoc from local assets under its CSP', async () => {
    const { page, rec } = await openPage();
    const res = await page.goto(`${server.url}/redoc`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);

    const title = page.locator('#redoc h1', { hasText: 'Edgeway API' }).first();
    await title.waitFor({ state: 'visible', timeout: 30_000 });
    const operation = page
      .locator('#redoc h2', { hasText: 'Send text to the AI provider and store the request' })
      .first();
    await operation.waitFor({ state: 'visible', timeout: 30_000 });
    // The endpoint box in the right-hand panel names the method and path.
    const redocText = await page.locator('#redoc').innerText();
    expect(redocText).toMatch(/post\s*\/api\/v1\/requests/i);

    await page.screenshot({ path: join(SHOTS, 'redoc.png'), fullPage: true });
    await expectCleanAndLocal(page, rec);
    expect(rec.requests.some((u) => u.endsWith('/openapi.json'))).toBe(true);
    await page.context().close();
  });
});
