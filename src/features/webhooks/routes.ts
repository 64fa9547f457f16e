import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { and, count, eq } from 'drizzle-orm';
import { atLeast, caller, protect } from '../accounts';
import { getDb } from '../../db/client';
import { DELIVERY_STATUSES, WEBHOOK_EVENTS, webhooks } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { PaginationQuery, PaginationSchema, paginate, window } from '../../lib/pagination';
import { createRouter, errorResponses } from '../../lib/router';
import { urlPolicy } from './deliver';
import { enqueueDeliveries } from './emit';
import { encryptSecret, generateSecret, SECRET_FORMAT_MESSAGE, secretBytes } from './secrets';
import { checkWebhookUrl, MAX_URL_LENGTH } from './ssrf';
import { deliveryView, findWebhook, listDeliveries, listWebhooks, newDelivery, payloadOf, webhookView } from './store';

// Seed 003 §2.7 under /api/v1. Webhooks send the organization's events to outside URLs, and their URLs
// are often credentials themselves (Slack and Discord incoming-webhook URLs): managing them and reading
// them is for managers and admins (API.md: "manager: + edit or delete any … webhook"), like API keys are
// for admins. Why: docs/design/webhooks.md#who-may-do-what
export const webhookRoutes = createRouter();

const MANAGE = protect(atLeast('manager'));
const MAX_WEBHOOKS_PER_ORGANIZATION = 100;

const WebhookSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    is_active: z.boolean(),
    disabled_reason: z.string().nullable(),
    last_triggered_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Webhook');

const WebhookWithSecretSchema = WebhookSchema.extend({
  secret_key: z.string().openapi({ description: 'The signing secret (whsec_…). Shown only in this answer.' }),
}).openapi('WebhookWithSecret');

const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: 'The `webhook-id` header of every attempt' }),
    webhook_id: z.string(),
    event_type: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    last_response_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    last_duration_ms: z.number().int().nullable(),
    next_attempt_at: z.string().nullable(),
    delivered_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('WebhookDelivery');

const Name = z.string().trim().min(1).max(200);
const Url = z.string().min(1).max(MAX_URL_LENGTH);
const Events = z
  .array(z.enum(WEBHOOK_EVENTS))
  .min(1)
  .max(WEBHOOK_EVENTS.length * 4)
  .transform((events) => [...new Set(events)]);

const WebhookCreate = z
  .object({
    name: Name,
    url: Url,
    events: Events,
    secret_key: z
      .string()
      .max(200)
      .refine((s) => secretBytes(s) !== null, SECRET_FORMAT_MESSAGE)
      .optional(),
  })
  .strict();

const WebhookUpdate = z
  .object({ name: Name.optional(), url: Url.optional(), events: Events.optional(), is_active: z.boolean().optional() })
  .strict();

const IdParam = z.object({
  webhook_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'webhook_id', in: 'path' } }),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

async function organizationOf(c: Context<AppEnv>): Promise<{ organizationId: string; userId: string }> {
  const who = await caller(c);
  if (!who) throw new ApiError('AUTHENTICATION_REQUIRED');
  return who;
}

function safeUrl(c: Context<AppEnv>, url: string): string {
  const verdict = checkWebhookUrl(url, urlPolicy(c.var.config));
  if (!verdict.ok) {
    throw new ApiError('VALIDATION_ERROR', undefined, {
      details: [{ field: 'url', message: `URL ${verdict.reason}` }],
    });
  }
  return verdict.url.toString();
}

async function ownWebhook(c: Context<AppEnv>, id: string) {
  const { organizationId } = await organizationOf(c);
  const webhook = await findWebhook(getDb(c.env.DB), organizationId, id);
  if (!webhook) throw new ApiError('RESOURCE_NOT_FOUND', 'Webhook not found');
  return webhook;
}

webhookRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/webhooks',
    operationId: 'listWebhooks',
    tags: ['webhooks'],
    summary: "The organization's webhooks, newest first",
    middleware: [MANAGE],
    request: { query: PaginationQuery },
    responses: {
      200: json(z.object({ data: z.array(WebhookSchema), pagination: PaginationSchema }), 'Webhooks'),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const { organizationId } = await organizationOf(c);
    const { limit, offset } = window(c.req.valid('query'));
    const { rows, total } = await listWebhooks(getDb(c.env.DB), organizationId, limit, offset);
    return c.json({ data: rows.map(webhookView), pagination: paginate(total, limit, offset) }, 200);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/webhooks',
    operationId: 'createWebhook',
    tags: ['webhooks'],
    summary: 'Create a webhook; the answer shows its signing secret, once',
    middleware: [MANAGE],
    request: { body: { required: true, content: { 'application/json': { schema: WebhookCreate } } } },
    responses: {
      201: json(WebhookWithSecretSchema, 'Created'),
      ...errorResponses(400, 401, 403, 409, 413, 503),
    },
  }),
  async (c) => {
    const { organizationId, userId } = await organizationOf(c);
    const body = c.req.valid('json');
    const url = safeUrl(c, body.url);
    const db = getDb(c.env.DB);
    const existing = await db
      .select({ n: count() })
      .from(webhooks)
      .where(eq(webhooks.organizationId, organizationId))
      .get();
    if ((existing?.n ?? 0) >= MAX_WEBHOOKS_PER_ORGANIZATION) {
      throw new ApiError('CONFLICT', `An organization may have at most ${MAX_WEBHOOKS_PER_ORGANIZATION} webhooks`);
    }
    const id = crypto.randomUUID();
    const secret = body.secret_key ?? generateSecret();
    const created = await db
      .insert(webhooks)
      .values({
        id,
        organizationId,
        createdBy: userId,
        name: body.name,
        url,
        events: body.events,
        secretCiphertext: await encryptSecret(c.var.config, id, secret),
      })
      .returning()
      .get();
    return c.json({ ...webhookView(created), secret_key: secret }, 201);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/webhooks/{webhook_id}',
    operationId: 'getWebhook',
    tags: ['webhooks'],
    summary: 'One webhook (without its secret)',
    middleware: [MANAGE],
    request: { params: IdParam },
    responses: { 200: json(WebhookSchema, 'Webhook'), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(webhookView(await ownWebhook(c, c.req.valid('param').webhook_id)), 200),
);

webhookRoutes.openapi(
  createRoute({
    method: 'put',
    path: '/webhooks/{webhook_id}',
    operationId: 'updateWebhook',
    tags: ['webhooks'],
    summary: 'Change the name, URL, events or active state of a webhook',
    middleware: [MANAGE],
    request: {
      params: IdParam,
      body: { required: true, content: { 'application/json': { schema: WebhookUpdate } } },
    },
    responses: { 200: json(WebhookSchema, 'Updated'), ...errorResponses(400, 401, 403, 404, 413) },
  }),
  async (c) => {
    const webhook = await ownWebhook(c, c.req.valid('param').webhook_id);
    const body = c.req.valid('json');
    const url = body.url === undefined ? undefined : safeUrl(c, body.url);
    const updated = await getDb(c.env.DB)
      .update(webhooks)
      .set({
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(url !== undefined ? { url } : {}),
        ...(body.events !== undefined ? { events: body.events } : {}),
        // Turned on or off by hand: the system's reason for turning it off no longer applies.
        ...(body.is_active !== undefined ? { isActive: body.is_active, disabledReason: null } : {}),
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(webhooks.id, webhook.id), eq(webhooks.organizationId, webhook.organizationId)))
      .returning()
      .get();
    if (!updated) throw new ApiError('RESOURCE_NOT_FOUND', 'Webhook not found');
    return c.json(webhookView(updated), 200);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/webhooks/{webhook_id}',
    operationId: 'deleteWebhook',
    tags: ['webhooks'],
    summary: 'Delete a webhook and its delivery log (pending deliveries are not sent)',
    middleware: [MANAGE],
    request: { params: IdParam },
    responses: {
      200: json(z.object({ message: z.string() }), 'Deleted'),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const webhook = await ownWebhook(c, c.req.valid('param').webhook_id);
    await getDb(c.env.DB)
      .delete(webhooks)
      .where(and(eq(webhooks.id, webhook.id), eq(webhooks.organizationId, webhook.organizationId)));
    return c.json({ message: 'Webhook deleted' }, 200);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/webhooks/{webhook_id}/deliveries',
    operationId: 'listWebhookDeliveries',
    tags: ['webhooks'],
    summary: "A webhook's deliveries, newest first: status, attempts, last answer and its duration",
    middleware: [MANAGE],
    request: { params: IdParam, query: PaginationQuery },
    responses: {
      200: json(z.object({ data: z.array(DeliverySchema), pagination: PaginationSchema }), 'Deliveries'),
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const webhook = await ownWebhook(c, c.req.valid('param').webhook_id);
    const { limit, offset } = window(c.req.valid('query'));
    const { rows, total } = await listDeliveries(getDb(c.env.DB), webhook.id, limit, offset);
    return c.json({ data: rows.map(deliveryView), pagination: paginate(total, limit, offset) }, 200);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/webhooks/{webhook_id}/test',
    operationId: 'testWebhook',
    tags: ['webhooks'],
    summary: 'Queue a `webhook.test` event to this webhook (whatever events it subscribes to)',
    middleware: [MANAGE],
    request: { params: IdParam },
    responses: {
      202: json(DeliverySchema, 'Queued; follow it in the deliveries'),
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => {
    const webhook = await ownWebhook(c, c.req.valid('param').webhook_id);
    if (!webhook.isActive) throw new ApiError('CONFLICT', 'The webhook is disabled; enable it first');
    const at = new Date().toISOString();
    const payload = payloadOf('webhook.test', { webhook_id: webhook.id, message: 'A test delivery from Edgeway' }, at);
    const delivery = newDelivery(webhook, 'webhook.test', payload, at);
    await enqueueDeliveries(c.env, [delivery]);
    return c.json(
      deliveryView({
        ...delivery.row,
        status: 'pending',
        attempts: 0,
        lastResponseCode: null,
        lastError: null,
        lastDurationMs: null,
        nextAttemptAt: null,
        deliveredAt: null,
        createdAt: at,
        updatedAt: at,
      }),
      202,
    );
  },
);

webhookRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/webhooks/{webhook_id}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    tags: ['webhooks'],
    summary: 'Replace the signing secret; the answer shows the new one, once (the old one stops at once)',
    middleware: [MANAGE],
    request: { params: IdParam },
    responses: { 200: json(WebhookWithSecretSchema, 'Rotated'), ...errorResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    const webhook = await ownWebhook(c, c.req.valid('param').webhook_id);
    const secret = generateSecret();
    const updated = await getDb(c.env.DB)
      .update(webhooks)
      .set({
        secretCiphertext: await encryptSecret(c.var.config, webhook.id, secret),
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(webhooks.id, webhook.id), eq(webhooks.organizationId, webhook.organizationId)))
      .returning()
      .get();
    if (!updated) throw new ApiError('RESOURCE_NOT_FOUND', 'Webhook not found');
    return c.json({ ...webhookView(updated), secret_key: secret }, 200);
  },
);
