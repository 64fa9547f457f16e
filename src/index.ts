import { createApp } from './app';

export { CacheIndex } from './durable-objects/cache-index';
export { RateLimiter } from './durable-objects/rate-limiter';
export { SemanticIndex } from './durable-objects/semantic-index';

export default createApp();
