import { and, count, desc, eq } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { webhookDeliveries, webhooks, type WebhookEvent } from '../../db/schema';

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

// What the queue carries: only the delivery's id; the row holds the payload and the attempts so far.
export interface DeliveryMessage {
  kind: 'webhook-delivery';
  delivery_id: string;
}

export const isDeliveryMessage = (body: unknown): body is DeliveryMessage =>
  typeof body === 'object' &&
  body !== null &&
  (body as Partial<DeliveryMessage>).kind === 'webhook-delivery' &&
  typeof (body as Partial<DeliveryMessage>).delivery_id === 'string';

// Seed 003's webhook shape (never the secret), plus why the system turned it off, if it did.
export function webhookView(w: WebhookRow) {
  return {
    id: w.id,
    name: w.name,
    url: w.url,
    events: w.events,
    is_active: w.isActive,
    disabled_reason: w.disabledReason,
    last_triggered_at: w.lastTriggeredAt,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
  };
}

export function deliveryView(d: DeliveryRow) {
  return {
    id: d.id,
    webhook_id: d.webhookId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    last_response_code: d.lastResponseCode,
    last_error: d.lastError,
    last_duration_ms: d.lastDurationMs,
    next_attempt_at: d.nextAttemptAt,
    delivered_at: d.deliveredAt,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
  };
}

// Another organization's webhook is simply not found (API.md: never 403 for those).
export function findWebhook(db: Database, organizationId: string, id: string) {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, id), eq(webhooks.organizationId, organizationId)))
    .get();
}

export async function listWebhooks(db: Database, organizationId: string, limit: number, offset: number) {
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(webhooks)
      .where(eq(webhooks.organizationId, organizationId))
      .orderBy(desc(webhooks.createdAt), desc(webhooks.id))
      .limit(limit)
      .offset(offset)
      .all(),
    db.select({ n: count() }).from(webhooks).where(eq(webhooks.organizationId, organizationId)).get(),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export async function listDeliveries(db: Database, webhookId: string, limit: number, offset: number) {
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhookId, webhookId))
      .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
      .limit(limit)
      .offset(offset)
      .all(),
    db.select({ n: count() }).from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId)).get(),
  ]);
  return { rows, total: total?.n ?? 0 };
}

// The body every attempt sends, fixed when the delivery is made (Standard Webhooks' `{type, timestamp, data}`).
export function payloadOf(type: string, data: Record<string, unknown>, at: string): string {
  return JSON.stringify({ type, timestamp: at, data });
}

export interface NewDelivery {
  row: typeof webhookDeliveries.$inferInsert;
  message: DeliveryMessage;
}

export function newDelivery(
  webhook: Pick<WebhookRow, 'id' | 'organizationId'>,
  type: WebhookEvent | 'webhook.test',
  payload: string,
  at: string,
): NewDelivery {
  const id = crypto.randomUUID();
  return {
    row: {
      id,
      webhookId: webhook.id,
      organizationId: webhook.organizationId,
      eventType: type,
      payload,
      status: 'pending',
      attempts: 0,
      createdAt: at,
      updatedAt: at,
    },
    message: { kind: 'webhook-delivery', delivery_id: id },
  };
}
