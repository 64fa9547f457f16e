import type { Config } from '../../config';
import { getDb } from '../../db/client';
import type { WebhookEvent } from '../../db/schema';
import type { Logger } from '../../lib/log';
import { emitWebhookEvent } from '../webhooks';
import { appendEvent, type RunRow } from './run-store';

export interface AnnounceDeps {
  env: Env;
  config: Config;
  log: Logger;
  waitUntil(p: Promise<unknown>): void;
}

// A run's milestone: numbered in the run's event stream (GET /orchestration/{run_id}/events), and sent to
// the organization's webhooks subscribed to it.
export async function announce(
  d: AnnounceDeps,
  run: Pick<RunRow, 'id' | 'projectId' | 'organizationId' | 'status'>,
  type: WebhookEvent,
  data: Record<string, unknown>,
): Promise<void> {
  const payload = { run_id: run.id, project_id: run.projectId, status: run.status, ...data };
  await appendEvent(getDb(d.env.DB), run.id, type, payload);
  // Deliveries are queued, not sent: a slow endpoint never holds a phase back.
  await emitWebhookEvent(d.env, d.log, run.organizationId, type, payload);
}
