import { createApp } from './app';
import { handleScheduled } from './features/analytics';
import { handleQueue } from './features/request-log';
import { handleWebhookQueue, WEBHOOKS_QUEUE } from './features/webhooks';

export { CacheIndex, SemanticIndex } from './features/cache';
export { RateLimiter } from './features/rate-limits';
export { CacheFlight } from './features/single-flight';
export { ChatRoom, SocketSession } from './features/rooms';
export { OrchestrationWorkflow } from './features/orchestration';

const app = createApp();

// HTTP through the Hono app; each queue of wrangler.toml through its consumer: the webhooks queue through
// the webhooks feature, every other batch (the request log) exactly as before.
export default {
  fetch: app.fetch,
  queue: (batch, env) => (batch.queue === WEBHOOKS_QUEUE ? handleWebhookQueue(batch, env) : handleQueue(batch, env)),
  // The cron trigger of wrangler.toml: prunes the request log's fine-grained data (docs/design/analytics.md).
  scheduled: (controller, env) => handleScheduled(controller, env),
} satisfies ExportedHandler<Env>;
