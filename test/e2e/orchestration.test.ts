// Seed 003's runs end to end under `wrangler dev`: a three-phase run on the local Workflow engine, its event
// stream read as a client would, and a run that survives the server being stopped mid-phase and started
// again on the same state. The mock upstream answers as OpenAI does.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../mock-upstream/server';
import { type DevServer, startDevServer } from './helpers/dev-server';

type Json = Record<string, unknown>;

let mock: MockUpstream;
let server: DevServer | undefined;
let persistDir: string | undefined;

const vars = () => ({
  OPENAI_API_KEY: 'sk-e2e-upstream',
  OPENAI_BASE_URL: `${mock.url}/v1`,
  ALLOW_ANONYMOUS: 'false',
  // This file polls runs: the per-client limit of a real deployment is not what it tests.
  RATE_LIMIT_PER_MINUTE: '100000',
  RATE_LIMIT_BURST: '100000',
  // A run silent this long after the restart is handed to a new Workflow instance.
  ORCHESTRATION_STALL_SECONDS: '6',
});

async function api(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  if (!server) throw new Error('no server');
  const res = await fetch(`${server.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return text.startsWith('{') ? (JSON.parse(text) as Json) : { text };
}

async function runUntil(runId: string, token: string, done: (run: Json) => boolean, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await api(`/api/v1/orchestration/${runId}`, { token });
    if (done(got.run as Json)) return got as { run: Json; phases: Json[] };
    if (Date.now() > deadline) throw new Error(`run not done: ${JSON.stringify(got).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  mock = await startMockUpstream();
  server = await startDevServer({ vars: vars(), keepState: true });
  persistDir = server.persistDir;
});

afterAll(async () => {
  await server?.stop();
  await mock?.close();
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

describe('orchestration under wrangler dev', () => {
  it('completes a three-phase run and streams its events', async () => {
    const account = await api('/api/v1/auth/register', {
      body: { email: 'orch@example.com', password: 'orch-password-1' },
    });
    const token = String(account.access_token);
    const project = await api('/api/v1/projects', { token, body: { name: 'E2E', topic: 'e2e' } });
    const started = await api('/api/v1/orchestrate', {
      token,
      body: {
        project_id: project.id,
        topic: 'An e2e run',
        custom_phases: ['ideation', 'design', 'implementation'],
        settings: { ai_model: 'openai:gpt-4o-mini' },
      },
    });
    const runId = String(started.run_id);
    const { run, phases } = await runUntil(runId, token, (r) => r.status === 'completed');
    expect(run).toMatchObject({ completed_phases: 3, success_rate: 100 });
    for (const p of phases) expect(String(p.response_text)).toContain('Mock answer to:');
    const events = await api(`/api/v1/orchestration/${runId}/events`, { token });
    const ids = [...String(events.text).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(String(events.text)).toContain('event: orchestration.completed');
  });

  it(
    'a run whose server stops mid-phase resumes when the server starts again on the same state',
    { timeout: 180_000 },
    async () => {
      const account = await api('/api/v1/auth/register', {
        body: { email: 'restart@example.com', password: 'orch-password-1' },
      });
      const token = String(account.access_token);
      const project = await api('/api/v1/projects', { token, body: { name: 'Restart', topic: 'restart' } });
      const marker = `restart-${crypto.randomUUID()}`;
      const started = await api('/api/v1/orchestrate', {
        token,
        body: {
          project_id: project.id,
          // Each phase's answer takes the mock 4 s: long enough to stop the server in the middle of one.
          topic: `${marker} [[fault:delay]]`,
          custom_phases: ['first', 'second'],
          settings: { ai_model: 'openai:gpt-4o-mini' },
        },
      });
      const runId = String(started.run_id);
      await runUntil(runId, token, (r) => r.status === 'running', 20_000);
      // The first phase's call is in flight at the upstream.
      const seen = async () =>
        (await (await fetch(`${mock.url}/__mock/requests?contains=${marker}`)).json()) as { aborted: boolean }[];
      const deadline = Date.now() + 20_000;
      while ((await seen()).length === 0) {
        if (Date.now() > deadline) throw new Error('the upstream never saw the first phase');
        await new Promise((r) => setTimeout(r, 100));
      }
      await server?.stop();
      server = await startDevServer({ vars: vars(), persistDir, keepState: true });
      const { run, phases } = await runUntil(runId, token, (r) => r.status === 'completed', 90_000);
      expect(run).toMatchObject({ completed_phases: 2 });
      expect(phases.map((p) => p.status)).toEqual(['completed', 'completed']);
    },
  );
});
