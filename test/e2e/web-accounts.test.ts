// The accounts pages in Chromium against `wrangler dev`: an API key created, shown once, copied, used from
// outside the browser and revoked (then refused); a second user added by email, their role changed, and that
// user switching into the first user's organization with the switcher; screenshots and axe-core on the keys,
// members and organization pages; no console error, CSP violation or off-site request throughout.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAccessible,
  HAVE_CHROMIUM,
  launch,
  openContext,
  requireChromium,
  screenshots,
  signUp,
} from './helpers/browser';
import { type DevServer, startDevServer } from './helpers/dev-server';

// Every wait is on a condition; the bound is generous because the machine running the suite may be busy.
const WAIT = { timeout: 20_000 };

it('has a Chromium to drive', (ctx) => requireChromium(ctx, 'web-accounts'));

describe.skipIf(!HAVE_CHROMIUM)('the accounts pages in Chromium', () => {
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

  const meWith = (key: string) =>
    fetch(`${server.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}` } });

  it('creates a key shown once, copies it, uses it from outside and revokes it by keyboard', async () => {
    const { context, expectClean } = await openContext(browser, server.url);
    const page = await context.newPage();
    await signUp(page);
    await page.goto('/app/#/keys');
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await expectAccessible(page, 'keys (empty)');

    await page.getByLabel('Name').fill('e2e key');
    await page.getByLabel('Role').selectOption('member');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: /Key “e2e key” created/ }).waitFor();
    await expect.poll(() => page.getByText('you will not see it again').count(), WAIT).toBe(1);
    const shown = (await page.getByLabel('The new API key').textContent()) ?? '';
    expect(shown).toMatch(/^ew_[A-Za-z0-9_-]{20,}$/);
    await screenshots(page, 'keys-created');
    await expectAccessible(page, 'keys (secret shown)');

    await page.getByRole('button', { name: 'Copy key' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Copied', exact: true }).count(), WAIT).toBe(1);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown);

    // The key works for a program outside the browser, as a member of this organization.
    const me = await meWith(shown);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ role: 'member' });

    // Once dismissed, the secret is gone for good: only its prefix is listed.
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByRole('row', { name: /e2e key/ }).waitFor();
    expect(await page.getByText(shown).count()).toBe(0);
    expect(await page.content()).not.toContain(shown);
    await screenshots(page, 'keys');
    await expectAccessible(page, 'keys (listed)');

    // Revoke with the keyboard only: Enter on Revoke asks, focus moves to the confirmation, Enter confirms.
    await page.getByRole('button', { name: 'Revoke key e2e key' }).focus();
    await page.keyboard.press('Enter');
    const yes = page.getByRole('button', { name: 'Yes, revoke' });
    await expect.poll(() => yes.evaluate((el) => el === document.activeElement), WAIT).toBe(true);
    // Escape backs out and returns focus to Revoke; then confirm for real.
    await page.keyboard.press('Escape');
    const revoke = page.getByRole('button', { name: 'Revoke key e2e key' });
    await expect.poll(() => revoke.evaluate((el) => el === document.activeElement), WAIT).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => yes.evaluate((el) => el === document.activeElement), WAIT).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'revoked' }).count(), WAIT).toBe(1);
    await expect.poll(() => page.getByText('No active keys.').count(), WAIT).toBe(1);
    // Refused at once, or within the identity cache's few seconds.
    await expect.poll(async () => (await meWith(shown)).status, { ...WAIT, interval: 500 }).toBe(401);
    await context.close();
    expectClean();
  });

  it('adds a second user by email, changes their role, and that user switches into the organization', async () => {
    const owner = await openContext(browser, server.url);
    const guest = await openContext(browser, server.url);
    const a = await owner.context.newPage();
    const b = await guest.context.newPage();
    await signUp(a);
    const { email: guestEmail } = await signUp(b);

    // The owner names the organization, so the guest can recognise it in the switcher.
    await a.goto('/app/#/organization');
    await a.getByRole('heading', { name: 'Organization', level: 1 }).waitFor();
    await a.getByLabel('Organization name').fill('Acme e2e');
    await a.getByRole('button', { name: 'Rename' }).click();
    await a.getByRole('heading', { name: 'Acme e2e', level: 2 }).waitFor();

    await a.goto('/app/#/members');
    await a.getByRole('heading', { name: 'Members', level: 1 }).waitFor();
    // The owner's own row: marked, not editable.
    await expect.poll(() => a.getByText('You cannot change your own membership').count(), WAIT).toBe(1);
    await a.getByLabel('Email').fill(guestEmail);
    await a.getByLabel('Role', { exact: true }).selectOption('viewer');
    await a.getByRole('button', { name: 'Add member' }).click();
    await expect
      .poll(
        () =>
          a
            .getByRole('status')
            .filter({ hasText: `${guestEmail} added as viewer` })
            .count(),
        WAIT,
      )
      .toBe(1);
    await a.getByLabel(`Role of ${guestEmail}`, { exact: true }).selectOption('member');
    await a.getByRole('button', { name: `Change role of ${guestEmail}` }).click();
    await expect
      .poll(
        () =>
          a
            .getByRole('status')
            .filter({ hasText: `${guestEmail} is now member` })
            .count(),
        WAIT,
      )
      .toBe(1);
    await screenshots(a, 'members');
    await expectAccessible(a, 'members (admin)');

    // The guest switches into Acme e2e with the switcher and acts there as a member.
    await b.goto('/app/#/organization');
    await b.getByRole('heading', { name: 'Switch organization' }).waitFor();
    const switcher = b.getByRole('combobox', { name: 'Organization to switch to' });
    await expect.poll(() => switcher.locator('option').count(), WAIT).toBe(2);
    await screenshots(b, 'organization');
    await expectAccessible(b, 'organization');
    await switcher.selectOption({ label: 'Acme e2e (member)' });
    await b.getByRole('button', { name: 'Switch organization' }).click();
    await expect.poll(() => b.getByRole('status').filter({ hasText: 'Switched to Acme e2e' }).count(), WAIT).toBe(1);
    await b.getByRole('heading', { name: 'Acme e2e', level: 2 }).waitFor();
    await expect.poll(() => b.getByRole('link', { name: `${guestEmail} · member` }).count(), WAIT).toBe(1);
    await expect.poll(() => switcher.inputValue(), WAIT).not.toBe('');
    expect(await switcher.locator('option:checked').textContent()).toContain('Acme e2e');

    // There, the members list is read-only for them, and API keys are for admins.
    await b.goto('/app/#/members');
    await b.getByRole('row', { name: new RegExp(guestEmail) }).waitFor();
    expect(await b.getByRole('button', { name: 'Add member' }).count()).toBe(0);
    expect(await b.getByRole('button', { name: /Remove|Change role/ }).count()).toBe(0);
    await expectAccessible(b, 'members (read-only)');
    await b.goto('/app/#/keys');
    await expect.poll(() => b.getByText('Only admins of an organization manage its API keys').count(), WAIT).toBe(1);
    await expectAccessible(b, 'keys (not admin)');

    await owner.context.close();
    await guest.context.close();
    owner.expectClean();
    guest.expectClean();
  });
});
