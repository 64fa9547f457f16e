export { rateLimit } from './middleware';
export { RateLimiter } from './rate-limiter';
export { chargeQuota, quotaUsed } from './quota';
export { quotaPeriod } from './quota-ledger';
