import { createRoute, z } from '@hono/zod-openapi';
import { and, avg, count, desc, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { getDb } from '../../db/client';
import { orchestrationPhases, orchestrationRuns, projects, RUN_STATUSES, templates } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { defineList } from '../../lib/list-query';
import { PaginationSchema, paginationHeaders } from '../../lib/pagination';
import { createRouter, errorResponses } from '../../lib/router';
import { isoNow } from '../../lib/time';
import { atLeast, protect, roleRank, SIGNED_IN, type Identity, signedIn } from '../accounts';
import { parseTarget } from '../models';
import { findProject } from '../projects';
import { findVisibleTemplate } from '../templates';
import { announce } from './announce';
import { runEventStream } from './event-stream';
import { recoverIfStalled } from './recover';
import { DEFAULT_PHASES, MAX_PHASES, planPhases } from './phases';
import { closeOpenPhases, getOperations, getPhases, getRun, isTerminal, setRunStatus, type RunRow } from './run-store';
import { humanDuration, OperationSchema, operationView, PhaseSchema, phaseView, RunSchema, runView } from './views';

// Seed 003 §2.4: POST /orchestrate starts a run on the Workflow engine; GET /orchestration lists runs, GET
// /orchestration/{run_id} shows one with its phases and integration operations, POST …/cancel stops it, GET
// …/events streams its progress (SSE, resumable). Why: docs/design/orchestration.md
export const orchestrationRoutes = createRouter();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const Settings = z
  .object({
    ai_model: z.string().min(1).max(200).optional(),
    max_tokens: z.number().int().min(1).max(100_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();

const OrchestrateBody = z
  .object({
    project_id: z.string().min(1).max(64),
    topic: z.string().trim().min(1).max(10_000),
    integration_enabled: z.boolean().optional(),
    custom_phases: z.array(z.string().trim().min(1).max(100)).min(1).max(MAX_PHASES).optional(),
    template_id: z.string().min(1).max(64).optional(),
    settings: Settings.optional(),
  })
  .strict()
  .openapi('OrchestrateRequest');

const Started = z
  .object({
    run_id: z.string(),
    status: z.literal('started'),
    message: z.string(),
    estimated_completion: z.string(),
    phases: z.array(
      z.object({ code: z.string(), name: z.string(), status: z.string(), estimated_duration: z.string() }),
    ),
  })
  .openapi('OrchestrationStarted');

const notFound = () => new ApiError('RESOURCE_NOT_FOUND', 'Run not found');

// A run of the caller's organization, or 404 (another organization's run is not found, not forbidden).
async function runOf(c: Context<AppEnv>, who: Identity, runId: string): Promise<RunRow> {
  if (!UUID.test(runId)) throw notFound();
  const run = await getRun(getDb(c.env.DB), runId);
  if (!run || run.organizationId !== who.organizationId) throw notFound();
  return run;
}

// Seconds per phase: the organization's recent finished phases on average, else the configured estimate.
async function phaseEstimateSeconds(c: Context<AppEnv>, organizationId: string): Promise<number> {
  const recent = getDb(c.env.DB)
    .select({ ms: orchestrationPhases.executionTimeMs })
    .from(orchestrationPhases)
    .innerJoin(orchestrationRuns, eq(orchestrationRuns.id, orchestrationPhases.runId))
    .where(and(eq(orchestrationRuns.organizationId, organizationId), eq(orchestrationPhases.status, 'completed')))
    .orderBy(desc(orchestrationPhases.completedAt))
    .limit(50)
    .as('recent');
  const row = await getDb(c.env.DB)
    .select({ mean: avg(recent.ms) })
    .from(recent)
    .get();
  const mean = row?.mean === null || row?.mean === undefined ? NaN : Number(row.mean) / 1000;
  return Number.isFinite(mean) && mean > 0 ? mean : c.var.config.ORCHESTRATION_PHASE_ESTIMATE_SECONDS;
}

orchestrationRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/orchestrate',
    operationId: 'startOrchestration',
    tags: ['orchestration'],
    summary: 'Start a run: one AI phase after another on the Workflow engine (seed 003)',
    middleware: [protect(atLeast('member'))],
    request: { body: { required: true, content: { 'application/json': { schema: OrchestrateBody } } } },
    responses: {
      201: { description: 'Started', content: { 'application/json': { schema: Started } } },
      ...errorResponses(400, 401, 403, 404, 429),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const body = c.req.valid('json');
    const db = getDb(c.env.DB);
    const project = await findProject(db, who.organizationId, body.project_id);
    if (!project) throw new ApiError('RESOURCE_NOT_FOUND', 'Project not found');
    const template = body.template_id ? await findVisibleTemplate(db, who.organizationId, body.template_id) : undefined;
    if (body.template_id && !template) throw new ApiError('RESOURCE_NOT_FOUND', 'Template not found');
    const templateData = (template?.template.templateData ?? {}) as {
      phases?: unknown;
      settings?: { ai_model?: string; max_tokens?: number; temperature?: number; integration_enabled?: boolean };
    };
    const templatePhases = Array.isArray(templateData.phases)
      ? templateData.phases.filter((p): p is string => typeof p === 'string' && p.trim() !== '').slice(0, MAX_PHASES)
      : [];
    const names = body.custom_phases ?? (templatePhases.length > 0 ? templatePhases : [...DEFAULT_PHASES]);
    const plan = planPhases(names);
    const fromTemplate = Settings.safeParse({
      ai_model: templateData.settings?.ai_model,
      max_tokens: templateData.settings?.max_tokens,
      temperature: templateData.settings?.temperature,
    });
    const settings = { ...(fromTemplate.success ? fromTemplate.data : {}), ...body.settings };
    // A model the platform does not know is the caller's mistake now, not a failed phase later.
    if (settings.ai_model !== undefined) parseTarget(settings.ai_model, c.var.config, 'settings.ai_model');
    const runId = crypto.randomUUID();
    const integrationEnabled = body.integration_enabled ?? templateData.settings?.integration_enabled === true;
    await db.batch([
      db.insert(orchestrationRuns).values({
        id: runId,
        organizationId: who.organizationId,
        projectId: project.project.id,
        createdBy: who.userId,
        templateId: template?.template.id ?? null,
        topic: body.topic,
        totalPhases: plan.length,
        integrationEnabled,
        settings,
        workflowInstanceId: runId,
      }),
      db.insert(orchestrationPhases).values(
        plan.map((p) => ({
          id: crypto.randomUUID(),
          runId,
          position: p.position,
          phaseCode: p.code,
          phaseName: p.name,
        })),
      ),
      ...(template
        ? [
            db
              .update(templates)
              .set({ usageCount: sql`${templates.usageCount} + 1` })
              .where(eq(templates.id, template.template.id)),
          ]
        : []),
    ]);
    try {
      await c.env.ORCHESTRATION.create({ id: runId, params: { runId } });
    } catch (err) {
      c.var.log.error('workflow not started', { runId, error: String(err) });
      await setRunStatus(db, runId, 'failed', { error: 'The run could not be started', completedAt: isoNow() });
      throw new ApiError('SERVICE_UNAVAILABLE', 'The run could not be started; try again');
    }
    const perPhase = await phaseEstimateSeconds(c, who.organizationId);
    return c.json(
      {
        run_id: runId,
        status: 'started' as const,
        message: 'Orchestration started successfully',
        estimated_completion: new Date(Date.now() + perPhase * plan.length * 1000).toISOString(),
        phases: plan.map((p) => ({
          code: p.code,
          name: p.name,
          status: 'pending',
          estimated_duration: humanDuration(perPhase),
        })),
      },
      201,
    );
  },
);

interface RunListRow {
  run: RunRow;
  projectName: string;
}

// GET /orchestration on the shared list parser (docs/design/list-queries.md): seed 003's project_id and
// status filters (status: several, comma-separated), dates, search in the topic, sorting, all paginations.
const runList = defineList<RunListRow>({
  sortable: {
    created_at: { expr: orchestrationRuns.createdAt, type: 'string', key: (r) => r.run.createdAt },
    updated_at: { expr: orchestrationRuns.updatedAt, type: 'string', key: (r) => r.run.updatedAt },
    status: { expr: orchestrationRuns.status, type: 'string', key: (r) => r.run.status },
    execution_time_ms: {
      expr: sql`COALESCE(${orchestrationRuns.executionTimeMs}, -1)`,
      type: 'number',
      key: (r) => r.run.executionTimeMs ?? -1,
    },
  },
  defaultSort: '-created_at',
  id: { expr: orchestrationRuns.id, type: 'string', key: (r) => r.run.id },
  filters: {
    status: { kind: 'enum', column: orchestrationRuns.status, values: RUN_STATUSES },
    project_id: { kind: 'exact', column: orchestrationRuns.projectId, max: 64 },
  },
  search: [orchestrationRuns.topic],
  created: orchestrationRuns.createdAt,
});

const ListItem = z.object({
  id: z.string(),
  project: z.object({ id: z.string(), name: z.string() }),
  topic: z.string(),
  status: z.string(),
  success_rate: z.number().nullable(),
  execution_time_ms: z.number().int().nullable(),
  created_at: z.string(),
});

orchestrationRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/orchestration',
    operationId: 'listOrchestrationRuns',
    tags: ['orchestration'],
    summary: "The organization's runs: filtered (project_id, status), sorted and paginated",
    middleware: [protect(SIGNED_IN)],
    request: { query: runList.query },
    responses: {
      200: {
        description: 'A page of runs; `X-Total-Count` and `Link` headers too',
        content: {
          'application/json': { schema: z.object({ data: z.array(ListItem), pagination: PaginationSchema }) },
        },
      },
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const q = runList.parse(c.req.valid('query'));
    const db = getDb(c.env.DB);
    const scope = and(eq(orchestrationRuns.organizationId, who.organizationId), q.where);
    // One batch: the page and its counts from the same state of the table.
    const [rows, counts] = await db.batch([
      db
        .select({ run: orchestrationRuns, projectName: projects.name })
        .from(orchestrationRuns)
        .innerJoin(projects, eq(projects.id, orchestrationRuns.projectId))
        .where(and(scope, q.seek))
        .orderBy(...q.orderBy)
        .limit(q.fetch)
        .offset(q.offset),
      db.select({ total: count(), before: q.before }).from(orchestrationRuns).where(scope),
    ]);
    const { data, pagination } = q.finish(rows, counts[0] ?? { total: 0, before: 0 });
    return c.json(
      {
        data: data.map(({ run, projectName }) => ({
          id: run.id,
          project: { id: run.projectId, name: projectName },
          topic: run.topic,
          status: run.status,
          success_rate: run.successRate,
          execution_time_ms: run.executionTimeMs,
          created_at: run.createdAt,
        })),
        pagination,
      },
      200,
      paginationHeaders(c.req.url, pagination),
    );
  },
);

const RunParam = z.object({ run_id: z.string().max(64) });

orchestrationRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/orchestration/{run_id}',
    operationId: 'getOrchestrationRun',
    tags: ['orchestration'],
    summary: 'One run with its phases and integration operations',
    middleware: [protect(SIGNED_IN)],
    request: { params: RunParam },
    responses: {
      200: {
        description: 'The run',
        content: {
          'application/json': {
            schema: z.object({
              run: RunSchema,
              phases: z.array(PhaseSchema),
              integration_operations: z.array(OperationSchema),
            }),
          },
        },
      },
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const run = await runOf(c, who, c.req.valid('param').run_id);
    const db = getDb(c.env.DB);
    c.executionCtx.waitUntil(recoverIfStalled(c.env, c.var.config, c.var.log, run));
    const [phases, operations] = await Promise.all([getPhases(db, run.id), getOperations(db, run.id)]);
    return c.json(
      { run: runView(run), phases: phases.map(phaseView), integration_operations: operations.map(operationView) },
      200,
    );
  },
);

orchestrationRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/orchestration/{run_id}/cancel',
    operationId: 'cancelOrchestrationRun',
    tags: ['orchestration'],
    summary: "Cancel a run: its Workflow instance is terminated and the running phase's upstream call aborted",
    middleware: [protect(atLeast('member'))],
    request: { params: RunParam },
    responses: {
      200: {
        description: 'Cancelled',
        content: {
          'application/json': {
            schema: z.object({ message: z.string(), run_id: z.string(), status: z.literal('cancelled') }),
          },
        },
      },
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const run = await runOf(c, who, c.req.valid('param').run_id);
    // The member who started it, or a manager or admin of the organization.
    if (run.createdBy !== who.userId && roleRank(who.role) < roleRank('manager')) {
      throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Only the member who started a run, or a manager, can cancel it');
    }
    if (isTerminal(run.status)) throw new ApiError('CONFLICT', `The run has already ${run.status}`);
    const db = getDb(c.env.DB);
    // The status is the flag the running phase watches: set first, it aborts the upstream call.
    const executionTimeMs = Date.now() - Date.parse(run.createdAt);
    if (!(await setRunStatus(db, run.id, 'cancelled', { executionTimeMs, completedAt: isoNow() }))) {
      const now = await getRun(db, run.id);
      throw new ApiError('CONFLICT', `The run has already ${now?.status ?? 'ended'}`);
    }
    await closeOpenPhases(db, run.id, 'cancelled');
    try {
      const instance = await c.env.ORCHESTRATION.get(run.workflowInstanceId ?? run.id);
      await instance.terminate();
    } catch (err) {
      // Already finished or never started: the status above is what stops the run.
      c.var.log.warn('workflow instance not terminated', { runId: run.id, error: String(err) });
    }
    await announce(
      { env: c.env, config: c.var.config, log: c.var.log, waitUntil: (p) => c.executionCtx.waitUntil(p) },
      { ...run, status: 'cancelled' },
      'orchestration.cancelled',
      { cancelled_by: who.userId },
    );
    return c.json(
      { message: 'Orchestration cancelled successfully', run_id: run.id, status: 'cancelled' as const },
      200,
    );
  },
);

orchestrationRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/orchestration/{run_id}/events',
    operationId: 'streamOrchestrationEvents',
    tags: ['orchestration'],
    summary: "A run's progress as Server-Sent Events, resumable with Last-Event-ID",
    middleware: [protect(SIGNED_IN)],
    request: {
      params: RunParam,
      query: z.object({ last_event_id: z.string().max(20).optional() }),
    },
    responses: {
      200: {
        description: 'Events (`id:` is the event number)',
        content: { 'text/event-stream': { schema: z.string() } },
      },
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const run = await runOf(c, who, c.req.valid('param').run_id);
    const raw = c.req.header('last-event-id') ?? c.req.valid('query').last_event_id ?? '0';
    if (!/^\d{1,15}$/.test(raw)) {
      throw new ApiError('VALIDATION_ERROR', undefined, {
        details: [{ field: 'Last-Event-ID', message: 'An event number from this stream' }],
      });
    }
    return runEventStream(getDb(c.env.DB), run.id, Number(raw), c.req.raw.signal);
  },
);

orchestrationRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/orchestration/{run_id}/operations/{operation_id}/file',
    operationId: 'downloadOrchestrationFile',
    tags: ['orchestration'],
    summary: 'The file an integration operation wrote (a phase output, Markdown)',
    middleware: [protect(SIGNED_IN)],
    request: { params: RunParam.extend({ operation_id: z.string().max(64) }) },
    responses: {
      200: { description: 'The file', content: { 'text/markdown': { schema: z.string() } } },
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { run_id: runId, operation_id: operationId } = c.req.valid('param');
    const run = await runOf(c, who, runId);
    const op = (await getOperations(getDb(c.env.DB), run.id)).find((o) => o.id === operationId);
    const object = op?.objectKey ? await c.env.FILES.get(op.objectKey) : null;
    if (!op || !object) throw new ApiError('RESOURCE_NOT_FOUND', 'File not found');
    const name = object.customMetadata?.filename ?? 'phase.md';
    return new Response(object.body, {
      headers: {
        'content-type': 'text/markdown; charset=utf-8',
        'content-disposition': `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
        'x-content-type-options': 'nosniff',
        'content-length': String(object.size),
      },
    });
  },
);
