// The dashboard and webhooks pages in Chromium against `wrangler dev`: real traffic sent from Node with the
// signed-in session's token (answered calls, repeats the cache answers, one invalid call) shows up in the
// dashboard's figures and uPlot charts; a webhook to a receiver on 127.0.0.1 (run by this test) is created
// with its secret shown once, sent a test event whose delivery appears in its log, disabled and enabled,
// rotated and deleted. Both pages: screenshots, axe-core, no console error, CSP violation or off-site request.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  expectAccessible,
  HAVE_CHROMIUM,
  launch,
  openContext,
  PHONE,
  requireChromium,
  screenshots,
  signUp,
} from './helpers/browser';
import { type DevServer, startDevServer } from './helpers/dev-server';

it('has a Chromium to drive', (ctx) => requireChromium(ctx, 'web-dashboard'));

// The signed-in session's access token, as the app keeps it.
async function accessToken(page: Page): Promise<string> {
  const raw = await page.evaluate(() => localStorage.getItem('edgeway.session'));
  const token = (JSON.parse(raw ?? '{}') as { accessToken?: string }).accessToken;
  if (!token) throw new Error('no session after sign-up');
  return token;
}

// A figure of the dashboard's totals (<dt>label</dt><dd>value</dd>) as a number.
async function tile(page: Page, label: string): Promise<string> {
  return (
    (await page
      .locator('.tiles .tile')
      .filter({ has: page.getByText(label, { exact: true }) })
      .locator('dd')
      .textContent()) ?? ''
  );
}
// How far the page's main content is wider than a phone's screen (0 or less: it fits).
async function phoneOverflow(page: Page): Promise<number> {
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(100);
  const over = await page.evaluate(() => (document.getElementById('main')?.scrollWidth ?? 0) - window.innerWidth);
  await page.setViewportSize(DESKTOP);
  return over;
}
// Conditions are waited for, never timed: generous, since the machine's cores are shared.
const WAIT = { timeout: 20_000 };
const asNumber = (text: string) => Number(text.replace(/[^\d.]/g, '') || NaN);

describe.skipIf(!HAVE_CHROMIUM)('the dashboard and webhooks pages in Chromium', () => {
  let server: DevServer;
  let browser: Browser;
  let receiver: Server;
  let receiverUrl: string;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    // Development settings (wrangler.toml): webhooks may target loopback written as 127.0.0.1.
    server = await startDevServer({ vars: { DEFAULT_PROVIDER: 'local', WEBHOOK_RETRY_MAX_DELAY_SECONDS: '1' } });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  it('draws the traffic the test sent: totals, uPlot charts, by model and provider — light and dark', async () => {
    const { context, watch, expectClean } = await openContext(browser, server.url);
    const page = await context.newPage();
    await signUp(page);
    const token = await accessToken(page);

    // A dozen calls: six prompts, five of them asked again (the cache answers those), and one invalid.
    const nonce = crypto.randomUUID().slice(0, 8);
    const send = (body: unknown) =>
      fetch(`${server.url}/api/v1/chat/completion`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await send({ message: `dashboard ${nonce} question ${i}`, model: 'local:edgeway-local' });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    for (let i = 0; i < 5; i++) {
      const res = await send({ message: `dashboard ${nonce} question ${i}`, model: 'local:edgeway-local' });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    const invalid = await send({});
    await invalid.arrayBuffer();
    expect(statuses).toEqual(Array(11).fill(200));
    expect(invalid.status).toBe(400);
    const sent = 12;

    await page.goto('/app/#/dashboard');
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    // The request log reaches the figures through a queue: refresh until every call is counted (the page's
    // own API calls count too, so the invalid call's error and the cache's hits are waited for as well).
    await expect
      .poll(
        async () => {
          const refresh = page.getByRole('button', { name: 'Refresh', exact: true });
          if (await refresh.isEnabled()) await refresh.click();
          await page.locator('.tiles').waitFor();
          return {
            requests: asNumber(await tile(page, 'Requests')) >= sent,
            tokens: asNumber(await tile(page, 'Tokens')) > 0,
            errors: asNumber(await tile(page, 'Error rate')) > 0,
            hits: asNumber(await tile(page, 'Cache hit rate')) > 0,
          };
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toEqual({ requests: true, tokens: true, errors: true, hits: true });
    expect(await tile(page, 'Latency p50')).toMatch(/\d+ (ms|s)/);
    expect(await tile(page, 'Latency p99')).toMatch(/\d+ (ms|s)/);

    // Six charts, each a uPlot canvas with a size and something drawn on it, each with its caption.
    const canvases = page.locator('.chart-canvas canvas');
    await expect.poll(() => canvases.count(), WAIT).toBe(6);
    // Measured in one go in the page: a refresh redraws them (new canvases), so wait for a settled set.
    const sizes = () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll<HTMLCanvasElement>('.chart-canvas canvas')).map((c) => {
          const r = c.getBoundingClientRect();
          // Drawn: some pixels of the canvas are painted (axes, grid, the line).
          const pixels = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? [];
          let painted = 0;
          for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted++;
          return r.width > 100 && r.height > 100 && painted > 100;
        }),
      );
    await expect.poll(sizes, WAIT).toEqual(Array(6).fill(true));
    await expect
      .poll(() => page.locator('#chart-requests-summary').textContent())
      .toMatch(/requests, \d+ of them errors/);
    // The requests chart's data as a table: today's row holds at least the calls sent.
    await page.getByText('Show the data of “Requests” as a table').click();
    const rows = page.locator('#chart-requests-title').locator('xpath=ancestor::figure').locator('tbody tr');
    const lastRow = (await rows.last().locator('td').first().textContent()) ?? '';
    expect(asNumber(lastRow)).toBeGreaterThanOrEqual(sent);

    // By model and by provider: the local model answered the calls.
    const byModel = page.getByRole('region', { name: 'By model' });
    await expect.poll(() => byModel.textContent(), WAIT).toContain('edgeway-local');
    const byProvider = page.getByRole('region', { name: 'By provider' });
    await expect.poll(() => byProvider.textContent(), WAIT).toContain('local');

    await screenshots(page, 'dashboard');
    expect(await phoneOverflow(page)).toBeLessThanOrEqual(0);
    await expectAccessible(page, 'dashboard');

    // Another period: today by hour, drawn again.
    await page.getByLabel('Period', { exact: true }).selectOption('24h');
    await expect.poll(() => page.locator('#chart-requests-summary').textContent(), WAIT).toContain('today, by hour');
    await expect.poll(() => canvases.count(), WAIT).toBe(6);
    expect(asNumber(await tile(page, 'Requests'))).toBeGreaterThanOrEqual(sent);

    // Dark: the series colours are read again from the theme's variables.
    await page.getByLabel('Theme').selectOption('dark');
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme), WAIT).toBe('dark');
    const stroke = await page.evaluate(() =>
      getComputedStyle(document.querySelector('.dashboard') as Element)
        .getPropertyValue('--chart-1')
        .trim(),
    );
    expect(stroke).toBe('#8fb0ff');
    await expect.poll(() => canvases.count(), WAIT).toBe(6);
    await screenshots(page, 'dashboard-dark');
    await expectAccessible(page, 'dashboard (dark)');
    await page.getByLabel('Theme').selectOption('light');

    // The invalid call was the test's own (from Node): the page itself logged nothing.
    expect(watch.consoleErrors).toEqual([]);
    await context.close();
    expectClean();
  });

  it('creates a webhook to a local receiver, sends a test and shows its delivery; edits, disables, rotates, deletes', async () => {
    const { context, expectClean } = await openContext(browser, server.url);
    const page = await context.newPage();
    await signUp(page);
    await page.goto('/app/#/webhooks');
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await expect.poll(() => page.getByText('No webhooks yet').count(), WAIT).toBe(1);
    await expectAccessible(page, 'webhooks (empty)');

    await page.getByRole('button', { name: 'New webhook' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Local receiver');
    await page.getByLabel('URL', { exact: true }).fill(receiverUrl);
    await page.getByRole('checkbox', { name: 'project.created' }).check();
    await expectAccessible(page, 'webhooks (new)');
    await page.getByRole('button', { name: 'Create webhook' }).click();

    // The secret, once, with a copy button that puts it on the clipboard.
    const secretBox = page.locator('.secret');
    await expect.poll(() => secretBox.textContent(), WAIT).toContain('whsec_');
    const secret = ((await secretBox.locator('code').textContent()) ?? '').trim();
    await secretBox.getByRole('button', { name: 'Copy secret' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), WAIT).toBe(secret);
    await secretBox.getByRole('button', { name: 'I have saved it' }).click();
    await expect.poll(() => page.locator('.secret').count(), WAIT).toBe(0);

    const card = page.locator('.hook-list > li').filter({ hasText: 'Local receiver' });
    await expect.poll(() => card.textContent(), WAIT).toContain(receiverUrl);
    await expect.poll(() => card.textContent(), WAIT).toContain('Enabled');

    // Send test: the delivery shows up in the log and turns succeeded with the receiver's 200.
    await card.getByRole('button', { name: 'Send test' }).click();
    const log = card.getByRole('region', { name: 'Delivery log' });
    await log.waitFor();
    const firstRow = log.locator('tbody tr').first();
    await expect.poll(() => firstRow.textContent(), { timeout: 30_000, interval: 500 }).toContain('succeeded');
    expect(await firstRow.textContent()).toContain('webhook.test');
    expect(await firstRow.locator('td').nth(4).textContent()).toBe('200');
    expect(received.length).toBeGreaterThanOrEqual(1);
    const delivered = received.at(-1);
    expect(delivered?.headers['webhook-id']).toBeTruthy();
    expect(JSON.parse(delivered?.body ?? '{}')).toMatchObject({ type: 'webhook.test' });
    await screenshots(page, 'webhooks');
    expect(await phoneOverflow(page)).toBeLessThanOrEqual(0);
    await expectAccessible(page, 'webhooks (delivery log)');

    // Edit: a new name.
    await card.getByRole('button', { name: 'Edit' }).click();
    await card.getByLabel('Name', { exact: true }).fill('Local receiver (renamed)');
    await card.getByRole('button', { name: 'Save changes' }).click();
    const renamed = page.locator('.hook-list > li').filter({ hasText: 'Local receiver (renamed)' });
    await renamed.waitFor();

    // Disable: no test can be sent; enable again.
    await renamed.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => renamed.locator('.hook-head .badge').textContent(), WAIT).toBe('Disabled');
    expect(await renamed.getByRole('button', { name: 'Send test' }).isDisabled()).toBe(true);
    await renamed.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => renamed.locator('.hook-head .badge').textContent(), WAIT).toBe('Enabled');

    // Rotate: a new secret, shown once.
    await renamed.getByRole('button', { name: 'Rotate secret' }).click();
    await expect.poll(() => page.locator('.secret code').textContent(), WAIT).toMatch(/^whsec_/);
    expect(await page.locator('.secret code').textContent()).not.toBe(secret);
    await page.getByRole('button', { name: 'I have saved it' }).click();

    // Delete, after a confirmation.
    await renamed.getByRole('button', { name: 'Delete…' }).click();
    await renamed.getByRole('button', { name: /for good/ }).click();
    await expect.poll(() => page.getByText('No webhooks yet').count(), WAIT).toBe(1);

    await context.close();
    expectClean();
  });
});
