// The chats pages in Chromium against `wrangler dev`: the list, creating a chat, uploading a file with its
// progress bar, a message with the file whose answer streams in, sharing the chat; then a second person of
// the organization in another browser context in the same live room: both see who is here, typing, each
// other's messages and the assistant's streamed answer.
import type { Browser, Page } from 'playwright-core';
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
import { type DevServer, postJson, startDevServer } from './helpers/dev-server';

it('has a Chromium to drive', (ctx) => requireChromium(ctx, 'web-chats'));

interface StoredSession {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email: string; organization_id: string };
}

const sessionOf = async (page: Page): Promise<StoredSession> =>
  JSON.parse((await page.evaluate(() => localStorage.getItem('edgeway.session'))) ?? 'null') as StoredSession;

// Records, inside the page, every value a <progress> takes and every text a streaming answer shows, so the
// test can tell afterwards that progress was seen between 0 and its max and that the answer arrived in
// pieces (a MutationObserver installed over the DevTools protocol: nothing added to the app).
async function record(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { progressSeen: [number, number][]; streamSeen: string[] };
    w.progressSeen = [];
    w.streamSeen = [];
    const look = () => {
      for (const p of Array.from(document.querySelectorAll('progress'))) {
        if (p.hasAttribute('value')) w.progressSeen.push([p.value, p.max]);
      }
      for (const s of Array.from(document.querySelectorAll('[data-streaming] .md'))) {
        const text = s.textContent ?? '';
        if (text && w.streamSeen.at(-1) !== text) w.streamSeen.push(text);
      }
    };
    new MutationObserver(look).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['value', 'max'],
    });
  });
}

const seen = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { progressSeen: [number, number][]; streamSeen: string[] };
    return { progress: w.progressSeen, stream: w.streamSeen };
  });

describe.skipIf(!HAVE_CHROMIUM)('chats in Chromium', () => {
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

  it('creates, uploads with progress, streams an answer, shares — and two people share the live room', async () => {
    const a = await openContext(browser, server.url);
    const pageA = await a.context.newPage();
    await signUp(pageA);
    const sessionA = await sessionOf(pageA);

    // The list, empty; then a new chat.
    await pageA.goto('/app/#/chats');
    await pageA.getByRole('heading', { name: 'Chats', exact: true }).waitFor();
    await pageA.getByText('No chats yet').waitFor();
    await expectAccessible(pageA, 'chats list (empty)');
    await pageA.getByLabel('Title').fill('Launch plan');
    await pageA.getByRole('button', { name: 'Create chat' }).click();
    await pageA.waitForURL(/#\/chats\/[0-9a-f-]{36}$/);
    const chatId = /#\/chats\/([0-9a-f-]{36})$/.exec(pageA.url())?.[1] ?? '';
    await pageA.getByRole('heading', { name: 'Launch plan' }).waitFor();
    await expect.poll(() => pageA.locator('.here .badge').textContent()).toBe('Live');

    // A text file of a few MB through the picker: its progress bar moves between 0 and its max.
    await record(pageA);
    const line = 'The launch needs a checklist, a rollback plan and a quiet hour on the dashboard.\n';
    const big = Buffer.from(line.repeat(Math.ceil((6 * 1_048_576) / line.length)));
    // Loopback can take the whole body in one go; the DevTools protocol's network emulation paces the upload
    // (about 4 MB/s) so the bar has steps to show, as on a real connection.
    const cdp = await a.context.newCDPSession(pageA);
    await cdp.send('Network.enable');
    const pace = (uploadThroughput: number) =>
      cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput,
      });
    await pace(4 * 1_048_576);
    const chooser = pageA.waitForEvent('filechooser');
    await pageA.getByRole('button', { name: 'Attach files' }).click();
    await (await chooser).setFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: big });
    const fileRow = pageA.locator('.file-list .file', { hasText: 'notes.txt' });
    await fileRow.waitFor({ timeout: 30_000 });
    await pace(-1);
    await cdp.detach();
    const { progress } = await seen(pageA);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some(([value, max]) => value > 0 && value < max)).toBe(true);
    // Uploaded files go with the next message; the file can be downloaded.
    await pageA.getByRole('list', { name: 'Attached to this message' }).getByText('notes.txt').waitFor();
    const download = pageA.waitForEvent('download');
    await fileRow.getByRole('button', { name: 'Download notes.txt' }).click();
    expect((await download).suggestedFilename()).toBe('notes.txt');

    // A message with the file: the answer streams in (seen in pieces), then stays as a stored message.
    await pageA.getByLabel('Message', { exact: true }).fill('Summarise the attached notes, please');
    await pageA.getByLabel('Message', { exact: true }).press('Enter');
    const answerA = pageA.locator('.msg-assistant:not([data-streaming])');
    await answerA.first().waitFor();
    await expect.poll(() => answerA.first().textContent()).toContain('You said "Summarise the attached notes');
    // The file went inline: the model was sent far more than the typed words.
    expect(/(\d+) characters/.exec((await answerA.first().textContent()) ?? '')?.[1]).toSatisfy(
      (n: string | undefined) => Number(n) > 100_000,
    );
    const streamed = (await seen(pageA)).stream;
    const final = (await answerA.first().locator('.md').textContent()) ?? '';
    expect(streamed.length).toBeGreaterThan(1);
    expect(streamed.some((t) => t.length > 0 && t.length < final.length)).toBe(true);
    await pageA.locator('.msg-user', { hasText: 'Summarise the attached notes' }).getByText('notes.txt').waitFor();

    // Shared with the organization.
    await pageA.getByRole('button', { name: 'Share with the organization (Launch plan)' }).click();
    await pageA.locator('.chat-meta').getByText('Shared with organization').waitFor();
    // Dropping a file on the chat uploads it too.
    await pageA.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['# Agenda\n\n- ship it\n'], 'agenda.md', { type: 'text/markdown' }));
      const target = document.querySelector('.chat-layout');
      target?.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: data }));
      target?.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: data }));
    });
    await pageA.locator('.file-list .file', { hasText: 'agenda.md' }).waitFor();
    await screenshots(pageA, 'chat');
    await expectAccessible(pageA, 'chat');

    // B: an account added to A's organization, signed in there through the API, its session put where the
    // app keeps it.
    const emailB = `web-b-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const password = 'correct horse battery staple';
    await postJson(server, '/api/v1/auth/register', { email: emailB, password });
    await postJson(
      server,
      '/api/v1/organizations/current/members',
      { email: emailB, role: 'member' },
      { authorization: `Bearer ${sessionA.accessToken}` },
    );
    const loginB = (await postJson(server, '/api/v1/auth/login', {
      email: emailB,
      password,
      organization_id: sessionA.user.organization_id,
    })) as { access_token: string; refresh_token: string; user: StoredSession['user'] };
    expect(loginB.user.organization_id).toBe(sessionA.user.organization_id);
    const b = await openContext(browser, server.url);
    // Put there before the app's first script runs (and only when absent, so a refreshed session stays).
    await b.context.addInitScript(
      (s) => {
        // about:blank (a new page's first document) has no storage of its own.
        if (location.protocol !== 'http:') return;
        if (!localStorage.getItem('edgeway.session')) localStorage.setItem('edgeway.session', s);
      },
      JSON.stringify({ accessToken: loginB.access_token, refreshToken: loginB.refresh_token, user: loginB.user }),
    );
    const pageB = await b.context.newPage();
    await pageB.goto('/app/#/chats');
    // B's list has A's shared chat.
    await pageB.getByRole('link', { name: 'Launch plan' }).waitFor();
    await screenshots(pageB, 'chats-list');
    await expectAccessible(pageB, 'chats list');
    await pageB.getByRole('link', { name: 'Launch plan' }).click();
    await pageB.waitForURL(new RegExp(`#/chats/${chatId}$`));
    await pageB.getByRole('heading', { name: 'Launch plan' }).waitFor();
    // B sees the conversation so far.
    await pageB.locator('.msg-assistant', { hasText: 'You said "Summarise the attached notes' }).waitFor();

    // Who is here: each sees the other.
    const people = (page: Page) => page.getByRole('list', { name: 'People in this chat now' });
    await expect.poll(() => people(pageA).textContent()).toContain(emailB);
    await expect.poll(() => people(pageB).textContent()).toContain(sessionA.user.email);

    // B types: A sees it.
    await record(pageA);
    await record(pageB);
    await pageB.getByLabel('Message', { exact: true }).pressSequentially('Can we ship on Friday?', { delay: 20 });
    await expect.poll(() => pageA.locator('.typing').textContent()).toBe(`${emailB} is typing…`);

    // B sends: both see the message and the assistant's answer streaming in, then stored.
    await pageB.getByRole('button', { name: 'Send' }).click();
    for (const page of [pageA, pageB]) {
      await page.locator('.msg-user', { hasText: 'Can we ship on Friday?' }).waitFor();
      await page
        .locator('.msg-assistant:not([data-streaming])', { hasText: 'You said "Can we ship on Friday?"' })
        .waitFor();
      const { stream } = await seen(page);
      expect(
        stream.some((t) => t.startsWith('You said') && !t.includes('digest')),
        'a partial answer',
      ).toBe(true);
    }
    // Typing ends with the message.
    await expect.poll(() => pageA.locator('.typing').textContent()).toBe('');
    await expect
      .poll(() => pageA.locator('.msg-user', { hasText: 'Can we ship on Friday?' }).textContent())
      .toContain(emailB);
    await screenshots(pageB, 'chat-room');
    await expectAccessible(pageB, 'chat room');

    // B leaves: A sees only itself.
    await b.context.close();
    await expect.poll(() => people(pageA).textContent()).not.toContain(emailB);
    await a.context.close();
    a.expectClean();
    b.expectClean();
  });
});
