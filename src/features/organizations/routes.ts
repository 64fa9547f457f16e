import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { and, eq } from 'drizzle-orm';
import { atLeast, caller, protect } from '../accounts';
import { getDb } from '../../db/client';
import { adminCount, findMember, findOrganization, listMembers, memberView, organizationView } from './queries';
import { memberships, organizations, ROLES, SUBSCRIPTION_TIERS } from '../../db/schema';
import { findUserByEmail } from '../accounts';
import { quotaUsed } from '../rate-limits';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { PaginationQuery, PaginationSchema, paginate, window } from '../../lib/pagination';
import { createRouter, errorResponses } from '../../lib/router';

// The caller's organization and its members, under /api/v1.
export const organizationRoutes = createRouter();

const OrganizationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    subscription_tier: z.enum(SUBSCRIPTION_TIERS),
    api_quota_limit: z.number().int(),
    api_quota_used: z.number().int(),
    settings: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Organization');

const MemberSchema = z
  .object({
    user_id: z.string(),
    email: z.string(),
    username: z.string(),
    full_name: z.string().nullable(),
    role: z.enum(ROLES),
    joined_at: z.string(),
  })
  .openapi('Member');

const UserIdParam = z.object({
  user_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'user_id', in: 'path' } }),
});

async function me(c: Context<AppEnv>) {
  const who = await caller(c);
  if (!who) throw new ApiError('AUTHENTICATION_REQUIRED');
  return who;
}

async function currentOrg(c: Context<AppEnv>) {
  const who = await me(c);
  const org = await findOrganization(getDb(c.env.DB), who.organizationId);
  if (!org) throw new ApiError('RESOURCE_NOT_FOUND', 'Organization not found');
  return { who, org };
}

organizationRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/organizations/current',
    operationId: 'getCurrentOrganization',
    tags: ['organizations'],
    summary: "The caller's organization",
    middleware: [protect(atLeast('viewer'))],
    responses: {
      200: { description: 'Organization', content: { 'application/json': { schema: OrganizationSchema } } },
      ...errorResponses(401, 403),
    },
  }),
  async (c) => {
    const { org } = await currentOrg(c);
    return c.json(organizationView(org, await quotaUsed(c.env, org.id)), 200);
  },
);

// Allow-listed and strict: tier, quota and anything else not named here are refused, not ignored.
const OrganizationUpdate = z
  .object({
    name: z.string().min(1).max(200).optional(),
    settings: z
      .record(z.string().max(100), z.unknown())
      .refine((s) => JSON.stringify(s).length <= 16_384, 'Settings must be at most 16 KiB of JSON')
      // Operator-set limits live in settings too; an admin must not raise their own.
      .refine((s) => !('rate_limit_per_hour' in s), 'rate_limit_per_hour is set by the operator')
      .optional(),
  })
  .strict();

organizationRoutes.openapi(
  createRoute({
    method: 'put',
    path: '/organizations/current',
    operationId: 'updateCurrentOrganization',
    tags: ['organizations'],
    summary: 'Update the name or settings of the organization',
    middleware: [protect(atLeast('admin'))],
    request: { body: { required: true, content: { 'application/json': { schema: OrganizationUpdate } } } },
    responses: {
      200: { description: 'Updated', content: { 'application/json': { schema: OrganizationSchema } } },
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const { org } = await currentOrg(c);
    const body = c.req.valid('json');
    const updated = await getDb(c.env.DB)
      .update(organizations)
      .set({
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.settings !== undefined ? { settings: { ...org.settings, ...body.settings } } : {}),
        updatedAt: new Date().toISOString(),
      })
      .where(eq(organizations.id, org.id))
      .returning()
      .get();
    return c.json(organizationView(updated ?? org, await quotaUsed(c.env, org.id)), 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/organizations/current/members',
    operationId: 'listOrganizationMembers',
    tags: ['organizations'],
    summary: 'Members of the organization',
    middleware: [protect(atLeast('viewer'))],
    request: { query: PaginationQuery },
    responses: {
      200: {
        description: 'Members',
        content: {
          'application/json': { schema: z.object({ data: z.array(MemberSchema), pagination: PaginationSchema }) },
        },
      },
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const who = await me(c);
    const { limit, offset } = window(c.req.valid('query'));
    const { rows, total } = await listMembers(getDb(c.env.DB), who.organizationId, limit, offset);
    return c.json({ data: rows.map(memberView), pagination: paginate(total, limit, offset) }, 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/organizations/current/members',
    operationId: 'addOrganizationMember',
    tags: ['organizations'],
    summary: 'Add a registered user to the organization',
    middleware: [protect(atLeast('admin'))],
    request: {
      body: {
        required: true,
        content: {
          'application/json': { schema: z.object({ email: z.email().max(254), role: z.enum(ROLES) }).strict() },
        },
      },
    },
    responses: {
      201: { description: 'Added', content: { 'application/json': { schema: MemberSchema } } },
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const who = await me(c);
    const { email, role } = c.req.valid('json');
    const db = getDb(c.env.DB);
    const user = await findUserByEmail(db, email);
    if (!user) throw new ApiError('RESOURCE_NOT_FOUND', 'No registered user with this email');
    const added = await db
      .insert(memberships)
      .values({ organizationId: who.organizationId, userId: user.id, role })
      .onConflictDoNothing()
      .returning()
      .get();
    if (!added) throw new ApiError('CONFLICT', 'Already a member');
    return c.json(
      memberView({
        userId: user.id,
        email: user.email,
        username: user.username,
        fullName: user.fullName,
        role,
        joinedAt: added.createdAt,
      }),
      201,
    );
  },
);

// Nobody changes their own role (no self-promotion) and an organization always keeps an admin.
async function guardChange(c: Context<AppEnv>, userId: string, demotesOrRemoves: boolean) {
  const who = await me(c);
  if (userId === who.userId) throw new ApiError('INSUFFICIENT_PERMISSIONS', 'You cannot change your own membership');
  const db = getDb(c.env.DB);
  const target = await findMember(db, who.organizationId, userId);
  if (!target) throw new ApiError('RESOURCE_NOT_FOUND', 'Member not found');
  if (demotesOrRemoves && target.role === 'admin' && (await adminCount(db, who.organizationId)) <= 1) {
    throw new ApiError('CONFLICT', 'The organization must keep at least one admin');
  }
  return { who, db, target };
}

organizationRoutes.openapi(
  createRoute({
    method: 'put',
    path: '/organizations/current/members/{user_id}',
    operationId: 'updateOrganizationMemberRole',
    tags: ['organizations'],
    summary: "Change a member's role",
    middleware: [protect(atLeast('admin'))],
    request: {
      params: UserIdParam,
      body: { required: true, content: { 'application/json': { schema: z.object({ role: z.enum(ROLES) }).strict() } } },
    },
    responses: {
      200: { description: 'Updated', content: { 'application/json': { schema: MemberSchema } } },
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const { user_id } = c.req.valid('param');
    const { role } = c.req.valid('json');
    const { who, db } = await guardChange(c, user_id, role !== 'admin');
    await db
      .update(memberships)
      .set({ role })
      .where(and(eq(memberships.organizationId, who.organizationId), eq(memberships.userId, user_id)));
    const member = await findMember(db, who.organizationId, user_id);
    if (!member) throw new ApiError('RESOURCE_NOT_FOUND', 'Member not found');
    return c.json(memberView(member), 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/organizations/current/members/{user_id}',
    operationId: 'removeOrganizationMember',
    tags: ['organizations'],
    summary: 'Remove a member',
    middleware: [protect(atLeast('admin'))],
    request: { params: UserIdParam },
    responses: {
      200: { description: 'Removed', content: { 'application/json': { schema: z.object({ message: z.string() }) } } },
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => {
    const { user_id } = c.req.valid('param');
    const { who, db } = await guardChange(c, user_id, true);
    await db
      .delete(memberships)
      .where(and(eq(memberships.organizationId, who.organizationId), eq(memberships.userId, user_id)));
    return c.json({ message: 'Member removed' }, 200);
  },
);
