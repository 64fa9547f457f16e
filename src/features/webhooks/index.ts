// Webhooks (seed 003 §2.7): routes, the queue consumer, and emitWebhookEvent for the features whose
// events they carry (runs, projects).
export { handleWebhookQueue } from './deliver';
export { emitWebhookEvent } from './emit';
export { webhookRoutes } from './routes';

// The queue whose batches handleWebhookQueue consumes (wrangler.toml); src/index.ts dispatches on it.
export const WEBHOOKS_QUEUE = 'edgeway-webhooks';
