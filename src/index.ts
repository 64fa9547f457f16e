import { createApp } from './app';
import { handleQueue } from './queues/request-log-consumer';

export { CacheFlight } from './durable-objects/cache-flight';
export { CacheIndex } from './durable-objects/cache-index';
export { RateLimiter } from './durable-objects/rate-limiter';
export { SemanticIndex } from './durable-objects/semantic-index';

const app = createApp();

// HTTP through the Hono app; the request-log queue (wrangler.toml) through its consumer.
export default {
  fetch: app.fetch,
  queue: handleQueue,
} satisfies ExportedHandler<Env>;
