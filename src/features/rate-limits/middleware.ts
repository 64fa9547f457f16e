import type { Context, MiddlewareHandler } from 'hono';
import { eq } from 'drizzle-orm';
import { identify, type Identity } from '../accounts';
import { clientIp } from '../accounts';
import type { Config } from '../../config';
import { getDb } from '../../db/client';
import { organizations } from '../../db/schema';
import type { LimitDecision, LimitPolicy } from './rate-limiter';
import type { AppEnv, Bindings } from '../../env';
import { ApiError } from '../../lib/errors';
import { describeError, type Logger } from '../../lib/log';
import { TIMED_OUT, withDeadline } from '../../lib/deadline';
import { acquire, putBack, type Acquired } from './acquire';
import type { LeaseSettings } from './lease-book';

// Per-client bucket, per-organization hourly window by tier, WebSocket slots; fails open when the limiter fails.
// Why: docs/design/rate-limits.md

const LIMITER_TIMEOUT_MS = 2_000;

export type { LimitDecision, LimitPolicy };

// The client a request is counted against. Credentials count only once they are verified: a request
// whose credentials do not verify is counted against its IP, and the route still answers it with 401.
export function clientKeyOf(identity: Identity | null, headers: Headers): string {
  if (identity?.apiKeyId) return `key:${identity.apiKeyId}`;
  if (identity) return `user:${identity.userId}`;
  return `ip:${clientIp(headers)}`;
}

export async function resolveClientKey(c: Context<AppEnv>): Promise<{ key: string; identity: Identity | null }> {
  // identify() is memoized per request, so the route awaiting it later still gets its 401.
  const identity = await identify(c).catch(() => null);
  return { key: clientKeyOf(identity, c.req.raw.headers), identity };
}

export function clientPolicy(config: Config): LimitPolicy {
  return { kind: 'bucket', capacity: config.RATE_LIMIT_BURST, refillPerMinute: config.RATE_LIMIT_PER_MINUTE };
}

export function webSocketPolicy(config: Config): LimitPolicy {
  return { kind: 'window', limit: config.WS_CONNECTIONS_PER_MINUTE, windowSeconds: 60 };
}

// The hourly limit of an organization's tier. A custom organization without a usable
// settings.rate_limit_per_hour gets the enterprise limit rather than being locked out.
export function tierLimit(config: Config, tier: string, settings: Record<string, unknown> | null | undefined): number {
  switch (tier) {
    case 'free':
      return config.TIER_LIMIT_FREE;
    case 'pro':
      return config.TIER_LIMIT_PRO;
    case 'enterprise':
      return config.TIER_LIMIT_ENTERPRISE;
    default: {
      const custom = settings?.rate_limit_per_hour;
      return typeof custom === 'number' && Number.isInteger(custom) && custom > 0
        ? custom
        : config.TIER_LIMIT_ENTERPRISE;
    }
  }
}

async function organizationPolicy(env: Bindings, config: Config, identity: Identity): Promise<LimitPolicy | null> {
  // Verified identities carry their organization's tier (cached with them for IDENTITY_CACHE_TTL_SECONDS),
  // so only an identity built without it costs a read here.
  const org =
    identity.organization ??
    (await getDb(env.DB)
      .select({ tier: organizations.subscriptionTier, settings: organizations.settings })
      .from(organizations)
      .where(eq(organizations.id, identity.organizationId))
      .get());
  if (!org) return null;
  return { kind: 'window', limit: tierLimit(config, org.tier, org.settings), windowSeconds: 3600 };
}

// The one that binds: any refusal first (the longest wait), else the lowest remaining, ties → earliest reset.
export function mostConstrained(decisions: readonly LimitDecision[]): LimitDecision {
  const [first, ...rest] = decisions;
  if (!first) throw new RangeError('no decisions');
  return rest.reduce((a, b) => {
    if (a.allowed !== b.allowed) return a.allowed ? b : a;
    if (!a.allowed) return b.retryAfterSeconds > a.retryAfterSeconds ? b : a;
    if (b.remaining !== a.remaining) return b.remaining < a.remaining ? b : a;
    return b.resetAt < a.resetAt ? b : a;
  }, first);
}

export function rateLimitHeaders(decision: LimitDecision): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(decision.limit),
    'X-RateLimit-Remaining': String(decision.remaining),
    'X-RateLimit-Reset': String(decision.resetAt),
    'X-RateLimit-Window': String(decision.windowSeconds),
    ...(decision.allowed ? {} : { 'Retry-After': String(decision.retryAfterSeconds) }),
  };
}

export function rateLimitError(decision: LimitDecision, message = 'Rate limit exceeded; retry later'): ApiError {
  return new ApiError('RATE_LIMIT_EXCEEDED', message, { headers: rateLimitHeaders(decision) });
}

function overloaded(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { overloaded?: unknown }).overloaded === true;
}

// What an overloaded limiter answers: a refusal with a one-second retry, on the scale of `policy`.
function overloadRefusal(policy: LimitPolicy): LimitDecision {
  const scale =
    policy.kind === 'bucket'
      ? { limit: policy.refillPerMinute, windowSeconds: 60 }
      : policy.kind === 'window'
        ? { limit: policy.limit, windowSeconds: policy.windowSeconds }
        : { limit: policy.limit, windowSeconds: 30 * 86_400 };
  return { allowed: false, ...scale, remaining: 0, resetAt: Math.ceil(Date.now() / 1000) + 1, retryAfterSeconds: 1 };
}

export async function withTimeout<T>(work: Promise<T>): Promise<T> {
  const result = await withDeadline(work, LIMITER_TIMEOUT_MS);
  if (result === TIMED_OUT) throw new Error(`rate limiter did not answer within ${LIMITER_TIMEOUT_MS} ms`);
  return result;
}

export function leaseSettings(config: Config): LeaseSettings {
  return { ttlMs: config.LIMIT_LEASE_TTL_MS, max: config.LIMIT_LEASE_MAX };
}

async function take(env: Bindings, name: string, policy: LimitPolicy, settings: LeaseSettings): Promise<Acquired> {
  try {
    return await acquire(env, name, policy, settings);
  } catch (err) {
    if (overloaded(err)) return { name, slot: name, policy, policyKey: '', decision: overloadRefusal(policy) };
    throw err;
  }
}

async function takeOrganization(env: Bindings, config: Config, identity: Identity): Promise<Acquired | null> {
  const policy = await organizationPolicy(env, config, identity);
  // Awaited here rather than returned from a then() callback, so a refusal is never briefly unhandled.
  return policy ? await take(env, `org:${identity.organizationId}`, policy, leaseSettings(config)) : null;
}

// The decision to report for this request, or null when the limiter failed (fail open).
// Why: docs/design/rate-limits.md#when-the-limiter-fails
async function checkRequest(c: Context<AppEnv>, config: Config): Promise<LimitDecision | null> {
  const { key, identity } = await resolveClientKey(c);
  return admit({ env: c.env, config, log: c.var.log, waitUntil: (p) => c.executionCtx.waitUntil(p) }, key, identity);
}

export interface LimitDeps {
  env: Bindings;
  config: Config;
  log: Logger;
  waitUntil(p: Promise<unknown>): void;
}

// One request's (or one realtime message's) tokens: the client's bucket and, for an identified caller, the
// organization's hourly window. Null when rate limiting is off or the limiter failed (fail open).
export async function admit(
  deps: LimitDeps,
  clientKey: string,
  identity: Identity | null,
): Promise<LimitDecision | null> {
  const { env, config } = deps;
  if (!config.RATE_LIMIT_ENABLED) return null;
  try {
    const charged = await withTimeout(
      Promise.all([
        take(env, `client:${clientKey}`, clientPolicy(config), leaseSettings(config)),
        identity ? takeOrganization(env, config, identity) : null,
      ]),
    );
    const taken = charged.filter((x): x is Acquired => x !== null);
    const decisions = taken.map((x) => x.decision);
    if (decisions.some((d) => !d.allowed)) {
      // A refused request uses up nothing: its other tokens go back to the lease, or to the object.
      const refunds = taken.filter((x) => x.decision.allowed).flatMap((x) => putBack(env, x) ?? []);
      if (refunds.length > 0) deps.waitUntil(Promise.all(refunds).catch(() => undefined));
    }
    return mostConstrained(decisions);
  } catch (err) {
    deps.log.warn('rate limiter unavailable; request served without rate limiting', { error: describeError(err) });
    return null;
  }
}

export const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const config = c.var.config;
  if (!config.RATE_LIMIT_ENABLED) return next();
  const decision = await checkRequest(c, config);
  if (decision && !decision.allowed) throw rateLimitError(decision);
  await next();
  // Error responses of the routes below included.
  if (decision) for (const [name, value] of Object.entries(rateLimitHeaders(decision))) c.res.headers.set(name, value);
};

// Counts one new WebSocket connection of `clientKey` (from clientKeyOf). Null means admit without
// headers: rate limiting is off, or the limiter failed (fail open, as for requests). A refusal is
// meant to be answered with rateLimitError(decision) before the upgrade.
export async function takeWebSocketSlot(
  env: Bindings,
  clientKey: string,
  config: Config,
  log?: Logger,
): Promise<LimitDecision | null> {
  if (!config.RATE_LIMIT_ENABLED) return null;
  try {
    // Connections are few; each is counted at the object (no lease).
    return (await withTimeout(take(env, `ws:${clientKey}`, webSocketPolicy(config), { ttlMs: 0, max: 1 }))).decision;
  } catch (err) {
    log?.warn('rate limiter unavailable; WebSocket connection admitted without rate limiting', {
      error: describeError(err),
    });
    return null;
  }
}
