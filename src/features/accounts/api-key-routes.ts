import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { atLeast, caller, protect } from './access';
import { generateApiKey, rank } from './api-keys';
import { sha256Hex } from '../../lib/crypto';
import { getDb } from '../../db/client';
import { apiKeys, ROLES } from '../../db/schema';
import { ApiError } from '../../lib/errors';
import { createRouter, errorResponses } from '../../lib/router';

// API keys (ew_…) of the caller's organization, under /api/v1/auth/api-keys. Admins manage them.
export const apiKeyRoutes = createRouter();

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ example: 'ew_AbC12xYz' }),
    role: z.enum(ROLES),
    organization_id: z.string(),
    created_by: z.string(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
  })
  .openapi('ApiKey');

type KeyRow = typeof apiKeys.$inferSelect;
const view = (k: KeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  role: k.role,
  organization_id: k.organizationId,
  created_by: k.userId,
  created_at: k.createdAt,
  expires_at: k.expiresAt,
  last_used_at: k.lastUsedAt,
});

async function who(c: Parameters<typeof caller>[0]) {
  const identity = await caller(c);
  if (!identity) throw new ApiError('AUTHENTICATION_REQUIRED');
  return identity;
}

apiKeyRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/auth/api-keys',
    operationId: 'listApiKeys',
    tags: ['auth'],
    summary: "The organization's active API keys (prefixes only)",
    middleware: [protect(atLeast('admin'))],
    responses: {
      200: {
        description: 'Keys',
        content: { 'application/json': { schema: z.object({ data: z.array(ApiKeySchema) }) } },
      },
      ...errorResponses(401, 403),
    },
  }),
  async (c) => {
    const me = await who(c);
    const rows = await getDb(c.env.DB)
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.organizationId, me.organizationId), isNull(apiKeys.revokedAt)))
      .orderBy(desc(apiKeys.createdAt))
      .all();
    return c.json({ data: rows.map(view) }, 200);
  },
);

apiKeyRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/auth/api-keys',
    operationId: 'createApiKey',
    tags: ['auth'],
    summary: 'Create an API key; the key itself is shown only in this answer',
    middleware: [protect(atLeast('admin'))],
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({
              name: z.string().min(1).max(100),
              role: z.enum(ROLES).optional().openapi({ description: 'Defaults to member; never above your own role' }),
              expires_at: z.iso.datetime().optional(),
            }),
          },
        },
      },
    },
    responses: {
      201: {
        description: 'Created',
        content: { 'application/json': { schema: ApiKeySchema.extend({ key: z.string() }) } },
      },
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const me = await who(c);
    const body = c.req.valid('json');
    const role = body.role ?? 'member';
    if (rank(role) > rank(me.role))
      throw new ApiError('INSUFFICIENT_PERMISSIONS', 'A key cannot have a higher role than its creator');
    if (body.expires_at !== undefined && new Date(body.expires_at).getTime() <= Date.now()) {
      throw new ApiError('VALIDATION_ERROR', undefined, {
        details: [{ field: 'expires_at', message: 'Must be in the future' }],
      });
    }
    const { key, prefix } = generateApiKey();
    const row = await getDb(c.env.DB)
      .insert(apiKeys)
      .values({
        id: crypto.randomUUID(),
        organizationId: me.organizationId,
        userId: me.userId,
        name: body.name,
        prefix,
        keyHash: await sha256Hex(key),
        role,
        expiresAt: body.expires_at ? new Date(body.expires_at).toISOString() : null,
      })
      .returning()
      .get();
    return c.json({ ...view(row), key }, 201);
  },
);

apiKeyRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/auth/api-keys/{id}',
    operationId: 'revokeApiKey',
    tags: ['auth'],
    summary: 'Revoke an API key (it stops working at once)',
    middleware: [protect(atLeast('admin'))],
    request: {
      params: z.object({
        id: z
          .string()
          .max(64)
          .openapi({ param: { name: 'id', in: 'path' } }),
      }),
    },
    responses: {
      200: { description: 'Revoked', content: { 'application/json': { schema: z.object({ message: z.string() }) } } },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const me = await who(c);
    const revoked = await getDb(c.env.DB)
      .update(apiKeys)
      .set({ revokedAt: new Date().toISOString() })
      .where(
        and(
          eq(apiKeys.id, c.req.valid('param').id),
          eq(apiKeys.organizationId, me.organizationId),
          isNull(apiKeys.revokedAt),
        ),
      )
      .returning({ id: apiKeys.id })
      .get();
    if (!revoked) throw new ApiError('RESOURCE_NOT_FOUND', 'API key not found');
    return c.json({ message: 'API key revoked' }, 200);
  },
);
