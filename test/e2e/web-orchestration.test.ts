// The orchestration pages in Chromium against `wrangler dev`: projects and templates created through their
// pages and filtered, a run started from a project and watched live over SSE (phases change state without
// a reload), a phase's output read and its file downloaded, a run cancelled and seen cancelled live in
// another tab, a run started from a template, the runs list filtered by status — clean and accessible.
//
// Slow phases: the local provider answers at once, so a local run is over before a page could show it
// running. These runs use the catalogue's gpt-4o-mini on the mock upstream (as OpenAI) with the mock's
// `[[fault:delay]]` marker in the topic: each phase then takes the mock's DELAY_MS (4 s).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../mock-upstream/server';
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

it('has a Chromium to drive', (ctx) => requireChromium(ctx, 'web-orchestration'));

const SLOW = '[[fault:delay]]';

// The phases as the page shows them: "name:status" in order.
const phaseStates = (page: Page) =>
  page.$$eval('[data-status]', (els) =>
    els.map((e) => `${(e as HTMLElement).dataset.phase}:${(e as HTMLElement).dataset.status}`),
  );
const runStatus = (page: Page) => page.locator('.orch-run-status .badge').textContent();

async function createProject(page: Page, name: string, description: string, topic: string): Promise<void> {
  await page.getByRole('button', { name: 'New project' }).click();
  const form = page.getByRole('form', { name: 'New project' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Description').fill(description);
  await form.getByLabel('Topic').fill(topic);
  await form.getByLabel('Priority').selectOption('high');
  await form.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('heading', { name, level: 2 }).waitFor();
}

async function createTemplate(page: Page, name: string, category: string, phases: string[]): Promise<void> {
  await page.getByRole('button', { name: 'New template' }).click();
  const form = page.getByRole('form', { name: 'New template' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Category').fill(category);
  await form.getByLabel('Phases (one per line, 1 to 20)').fill(phases.join('\n'));
  await form.getByRole('button', { name: 'Create template' }).click();
  await page.getByRole('heading', { name, level: 2 }).waitFor();
}

// On a failure, what the page and the API said, to tell a page that stopped following from a run that stopped.
async function diagnose(
  page: Page,
  server: DevServer,
  seen: () => string[],
  check: () => Promise<void>,
): Promise<void> {
  try {
    await check();
  } catch (err) {
    const runId = /#\/runs\/([0-9a-f-]{36})/.exec(page.url())?.[1] ?? '';
    const api = await page.evaluate(async (id) => {
      const token = (JSON.parse(localStorage.getItem('edgeway.session') ?? '{}') as { accessToken?: string })
        .accessToken;
      const res = await fetch(`/api/v1/orchestration/${id}`, { headers: { authorization: `Bearer ${token}` } });
      return res.text();
    }, runId);
    const connection = await page.locator('[data-connection]').getAttribute('data-connection');
    console.error(
      `web-orchestration: seen ${seen().join(', ')}; page shows ${(await phaseStates(page)).join(', ')} (${connection}); API: ${api.slice(0, 1500)}\n${server.output().slice(-3000)}`,
    );
    throw err;
  }
}

describe.skipIf(!HAVE_CHROMIUM)('the orchestration pages in Chromium', () => {
  let mock: MockUpstream;
  let server: DevServer;
  let browser: Browser;

  beforeAll(async () => {
    mock = await startMockUpstream();
    server = await startDevServer({
      vars: {
        DEFAULT_PROVIDER: 'local',
        OPENAI_API_KEY: 'sk-web-orchestration',
        OPENAI_BASE_URL: `${mock.url}/v1`,
        // The pages read a run again on each of its events: the per-client limit is not what this tests.
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_BURST: '100000',
      },
    });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await mock?.close();
  });

  it(
    'projects: created and filtered; a run started from one shows its phases changing live, their output and files',
    { timeout: 120_000 },
    async () => {
      const { context, expectClean } = await openContext(browser, server.url);
      const page = await context.newPage();
      await signUp(page);
      await page.goto('/app/#/projects');
      await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
      await page.getByText('No projects yet.').waitFor();

      await createProject(page, 'Alpha launch', 'The first release', `Plan the alpha release ${SLOW}`);
      await createProject(page, 'Beta cleanup', 'Tidy up afterwards', 'Remove the old flags');
      const cards = page.getByRole('list', { name: 'Projects' }).getByRole('listitem');
      await expect.poll(() => cards.count()).toBe(2);
      // Typing a filter narrows the list (the API's ?search=).
      await page.getByLabel('Search projects').fill('alpha');
      await expect.poll(() => cards.count()).toBe(1);
      await expect.poll(() => cards.first().textContent()).toContain('Alpha launch');
      await page.getByLabel('Priority', { exact: true }).selectOption('low');
      await page.getByText('No project matches these filters.').waitFor();
      await page.getByLabel('Priority', { exact: true }).selectOption('');
      await expect.poll(() => cards.count()).toBe(1);
      await screenshots(page, 'projects');
      await expectAccessible(page, 'projects');

      // Start a run of the project: two custom phases on the slow model.
      await page.getByRole('button', { name: 'Start run of Alpha launch' }).click();
      const start = page.getByRole('form', { name: 'Start a run of Alpha launch' });
      await expect.poll(() => start.getByLabel('Topic').inputValue()).toContain(SLOW);
      await start.getByLabel('Custom phases (optional, one per line)').fill('Draft\nReview');
      await expect.poll(() => start.locator('option[value="gpt-4o-mini"]').count()).toBe(1);
      await start.getByLabel('Model', { exact: true }).selectOption('gpt-4o-mini');
      await start.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
      // A mark in the page: still there at the end means nothing below reloaded it.
      await page.evaluate(() => ((window as unknown as { __same?: boolean }).__same = true));

      // Record every state the page shows until the run has completed.
      const seen: string[] = [];
      await diagnose(
        page,
        server,
        () => seen,
        () =>
          expect
            .poll(
              async () => {
                for (const s of await phaseStates(page)) if (seen.at(-1) !== s && !seen.includes(s)) seen.push(s);
                return runStatus(page);
              },
              { timeout: 60_000, interval: 150 },
            )
            .toBe('completed'),
      );
      console.info(`web-orchestration: phase states the page showed live: ${seen.join(', ')}`);
      const draft = new Set(seen.filter((s) => s.startsWith('Draft:')));
      const review = new Set(seen.filter((s) => s.startsWith('Review:')));
      expect(draft).toContain('Draft:running');
      expect(draft).toContain('Draft:completed');
      expect(review).toContain('Review:running');
      expect(review).toContain('Review:completed');
      expect(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same)).toBe(true);
      await expect.poll(() => page.getByText('2 of 2 phases completed').count()).toBe(1);
      expect(await page.getByRole('progressbar', { name: 'Run progress' }).getAttribute('value')).toBe('2');

      // A phase's output, as Markdown, on demand.
      await page.getByText('Output of Draft').click();
      await expect
        .poll(() => page.locator('.orch-output[open] .orch-output-body').textContent())
        .toContain('Mock answer to:');
      // Its file, downloaded through the API with the session's token.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: /Download phase-0-draft\.md/ }).click(),
      ]);
      expect(download.suggestedFilename()).toBe('phase-0-draft.md');
      const path = await download.path();
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(path, 'utf8')).toContain('Mock answer to:');
      await screenshots(page, 'run-detail');
      await expectAccessible(page, 'run detail');
      await context.close();
      expectClean();
    },
  );

  it(
    'cancels a run: the page and another tab watching it see it cancelled live; the runs list filters by status',
    {
      timeout: 120_000,
    },
    async () => {
      const { context, expectClean } = await openContext(browser, server.url);
      const page = await context.newPage();
      await signUp(page);
      await page.goto('/app/#/projects');
      await createProject(page, 'Gamma', 'To be cancelled', `A long plan ${SLOW}`);

      await page.goto('/app/#/runs');
      await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
      await page.getByText('No runs yet.').waitFor();
      await page.getByRole('button', { name: 'Start a run' }).click();
      const start = page.getByRole('form', { name: 'Start a run' });
      await expect.poll(() => start.locator('option', { hasText: 'Gamma' }).count()).toBe(1);
      await start.getByLabel('Project').selectOption({ label: 'Gamma' });
      await expect.poll(() => start.getByLabel('Topic').inputValue()).toContain(SLOW);
      await start.getByLabel('Custom phases (optional, one per line)').fill('One\nTwo\nThree');
      await start.getByLabel('Model', { exact: true }).selectOption('gpt-4o-mini');
      await start.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
      const runUrl = page.url();

      // A second tab on the same run: it learns of the cancellation only from the event stream.
      const watcher = await context.newPage();
      await watcher.goto(runUrl);
      await expect.poll(() => phaseStates(watcher), { timeout: 30_000 }).toContain('One:running');
      await expect.poll(() => phaseStates(page), { timeout: 30_000 }).toContain('One:running');

      await page.getByRole('button', { name: 'Cancel run' }).click();
      await expect.poll(() => runStatus(page)).toBe('cancelled');
      await expect.poll(() => runStatus(watcher), { timeout: 30_000 }).toBe('cancelled');
      await expect.poll(() => phaseStates(watcher)).toEqual(['One:cancelled', 'Two:cancelled', 'Three:cancelled']);
      await expect
        .poll(() => watcher.getByRole('status').filter({ hasText: 'The run was cancelled.' }).count())
        .toBe(1);
      expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
      await watcher.close();

      // The runs list: the cancelled run, found by its status.
      await page.getByRole('link', { name: 'All runs' }).click();
      await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
      const rows = page.getByRole('table', { name: 'Runs' }).locator('tbody tr');
      await expect.poll(() => rows.count()).toBe(1);
      await page.getByLabel('Status').selectOption('completed');
      await page.getByText('No runs match these filters.').waitFor();
      await page.getByLabel('Status').selectOption('cancelled');
      await expect.poll(() => rows.count()).toBe(1);
      await expect.poll(() => rows.first().textContent()).toContain('cancelled');
      await screenshots(page, 'runs');
      await expectAccessible(page, 'runs list');
      await context.close();
      expectClean();
    },
  );

  it(
    'templates: created and filtered; a run started from one completes with its phases',
    { timeout: 120_000 },
    async () => {
      const { context, expectClean } = await openContext(browser, server.url);
      const page = await context.newPage();
      await signUp(page);
      await page.goto('/app/#/projects');
      await createProject(page, 'Delta', 'For templates', 'Write the docs');

      await page.goto('/app/#/templates');
      await page.getByRole('heading', { name: 'Templates', level: 1 }).waitFor();
      await createTemplate(page, 'Research sprint', 'research', ['Outline', 'Write']);
      await createTemplate(page, 'Launch checklist', 'launch', ['Check', 'Ship', 'Announce']);
      const cards = page.getByRole('list', { name: 'Templates' }).getByRole('listitem');
      await expect.poll(() => cards.count()).toBe(2);
      await page.getByLabel('Search templates').fill('sprint');
      await expect.poll(() => cards.count()).toBe(1);
      await expect.poll(() => cards.first().textContent()).toContain('Research sprint');
      await page.getByLabel('Search templates').fill('');
      await expect.poll(() => cards.count()).toBe(2);
      await page.getByLabel('Category', { exact: true }).fill('launch');
      await page.getByLabel('Category', { exact: true }).press('Enter');
      await expect.poll(() => cards.count()).toBe(1);
      await expect.poll(() => cards.first().textContent()).toContain('Launch checklist');
      await page.getByLabel('Category', { exact: true }).fill('');
      await page.getByLabel('Category', { exact: true }).press('Enter');
      await expect.poll(() => cards.count()).toBe(2);
      await screenshots(page, 'templates');
      await expectAccessible(page, 'templates');

      // A run from the template, on the local model (quick): the template's phases, all completed.
      await page.getByRole('button', { name: 'Start run with Research sprint' }).click();
      const start = page.getByRole('form', { name: 'Start a run with Research sprint' });
      await expect.poll(() => start.locator('option', { hasText: 'Delta' }).count()).toBe(1);
      await start.getByLabel('Project').selectOption({ label: 'Delta' });
      await start.getByLabel('Topic').fill('Docs for the template run');
      await start.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
      await expect.poll(() => runStatus(page), { timeout: 60_000 }).toBe('completed');
      await expect.poll(() => phaseStates(page)).toEqual(['Outline:completed', 'Write:completed']);
      await page.goto('/app/#/templates');
      await expect.poll(() => page.getByText('Used by 1 runs').count()).toBe(1);
      await context.close();
      expectClean();
    },
  );
});
