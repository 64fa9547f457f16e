import { createApp } from './app';
import { handleQueue } from './features/request-log';

export { CacheIndex, SemanticIndex } from './features/cache';
export { RateLimiter } from './features/rate-limits';
export { CacheFlight } from './features/single-flight';
export { ChatRoom, SocketSession } from './features/rooms';

const app = createApp();

// HTTP through the Hono app; the request-log queue (wrangler.toml) through its consumer.
export default {
  fetch: app.fetch,
  queue: handleQueue,
} satisfies ExportedHandler<Env>;
