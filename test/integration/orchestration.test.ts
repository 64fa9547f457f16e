import { env, introspectWorkflow, type WorkflowInstanceIntrospector, type WorkflowIntrospector } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { memberOf, register, type Account } from '../helpers/auth';
import { call, expectEnvelope, mockRequests, postJson } from '../helpers/http';

// Seed 003's runs on the Workflow engine: each phase a durable step making an AI call through the gateway
// (here Groq, which the suite points at the mock upstream), retried by the engine, cancellable mid-call,
// its progress in a resumable SSE stream, its outputs as files when integration is on.

type Json = Record<string, unknown>;
const MODEL = 'groq:llama-3.1-8b-instant';

async function project(who: Account, name = 'Run target'): Promise<string> {
  const res = await postJson('/api/v1/projects', { name, topic: 'A project to orchestrate' }, undefined, who.auth);
  expect(res.status).toBe(201);
  return String(((await res.json()) as Json).id);
}

async function start(who: Account, body: Json): Promise<Json> {
  const res = await postJson('/api/v1/orchestrate', body, undefined, who.auth);
  if (res.status !== 201) throw new Error(`orchestrate ${res.status}: ${await res.text()}`);
  return (await res.json()) as Json;
}

async function getRun(who: Account, runId: string) {
  const res = await call(`/api/v1/orchestration/${runId}`, { headers: who.auth });
  expect(res.status).toBe(200);
  return (await res.json()) as { run: Json; phases: Json[]; integration_operations: Json[] };
}

// Reads an SSE response to its end: [id, event, data] per event.
async function readEvents(res: Response): Promise<{ id: number; event: string; data: Json }[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2) ?? '';
      return { id: Number(field('id')), event: field('event'), data: JSON.parse(field('data')) as Json };
    });
}

// The one instance a test's introspector saw created.
async function only(introspector: WorkflowIntrospector): Promise<WorkflowInstanceIntrospector> {
  const [instance, ...more] = await introspector.get();
  if (!instance || more.length > 0)
    throw new Error(`expected one Workflow instance, got ${more.length + (instance ? 1 : 0)}`);
  return instance;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('POST /orchestrate on the Workflow engine', { timeout: 30_000 }, () => {
  it('runs three phases, each given the topic and the earlier outputs; stores them; streams and resumes the events', async () => {
    await using introspector = await introspectWorkflow(env.ORCHESTRATION);
    const owner = await register();
    const projectId = await project(owner);
    const marker = `topic-${crypto.randomUUID()}`;
    const started = await start(owner, {
      project_id: projectId,
      topic: `Create a REST API ${marker}`,
      custom_phases: ['ideation', 'design', 'implementation'],
      integration_enabled: true,
      settings: { ai_model: MODEL, max_tokens: 500, temperature: 0.2 },
    });
    expect(started).toMatchObject({
      status: 'started',
      message: 'Orchestration started successfully',
      phases: [
        { code: 'Phase 0', name: 'Ideation', status: 'pending' },
        { code: 'Phase 1', name: 'Design', status: 'pending' },
        { code: 'Phase 2', name: 'Implementation', status: 'pending' },
      ],
    });
    expect(Date.parse(String(started.estimated_completion))).toBeGreaterThan(Date.now());
    const runId = String(started.run_id);
    const instance = await only(introspector);
    await instance.waitForStatus('complete');

    const { run, phases, integration_operations: ops } = await getRun(owner, runId);
    expect(run).toMatchObject({
      id: runId,
      project_id: projectId,
      status: 'completed',
      total_phases: 3,
      completed_phases: 3,
      success_rate: 100,
      integration_enabled: true,
    });
    expect(run.execution_time_ms).toEqual(expect.any(Number));
    expect(phases.map((p) => [p.phase_code, p.phase_name, p.status])).toEqual([
      ['Phase 0', 'Ideation', 'completed'],
      ['Phase 1', 'Design', 'completed'],
      ['Phase 2', 'Implementation', 'completed'],
    ]);
    for (const p of phases) {
      expect(String(p.response_text)).toContain('Mock answer to:');
      expect(p.token_usage).toMatchObject({ total_tokens: expect.any(Number) });
      expect((p.token_usage as { total_tokens: number }).total_tokens).toBeGreaterThan(0);
      expect(p.execution_time_ms).toEqual(expect.any(Number));
    }
    // The upstream saw each phase once, in order, the later ones carrying the earlier outputs.
    const seen = await mockRequests(marker);
    expect(seen).toHaveLength(3);
    const prompts = seen.map((r) => JSON.stringify(JSON.parse(r.body)));
    expect(prompts[1]).toContain('## Ideation');
    expect(prompts[2]).toContain('## Design');
    expect(JSON.parse(seen[0]?.body ?? '{}')).toMatchObject({
      model: 'llama-3.1-8b-instant',
      max_tokens: 500,
      temperature: 0.2,
    });

    // Integration: one file per phase, served back with the phase's output.
    expect(ops).toHaveLength(3);
    for (const op of ops) expect(op).toMatchObject({ operation_type: 'file_system', status: 'completed' });
    const file = await call(String(ops[0]?.file_url), { headers: owner.auth });
    expect(file.status).toBe(200);
    expect(await file.text()).toContain(String(phases[0]?.response_text));

    // The event stream: every milestone numbered from 1, then the end; a resume gets only what follows.
    const all = await readEvents(await call(`/api/v1/orchestration/${runId}/events`, { headers: owner.auth }));
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all.map((e) => e.event)).toEqual([
      'orchestration.started',
      'phase.started',
      'orchestration.phase_completed',
      'phase.started',
      'orchestration.phase_completed',
      'phase.started',
      'orchestration.phase_completed',
      'orchestration.completed',
    ]);
    const resumed = await readEvents(
      await call(`/api/v1/orchestration/${runId}/events`, { headers: { ...owner.auth, 'last-event-id': '5' } }),
    );
    expect(resumed.map((e) => e.id)).toEqual([6, 7, 8]);

    // The phases' calls are in the request log like any AI call (one row each, after the consumer).
    await until('request rows', async () => {
      const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM requests WHERE text LIKE ?')
        .bind(`%${marker}%`)
        .first<{ n: number }>();
      return row && row.n === 3 ? row.n : undefined;
    });
  });

  it('a phase whose provider fails twice (503) is retried by the engine and the run completes', async () => {
    await using introspector = await introspectWorkflow(env.ORCHESTRATION);
    await introspector.modifyAll(async (m) => m.disableRetryDelays());
    const owner = await register();
    const marker = `flaky-${crypto.randomUUID()}`;
    const started = await start(owner, {
      project_id: await project(owner),
      // The mock answers 503 to the first two calls with this prompt, then answers.
      topic: `${marker} [[fault:flaky]]`,
      custom_phases: ['only'],
      settings: { ai_model: MODEL },
    });
    const instance = await only(introspector);
    await instance.waitForStatus('complete');
    const { run, phases } = await getRun(owner, String(started.run_id));
    expect(run).toMatchObject({ status: 'completed', completed_phases: 1, success_rate: 100 });
    // Three engine attempts of the step, one upstream call each: the router did not retry inside an attempt.
    expect(phases[0]).toMatchObject({ status: 'completed', attempts: 3 });
    expect(await mockRequests(marker)).toHaveLength(3);
  });

  it('a step that fails twice is retried by the engine (the plugin fails it without running it)', async () => {
    await using introspector = await introspectWorkflow(env.ORCHESTRATION);
    await introspector.modifyAll(async (m) => {
      await m.disableRetryDelays();
      await m.mockStepError({ name: 'phase 1' }, new Error('PROVIDER_ERROR: upstream down'), 2);
    });
    const owner = await register();
    const started = await start(owner, {
      project_id: await project(owner),
      topic: 'retried phase',
      custom_phases: ['one', 'two', 'three'],
      settings: { ai_model: MODEL },
    });
    const instance = await only(introspector);
    await instance.waitForStatus('complete');
    const { run, phases } = await getRun(owner, String(started.run_id));
    expect(run).toMatchObject({ status: 'completed', completed_phases: 3 });
    // The third attempt ran the step: it records its attempt number.
    expect(phases[1]).toMatchObject({ status: 'completed', attempts: 3 });
  });

  it('a provider that keeps failing fails the phase after the retries; later phases are skipped', async () => {
    await using introspector = await introspectWorkflow(env.ORCHESTRATION);
    await introspector.modifyAll(async (m) => m.disableRetryDelays());
    const owner = await register();
    const marker = `fail-${crypto.randomUUID()}`;
    const started = await start(owner, {
      project_id: await project(owner),
      topic: `${marker} [[fault:400]]`,
      custom_phases: ['one', 'two'],
      settings: { ai_model: MODEL },
    });
    const instance = await only(introspector);
    await instance.waitForStatus('complete');
    const { run, phases } = await getRun(owner, String(started.run_id));
    expect(run).toMatchObject({ status: 'failed', completed_phases: 0, success_rate: 0 });
    expect(String(run.error)).toContain('PROVIDER_ERROR');
    expect(phases.map((p) => p.status)).toEqual(['failed', 'skipped']);
    // A 400 from the provider is not retried by the engine: one attempt reached the upstream.
    expect(await mockRequests(marker)).toHaveLength(1);
  });

  it('cancel mid-phase terminates the run and the upstream sees its call aborted', async () => {
    await using introspector = await introspectWorkflow(env.ORCHESTRATION);
    const owner = await register();
    const marker = `cancel-${crypto.randomUUID()}`;
    const started = await start(owner, {
      project_id: await project(owner),
      topic: `${marker} [[fault:hang]]`,
      custom_phases: ['only'],
      settings: { ai_model: MODEL },
    });
    const runId = String(started.run_id);
    await until('the upstream call', async () => ((await mockRequests(marker)).length > 0 ? true : undefined));
    const res = await postJson(`/api/v1/orchestration/${runId}/cancel`, {}, undefined, owner.auth);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      message: 'Orchestration cancelled successfully',
      run_id: runId,
      status: 'cancelled',
    });
    await until('the abort', async () => ((await mockRequests(marker))[0]?.aborted ? true : undefined));
    const { run, phases } = await getRun(owner, runId);
    expect(run.status).toBe('cancelled');
    expect(phases[0]?.status).toBe('cancelled');
    const instance = await only(introspector);
    await instance.waitForStatus('terminated');
    // Cancelling again: the run has ended.
    await expectEnvelope(
      await postJson(`/api/v1/orchestration/${runId}/cancel`, {}, undefined, owner.auth),
      409,
      'CONFLICT',
    );
  });

  it('uses a template’s phases and counts the use; seven default phases otherwise', async () => {
    await using introspector = await introspectWorkflow(env.ORCHESTRATION);
    const owner = await register();
    const projectId = await project(owner);
    const created = await postJson(
      '/api/v1/templates',
      {
        name: 'Two steps',
        category: 'custom',
        is_public: false,
        template_data: { phases: ['research', 'build'], integrations: [], settings: { ai_model: MODEL } },
      },
      undefined,
      owner.auth,
    );
    expect(created.status).toBe(201);
    const templateId = String(((await created.json()) as Json).id);
    const fromTemplate = await start(owner, {
      project_id: projectId,
      topic: 'from a template',
      template_id: templateId,
    });
    expect((fromTemplate.phases as Json[]).map((p) => p.name)).toEqual(['Research', 'Build']);
    const template = (await (await call(`/api/v1/templates/${templateId}`, { headers: owner.auth })).json()) as Json;
    expect(template.usage_count).toBe(1);
    const defaults = await start(owner, { project_id: projectId, topic: 'defaults', settings: { ai_model: MODEL } });
    expect((defaults.phases as Json[]).map((p) => p.code)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `Phase ${i}`));
    for (const instance of await introspector.get()) await instance.waitForStatus('complete');
  });
});

describe('orchestration access', { timeout: 30_000 }, () => {
  it("another organization's runs are not found on every route; roles; bad input is 400", async () => {
    await using introspector = await introspectWorkflow(env.ORCHESTRATION);
    const owner = await register();
    const projectId = await project(owner);
    const started = await start(owner, {
      project_id: projectId,
      topic: 'private run',
      custom_phases: ['one'],
      integration_enabled: true,
      settings: { ai_model: MODEL },
    });
    const runId = String(started.run_id);
    const instance = await only(introspector);
    await instance.waitForStatus('complete');
    const { integration_operations: ops } = await getRun(owner, runId);

    const stranger = await register();
    for (const [path, init] of [
      [`/api/v1/orchestration/${runId}`, {}],
      [`/api/v1/orchestration/${runId}/events`, {}],
      [String(ops[0]?.file_url), {}],
      [`/api/v1/orchestration/${runId}/cancel`, { method: 'POST' }],
    ] as const) {
      await expectEnvelope(await call(path, { ...init, headers: stranger.auth }), 404, 'RESOURCE_NOT_FOUND');
    }
    const list = (await (await call('/api/v1/orchestration', { headers: stranger.auth })).json()) as { data: Json[] };
    expect(list.data).toEqual([]);
    // Their project is not ours to run.
    await expectEnvelope(
      await postJson('/api/v1/orchestrate', { project_id: projectId, topic: 'x' }, undefined, stranger.auth),
      404,
      'RESOURCE_NOT_FOUND',
    );

    const viewer = await memberOf(owner, 'viewer');
    const member = await memberOf(owner, 'member');
    expect((await call(`/api/v1/orchestration/${runId}`, { headers: viewer.auth })).status).toBe(200);
    await expectEnvelope(
      await postJson('/api/v1/orchestrate', { project_id: projectId, topic: 'x' }, undefined, viewer.auth),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    // The run has ended, but a member who did not start it is refused before that is said.
    await expectEnvelope(
      await postJson(`/api/v1/orchestration/${runId}/cancel`, {}, undefined, member.auth),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );

    for (const body of [
      { project_id: projectId },
      { project_id: projectId, topic: 'x', custom_phases: [] },
      { project_id: projectId, topic: 'x', custom_phases: Array.from({ length: 21 }, (_, i) => `p${i}`) },
      { project_id: projectId, topic: 'x', settings: { temperature: 5 } },
      { project_id: projectId, topic: 'x', settings: { ai_model: 'nosuchprovider:model' } },
      { project_id: projectId, topic: 'x', unknown: true },
    ]) {
      await expectEnvelope(await postJson('/api/v1/orchestrate', body, undefined, owner.auth), 400, 'VALIDATION_ERROR');
    }
    await expectEnvelope(
      await call(`/api/v1/orchestration/${runId}/events`, { headers: { ...owner.auth, 'last-event-id': 'abc' } }),
      400,
      'VALIDATION_ERROR',
    );
    await expectEnvelope(
      await call('/api/v1/orchestration?status=sideways', { headers: owner.auth }),
      400,
      'VALIDATION_ERROR',
    );
    const filtered = (await (
      await call(`/api/v1/orchestration?project_id=${projectId}&status=completed,failed`, { headers: owner.auth })
    ).json()) as { data: Json[]; pagination: Json };
    expect(filtered.data.map((r) => r.id)).toEqual([runId]);
    // The shared list parser: an unknown sort field is refused, the cursor walks the list.
    await expectEnvelope(
      await call('/api/v1/orchestration?sort=nope', { headers: owner.auth }),
      400,
      'VALIDATION_ERROR',
    );
    const byCursor = await call('/api/v1/orchestration?limit=1&sort=-created_at', { headers: owner.auth });
    expect(byCursor.headers.get('x-total-count')).toBe('1');
    expect(filtered.data[0]).toMatchObject({ project: { id: projectId, name: 'Run target' }, status: 'completed' });
  });
});
