import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { and, eq } from 'drizzle-orm';
import { getDb } from '../../db/client';
import { templates } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { PaginationSchema, paginationHeaders } from '../../lib/pagination';
import { createRouter, errorResponses } from '../../lib/router';
import { isoNow } from '../../lib/time';
import { atLeast, type Identity, protect, roleRank, signedIn } from '../accounts';
import { findVisibleTemplate, listTemplates, templateList, type TemplateWithCreator } from './queries';
import { TemplateDataSchema, TemplateSchema, templateView } from './views';

// Orchestration templates (seed 003 §2.5), under /api/v1. Public templates are visible to every
// organization, private ones to their own only (404 elsewhere). Only the owning organization changes or
// deletes one: its creator, or a manager or admin there; to any other organization it is 404 even when public.
export const templateRoutes = createRouter();

const Name = z.string().trim().min(1).max(200);
const Description = z.string().trim().max(2000);
// A slug, so that it can be given in ?category=a,b and compared exactly.
const Category = z
  .string()
  .trim()
  .max(50)
  .regex(/^[a-z0-9]+(?:[-_][a-z0-9]+)*$/, 'Lower-case letters and digits separated by - or _');

const CreateTemplate = z
  .object({
    name: Name.openapi({ example: 'Custom Template' }),
    description: Description.nullable().optional().openapi({ example: 'My custom orchestration template' }),
    category: Category.optional().openapi({ description: 'Default custom', example: 'custom' }),
    is_public: z.boolean().optional().openapi({ description: 'Visible to every organization. Default false' }),
    template_data: TemplateDataSchema,
  })
  .strict()
  .openapi('CreateTemplate');

// Every field optional: those given are changed; `template_data` replaces the stored one.
const UpdateTemplate = z
  .object({
    name: Name.optional(),
    description: Description.nullable().optional(),
    category: Category.optional(),
    is_public: z.boolean().optional(),
    template_data: TemplateDataSchema.optional(),
  })
  .strict()
  .openapi('UpdateTemplate');

const TemplateIdParam = z.object({
  template_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'template_id', in: 'path' }, example: '3f0c2a9e-6b1d-4c52-9a57-0d9f4f7b1e21' }),
});

const notFound = () => new ApiError('RESOURCE_NOT_FOUND', 'Template not found');

async function visible(c: Context<AppEnv>, who: Identity, templateId: string): Promise<TemplateWithCreator> {
  const found = await findVisibleTemplate(getDb(c.env.DB), who.organizationId, templateId);
  if (!found) throw notFound();
  return found;
}

// Changing or deleting: a template of the caller's organization (another's, public or not, is 404), by its
// creator (a member or above, which protect() checked) or a manager or admin.
async function changeable(c: Context<AppEnv>, who: Identity, templateId: string): Promise<TemplateWithCreator> {
  const found = await visible(c, who, templateId);
  if (found.template.organizationId !== who.organizationId) throw notFound();
  if (found.template.createdBy !== who.userId && roleRank(who.role) < roleRank('manager')) {
    throw new ApiError('INSUFFICIENT_PERMISSIONS', "Only a manager or an admin can change another member's template");
  }
  return found;
}

templateRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/templates',
    operationId: 'listTemplates',
    tags: ['templates'],
    summary: "The organization's templates and every public one: filtered, sorted and paginated",
    middleware: [protect(atLeast('viewer'))],
    request: { query: templateList.query },
    responses: {
      200: {
        description: 'A page of templates; `X-Total-Count` and `Link` headers too',
        content: {
          'application/json': { schema: z.object({ data: z.array(TemplateSchema), pagination: PaginationSchema }) },
        },
      },
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const q = templateList.parse(c.req.valid('query'));
    const { data, pagination } = await listTemplates(getDb(c.env.DB), who.organizationId, q);
    return c.json({ data: data.map(templateView), pagination }, 200, paginationHeaders(c.req.url, pagination));
  },
);

templateRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/templates',
    operationId: 'createTemplate',
    tags: ['templates'],
    summary: 'Create a template (member or above)',
    middleware: [protect(atLeast('member'))],
    request: { body: { required: true, content: { 'application/json': { schema: CreateTemplate } } } },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: TemplateSchema } } },
      ...errorResponses(400, 401, 403, 413),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const body = c.req.valid('json');
    const id = crypto.randomUUID();
    await getDb(c.env.DB)
      .insert(templates)
      .values({
        id,
        organizationId: who.organizationId,
        createdBy: who.userId,
        name: body.name,
        description: body.description ?? null,
        category: body.category ?? 'custom',
        isPublic: body.is_public ?? false,
        templateData: body.template_data,
      })
      .run();
    return c.json(templateView(await visible(c, who, id)), 201);
  },
);

templateRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/templates/{template_id}',
    operationId: 'getTemplate',
    tags: ['templates'],
    summary: 'A template of the organization, or a public one',
    middleware: [protect(atLeast('viewer'))],
    request: { params: TemplateIdParam },
    responses: {
      200: { description: 'The template', content: { 'application/json': { schema: TemplateSchema } } },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    return c.json(templateView(await visible(c, who, c.req.valid('param').template_id)), 200);
  },
);

templateRoutes.openapi(
  createRoute({
    method: 'put',
    path: '/templates/{template_id}',
    operationId: 'updateTemplate',
    tags: ['templates'],
    summary: 'Change a template (its creator, or a manager or admin of its organization)',
    middleware: [protect(atLeast('member'))],
    request: {
      params: TemplateIdParam,
      body: { required: true, content: { 'application/json': { schema: UpdateTemplate } } },
    },
    responses: {
      200: { description: 'The template', content: { 'application/json': { schema: TemplateSchema } } },
      ...errorResponses(400, 401, 403, 404, 413),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { template_id } = c.req.valid('param');
    const body = c.req.valid('json');
    await changeable(c, who, template_id);
    await getDb(c.env.DB)
      .update(templates)
      .set({
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.category !== undefined ? { category: body.category } : {}),
        ...(body.is_public !== undefined ? { isPublic: body.is_public } : {}),
        ...(body.template_data !== undefined ? { templateData: body.template_data } : {}),
        updatedAt: isoNow(),
      })
      .where(and(eq(templates.id, template_id), eq(templates.organizationId, who.organizationId)))
      .run();
    return c.json(templateView(await visible(c, who, template_id)), 200);
  },
);

templateRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/templates/{template_id}',
    operationId: 'deleteTemplate',
    tags: ['templates'],
    summary: 'Delete a template (its creator, or a manager or admin of its organization); runs keep their phases',
    middleware: [protect(atLeast('member'))],
    request: { params: TemplateIdParam },
    responses: {
      200: {
        description: 'Deleted',
        content: {
          'application/json': {
            schema: z.object({ message: z.string().openapi({ example: 'Template deleted successfully' }) }),
          },
        },
      },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { template_id } = c.req.valid('param');
    await changeable(c, who, template_id);
    await getDb(c.env.DB)
      .delete(templates)
      .where(and(eq(templates.id, template_id), eq(templates.organizationId, who.organizationId)))
      .run();
    return c.json({ message: 'Template deleted successfully' }, 200);
  },
);
