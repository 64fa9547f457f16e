export { rateLimit } from './middleware';
export { RateLimiter } from './rate-limiter';
