export { admit, clientKeyOf, rateLimit, rateLimitError, takeWebSocketSlot } from './middleware';
export { RateLimiter } from './rate-limiter';
export { chargeOrganizationQuota, chargeQuota, quotaUsed } from './quota';
export { quotaPeriod } from './quota-ledger';
