import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { and, eq } from 'drizzle-orm';
import { getDb } from '../../db/client';
import { PROJECT_PRIORITIES, PROJECT_STATUSES, projects, type WebhookEvent } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { PaginationSchema, paginationHeaders } from '../../lib/pagination';
import { createRouter, errorResponses } from '../../lib/router';
import { isoNow } from '../../lib/time';
import { atLeast, type Identity, protect, roleRank, signedIn } from '../accounts';
import { emitWebhookEvent } from '../webhooks';
import { findProject, latestRuns, listProjects, projectList, type ProjectWithCreator } from './queries';
import { ProjectDetailSchema, ProjectSchema, projectDetailView, projectView } from './views';

// Projects of the caller's organization (seed 003 §2.3), under /api/v1. Viewers read; members create and
// change or delete their own; managers and admins change or delete any. Another organization's project
// is 404, exactly like one that does not exist.
export const projectRoutes = createRouter();

const MAX_METADATA_BYTES = 16_384;

// A JSON object of at most MAX_METADATA_BYTES: a value too deep to serialize is refused like a large one.
const Metadata = z.record(z.string().max(100), z.unknown()).refine((value) => {
  try {
    return new TextEncoder().encode(JSON.stringify(value)).length <= MAX_METADATA_BYTES;
  } catch {
    return false;
  }
}, `Must be a JSON object of at most ${MAX_METADATA_BYTES} bytes`);

const Name = z.string().trim().min(1).max(200);
const Description = z.string().trim().max(2000);
const Topic = z.string().trim().max(10_000);

const CreateProject = z
  .object({
    name: Name.openapi({ example: 'New Project' }),
    description: Description.nullable().optional().openapi({ example: 'Project description' }),
    topic: Topic.optional().openapi({ example: 'Detailed project topic for AI processing' }),
    priority: z.enum(PROJECT_PRIORITIES).optional().openapi({ description: 'Default medium' }),
    status: z.enum(PROJECT_STATUSES).optional().openapi({ description: 'Default active' }),
    metadata: Metadata.optional().openapi({ example: { estimated_duration: '2 months', budget: 50000 } }),
  })
  .strict()
  .openapi('CreateProject');

// Every field optional: those given are changed. `metadata` replaces the stored object.
const UpdateProject = z
  .object({
    name: Name.optional(),
    description: Description.nullable().optional(),
    topic: Topic.optional(),
    priority: z.enum(PROJECT_PRIORITIES).optional(),
    status: z.enum(PROJECT_STATUSES).optional(),
    metadata: Metadata.optional(),
  })
  .strict()
  .openapi('UpdateProject');

const ProjectIdParam = z.object({
  project_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'project_id', in: 'path' }, example: '3f0c2a9e-6b1d-4c52-9a57-0d9f4f7b1e21' }),
});

async function projectFor(c: Context<AppEnv>, who: Identity, projectId: string): Promise<ProjectWithCreator> {
  const found = await findProject(getDb(c.env.DB), who.organizationId, projectId);
  if (!found) throw new ApiError('RESOURCE_NOT_FOUND', 'Project not found');
  return found;
}

// Changing or deleting: the creator (a member or above, which protect() checked), or a manager or admin.
function mayChange(who: Identity, project: ProjectWithCreator): void {
  if (project.project.createdBy === who.userId || roleRank(who.role) >= roleRank('manager')) return;
  throw new ApiError('INSUFFICIENT_PERMISSIONS', "Only a manager or an admin can change another member's project");
}

// project.created / updated / deleted to the organization's webhooks, queued after the answer.
function announce(c: Context<AppEnv>, who: Identity, type: WebhookEvent, project: Record<string, unknown>): void {
  c.executionCtx.waitUntil(emitWebhookEvent(c.env, c.var.log, who.organizationId, type, { project }));
}

async function detail(c: Context<AppEnv>, who: Identity, projectId: string) {
  const db = getDb(c.env.DB);
  const found = await projectFor(c, who, projectId);
  return projectDetailView(found, await latestRuns(db, who.organizationId, projectId));
}

projectRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/projects',
    operationId: 'listProjects',
    tags: ['projects'],
    summary: "The organization's projects: filtered, sorted and paginated (seed 003 §5, §6)",
    middleware: [protect(atLeast('viewer'))],
    request: { query: projectList.query },
    responses: {
      200: {
        description: 'A page of projects; `X-Total-Count` and `Link` headers too',
        content: {
          'application/json': { schema: z.object({ data: z.array(ProjectSchema), pagination: PaginationSchema }) },
        },
      },
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const q = projectList.parse(c.req.valid('query'));
    const { data, pagination } = await listProjects(getDb(c.env.DB), who.organizationId, q);
    return c.json({ data: data.map(projectView), pagination }, 200, paginationHeaders(c.req.url, pagination));
  },
);

projectRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/projects',
    operationId: 'createProject',
    tags: ['projects'],
    summary: 'Create a project (member or above)',
    middleware: [protect(atLeast('member'))],
    request: { body: { required: true, content: { 'application/json': { schema: CreateProject } } } },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: ProjectDetailSchema } } },
      ...errorResponses(400, 401, 403, 413),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const body = c.req.valid('json');
    const id = crypto.randomUUID();
    await getDb(c.env.DB)
      .insert(projects)
      .values({
        id,
        organizationId: who.organizationId,
        createdBy: who.userId,
        name: body.name,
        description: body.description ?? null,
        topic: body.topic ?? '',
        status: body.status ?? 'active',
        priority: body.priority ?? 'medium',
        metadata: body.metadata ?? {},
      })
      .run();
    const created = await detail(c, who, id);
    announce(c, who, 'project.created', created);
    return c.json(created, 201);
  },
);

projectRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/projects/{project_id}',
    operationId: 'getProject',
    tags: ['projects'],
    summary: 'A project with its latest orchestration runs',
    middleware: [protect(atLeast('viewer'))],
    request: { params: ProjectIdParam },
    responses: {
      200: { description: 'The project', content: { 'application/json': { schema: ProjectDetailSchema } } },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    return c.json(await detail(c, who, c.req.valid('param').project_id), 200);
  },
);

projectRoutes.openapi(
  createRoute({
    method: 'put',
    path: '/projects/{project_id}',
    operationId: 'updateProject',
    tags: ['projects'],
    summary: 'Change a project (its creator, or a manager or admin); the fields given are changed',
    middleware: [protect(atLeast('member'))],
    request: {
      params: ProjectIdParam,
      body: { required: true, content: { 'application/json': { schema: UpdateProject } } },
    },
    responses: {
      200: { description: 'The project', content: { 'application/json': { schema: ProjectDetailSchema } } },
      ...errorResponses(400, 401, 403, 404, 413),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { project_id } = c.req.valid('param');
    const body = c.req.valid('json');
    mayChange(who, await projectFor(c, who, project_id));
    await getDb(c.env.DB)
      .update(projects)
      .set({
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.topic !== undefined ? { topic: body.topic } : {}),
        ...(body.priority !== undefined ? { priority: body.priority } : {}),
        ...(body.status !== undefined ? { status: body.status } : {}),
        ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
        updatedAt: isoNow(),
      })
      .where(and(eq(projects.id, project_id), eq(projects.organizationId, who.organizationId)))
      .run();
    const updated = await detail(c, who, project_id);
    announce(c, who, 'project.updated', updated);
    return c.json(updated, 200);
  },
);

projectRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/projects/{project_id}',
    operationId: 'deleteProject',
    tags: ['projects'],
    summary: 'Delete a project and its runs (its creator, or a manager or admin)',
    middleware: [protect(atLeast('member'))],
    request: { params: ProjectIdParam },
    responses: {
      200: {
        description: 'Deleted',
        content: {
          'application/json': {
            schema: z.object({ message: z.string().openapi({ example: 'Project deleted successfully' }) }),
          },
        },
      },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { project_id } = c.req.valid('param');
    const found = await projectFor(c, who, project_id);
    mayChange(who, found);
    await getDb(c.env.DB)
      .delete(projects)
      .where(and(eq(projects.id, project_id), eq(projects.organizationId, who.organizationId)))
      .run();
    announce(c, who, 'project.deleted', projectView(found));
    return c.json({ message: 'Project deleted successfully' }, 200);
  },
);
