import { and, eq, sql } from 'drizzle-orm';
import { getDb } from '../../db/client';
import { webhookDeliveries, webhooks, type WebhookEvent } from '../../db/schema';
import { describeError, type Logger } from '../../lib/log';
import { type DeliveryMessage, newDelivery, payloadOf } from './store';

// A payload is one D1 value and travels in every attempt: far below D1's 2 MB row limit.
export const MAX_PAYLOAD_CHARS = 256 * 1024;
// Queues take at most 100 messages per sendBatch; D1 batches are kept to the same size.
const BATCH = 100;

export async function enqueueDeliveries(
  env: Pick<Env, 'DB' | 'WEBHOOKS'>,
  deliveries: ReturnType<typeof newDelivery>[],
): Promise<void> {
  const db = getDb(env.DB);
  for (let i = 0; i < deliveries.length; i += BATCH) {
    const chunk = deliveries.slice(i, i + BATCH);
    const [first, ...rest] = chunk.map((d) => db.insert(webhookDeliveries).values(d.row));
    if (first) await db.batch([first, ...rest]);
    // Rows first: a message whose row is missing is dropped by the consumer as a deleted webhook's.
    await env.WEBHOOKS.sendBatch(chunk.map((d) => ({ body: d.message satisfies DeliveryMessage })));
  }
}

/**
 * Sends event `type` to every active webhook of the organization subscribed to it: one delivery row and
 * one queue message each. Meant for `waitUntil`: it never throws, failures are logged.
 *
 * @example
 * c.executionCtx.waitUntil(emitWebhookEvent(c.env, c.var.log, orgId, 'project.created', { project }));
 */
export async function emitWebhookEvent(
  env: Env,
  log: Logger,
  organizationId: string,
  type: WebhookEvent,
  data: Record<string, unknown>,
): Promise<void> {
  try {
    const at = new Date().toISOString();
    const payload = payloadOf(type, data, at);
    if (payload.length > MAX_PAYLOAD_CHARS) {
      log.error('webhook event dropped: payload too large', { type, organization_id: organizationId });
      return;
    }
    const targets = await getDb(env.DB)
      .select({ id: webhooks.id, organizationId: webhooks.organizationId })
      .from(webhooks)
      .where(
        and(
          eq(webhooks.organizationId, organizationId),
          eq(webhooks.isActive, true),
          sql`EXISTS (SELECT 1 FROM json_each(${webhooks.events}) WHERE json_each.value = ${type})`,
        ),
      )
      .all();
    if (targets.length === 0) return;
    await enqueueDeliveries(
      env,
      targets.map((w) => newDelivery(w, type, payload, at)),
    );
  } catch (err) {
    log.error('webhook event not enqueued', { type, organization_id: organizationId, error: describeError(err) });
  }
}
