// The playground in Chromium against `wrangler dev` with the local model slowed to a visible pace
// (LOCAL_STREAM_DELAY_MS): the model picker from the catalogue, an answer seen growing before it ends, a
// stream stopped halfway that keeps its text, a cache HIT for the same prompt sent twice, an API validation
// error in plain words, and the curl, openai SDK and anthropic SDK snippets run against the same server.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
import { type DevServer, postJson, repoRoot, startDevServer } from './helpers/dev-server';

const run = promisify(execFile);

it('has a Chromium to drive', (ctx) => requireChromium(ctx, 'web-playground'));

// ~25 words at this pace: a few seconds per answer, long enough to see it grow and to stop it.
const DELAY_MS = 120;

const answer = (page: Page) => page.getByTestId('answer');
const phase = (page: Page) => answer(page).getAttribute('data-phase');
const answerText = async (page: Page) => ((await answer(page).textContent()) ?? '').trim();

async function ask(page: Page, prompt: string): Promise<void> {
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  await page.getByRole('button', { name: 'Send' }).click();
}

// The answer's length the first time it is seen longer than `atLeast` characters while still streaming.
async function partialLength(page: Page, atLeast = 0): Promise<number> {
  const handle = await page.waitForFunction(
    (min) => {
      const el = document.querySelector('[data-testid="answer"]');
      const text = el?.textContent?.trim() ?? '';
      return el?.getAttribute('data-phase') === 'streaming' && el.querySelector('.md') && text.length > min
        ? text.length
        : 0;
    },
    atLeast,
    { polling: 'raf', timeout: 20_000 },
  );
  return (await handle.jsonValue()) as number;
}

async function sessionToken(page: Page): Promise<string> {
  const raw = await page.evaluate(() => localStorage.getItem('edgeway.session'));
  const token = (JSON.parse(raw ?? '{}') as { accessToken?: string }).accessToken;
  expect(token).toBeTruthy();
  return token as string;
}

describe.skipIf(!HAVE_CHROMIUM)('the playground in Chromium', () => {
  let server: DevServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startDevServer({
      vars: { DEFAULT_PROVIDER: 'local', LOCAL_STREAM_DELAY_MS: String(DELAY_MS) },
    });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('picks a model from the catalogue, streams an answer that grows, stops one, hits the cache the second time', async () => {
    const { context, watch, expectClean } = await openContext(browser, server.url);
    const page = await context.newPage();
    await signUp(page);
    await page.getByRole('heading', { name: 'Playground' }).waitFor();

    // The picker: chat models only (no embedding model), the local one chosen, its facts shown.
    const model = page.getByLabel('Model', { exact: true });
    await expect.poll(() => model.inputValue()).toBe('edgeway-local');
    const options = await model.locator('option').evaluateAll((els) => els.map((o) => (o as HTMLOptionElement).value));
    expect(options).toContain('gpt-4o-mini');
    expect(options.some((id) => id.startsWith('text-embedding'))).toBe(false);
    const facts = page.getByTestId('model-facts');
    await expect.poll(() => facts.textContent()).toMatch(/local.*8,192 tokens.*free in · free out.*Available/);
    await model.selectOption('gpt-4');
    await expect
      .poll(() => facts.textContent())
      .toMatch(/openai.*8,192 tokens.*\$0\.03 in · \$0\.06 out.*Not available on this deployment/);
    await model.selectOption('edgeway-local');
    await expectAccessible(page, 'playground (empty)');

    // An answer seen growing: a non-empty partial while streaming, then more by the end.
    await page.getByLabel('System prompt').fill('You are terse.');
    await ask(page, 'Tell me, in as many words as you like, how an edge gateway streams an answer to the browser');
    const partial = await partialLength(page);
    await expect.poll(() => phase(page), { timeout: 20_000 }).toBe('done');
    const full = await answerText(page);
    console.info(`web-playground: saw ${partial} of ${full.length} characters before the end`);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(full.length);
    expect(full).toContain('You said "Tell me, in as many words');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Answer complete' }).count()).toBe(1);
    await expect.poll(() => page.getByTestId('cache-status').textContent()).toBe('MISS');
    await expect.poll(() => page.getByTestId('tokens').textContent()).toMatch(/^\d+ \/ \d+ \/ \d+$/);
    await expect.poll(() => page.getByTestId('cost').textContent()).toBe('$0.00');
    await expect.poll(() => page.getByTestId('request-id').textContent()).toMatch(/^req_/);
    await expect.poll(() => page.getByTestId('ttft').textContent()).toMatch(/\d+(\.\d+)? (ms|s)$/);
    await expect.poll(() => page.getByTestId('total-time').textContent()).toMatch(/\d+(\.\d+)? (ms|s)$/);
    await screenshots(page, 'playground-answer');
    // At phone width nothing of the page is wider than the screen (long code scrolls inside its own box).
    // The page's own content only: the shell's header is not this page's to test.
    await page.setViewportSize(PHONE);
    const widest = () =>
      page.evaluate(() =>
        Math.max(
          ...Array.from(document.querySelectorAll('#main *'))
            .filter((el) => !el.parentElement?.closest('pre, .table-wrap'))
            .map((el) => el.getBoundingClientRect().right),
        ),
      );
    await expect.poll(async () => (await widest()) - PHONE.width).toBeLessThanOrEqual(0);
    await page.setViewportSize(DESKTOP);
    await expectAccessible(page, 'playground (answered)');

    // Stopped halfway (cache off so nothing answers it at once): the text so far stays, and says so.
    await page.getByLabel('System prompt').fill('');
    await page.getByLabel('Answer from the cache when it can').uncheck();
    const stopPrompt = 'Describe every step a request takes through the gateway before the provider answers it';
    await ask(page, stopPrompt);
    await partialLength(page, 20);
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => phase(page)).toBe('stopped');
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Stopped');
    const kept = await answerText(page);
    expect(kept.length).toBeGreaterThan(0);
    await page.waitForTimeout(DELAY_MS * 4);
    expect(await answerText(page)).toBe(kept);
    await expect.poll(() => page.getByTestId('cache-status').textContent()).toBe('BYPASS');
    await expect.poll(() => page.getByTestId('tokens').textContent()).toBe('not told (stopped)');
    // What was kept is the start of the whole answer (the local model is deterministic).
    const whole = await postJson(
      server,
      '/api/v1/chat/completion',
      { message: stopPrompt, model: 'edgeway-local', temperature: 0.7 },
      { authorization: `Bearer ${await sessionToken(page)}` },
    );
    expect(String(whole.response).startsWith(kept)).toBe(true);
    expect(kept.length).toBeLessThan(String(whole.response).length);
    await screenshots(page, 'playground-stopped');

    // The same prompt twice: a MISS, then an exact HIT.
    await page.getByLabel('Answer from the cache when it can').check();
    const cachePrompt = 'What does a cache hit look like in the playground of this gateway';
    await ask(page, cachePrompt);
    await expect.poll(() => phase(page), { timeout: 20_000 }).toBe('done');
    await expect.poll(() => page.getByTestId('cache-status').textContent()).toBe('MISS');
    const first = await answerText(page);
    // Again from the keyboard: Ctrl+Enter in the prompt sends.
    await page.getByLabel('Prompt', { exact: true }).focus();
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => phase(page), { timeout: 20_000 }).toBe('done');
    await expect.poll(() => page.getByTestId('cache-status').textContent()).toBe('HIT (exact)');
    expect(await answerText(page)).toBe(first);

    // A validation error from the API, in plain words with its request id.
    await page.getByLabel('Temperature').fill('5');
    await page.getByRole('button', { name: 'Send' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/temperature/i);
    await expect.poll(() => alert.textContent()).toMatch(/Request id: req_/);
    await expectAccessible(page, 'playground (error)');
    // The browser logs the refused request as a failed resource: expected here, and only that one.
    const refused = watch.consoleErrors.filter((e) => /400/.test(e));
    expect(refused.length).toBeLessThanOrEqual(1);
    watch.consoleErrors.splice(0, watch.consoleErrors.length, ...watch.consoleErrors.filter((e) => !/400/.test(e)));
    await context.close();
    expectClean();
  });

  it('copies the request as curl, openai SDK and anthropic SDK; each snippet works against the server', async () => {
    const { context, expectClean } = await openContext(browser, server.url);
    const page = await context.newPage();
    await signUp(page);
    const model = page.getByLabel('Model', { exact: true });
    await expect.poll(() => model.inputValue()).toBe('edgeway-local');
    const prompt = 'Say it\'s quoted: "fine" and $HOME stays literal';
    await page.getByLabel('System prompt').fill('Answer briefly.');
    await page.getByLabel('Max tokens').fill('200');
    await ask(page, prompt);
    await expect.poll(() => phase(page), { timeout: 20_000 }).toBe('done');
    const shown = await answerText(page);

    const token = await sessionToken(page);
    const snippet = page.locator('.pg-code code');
    const curl = (await snippet.textContent()) ?? '';
    expect(curl).toContain(`${server.url}/api/v1/chat/completion`);
    expect(curl).toContain('$EDGEWAY_API_KEY');
    expect(curl).not.toContain(token);
    await page.getByRole('button', { name: 'Copy as curl' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(curl);

    await page.getByLabel('openai SDK').check();
    const openai = (await snippet.textContent()) ?? '';
    expect(openai).toContain(`baseURL: "${server.url}/v1"`);
    expect(openai).toContain('process.env.EDGEWAY_API_KEY');
    expect(openai).toContain('max_tokens: 200');
    expect(openai).not.toContain(token);
    await page.getByLabel('anthropic SDK').check();
    const anthropic = (await snippet.textContent()) ?? '';
    expect(anthropic).toContain(`baseURL: "${server.url}"`);
    expect(anthropic).toContain("from '@anthropic-ai/sdk'");
    expect(anthropic).toContain('system: "Answer briefly."');
    expect(anthropic).not.toContain(token);
    await page.getByRole('button', { name: 'Copy as anthropic SDK' }).waitFor();
    await expectAccessible(page, 'playground (snippets)');
    await page.getByLabel('Theme').selectOption('dark');
    await expectAccessible(page, 'playground (snippets, dark)');
    await screenshots(page, 'playground-snippets');

    // An API key of this account, then the curl snippet exactly as copied, run by a shell.
    const created = await postJson(
      server,
      '/api/v1/auth/api-keys',
      { name: 'playground curl' },
      {
        authorization: `Bearer ${token}`,
      },
    );
    const { stdout } = await run('sh', ['-c', curl], {
      env: { ...process.env, EDGEWAY_API_KEY: String(created.key) },
      timeout: 30_000,
    });
    const frames = stdout
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as { chunk?: string; finished?: boolean; error?: unknown });
    expect(frames.at(-1)).toMatchObject({ finished: true });
    expect(frames.some((f) => f.error)).toBe(false);
    expect(frames.map((f) => f.chunk ?? '').join('')).toBe(shown);

    // The SDK snippets are plain JavaScript too: run by Node from inside the repository (whose node_modules
    // has both SDKs), they print the same deterministic answer.
    const dir = join(repoRoot, '.tmp', 'web-playground');
    mkdirSync(dir, { recursive: true });
    for (const [name, code] of [
      ['openai', openai],
      ['anthropic', anthropic],
    ] as const) {
      const file = join(dir, `${name}-snippet.mjs`);
      writeFileSync(file, code);
      const out = await run(process.execPath, [file], {
        env: { ...process.env, EDGEWAY_API_KEY: String(created.key) },
        timeout: 30_000,
      });
      expect(out.stdout, `${name} snippet`).toBe(shown);
    }
    await context.close();
    expectClean();
  });
});
