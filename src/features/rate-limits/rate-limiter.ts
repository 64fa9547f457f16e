import { DurableObject } from 'cloudflare:workers';
import { quotaPeriod, readLedger, writeLedger } from './quota-ledger';

// One limiter key per instance: `client:<client key>`, `org:<id>` or `ws:<client key>`. An `org:` instance
// holds the organization's hourly window and its monthly quota. Every read and write of a grant is
// synchronous (`ctx.storage.kv`, no `await` between them), so a grant is atomic.
// Why: docs/design/rate-limits.md#atomic-take and #leases

export type LimitPolicy =
  // Token bucket: holds up to `capacity` tokens (the burst), refilled continuously at
  // `refillPerMinute`. Reported as a limit of `refillPerMinute` per 60-second window.
  | { kind: 'bucket'; capacity: number; refillPerMinute: number }
  // Fixed window aligned to the epoch (an hourly window resets on the hour).
  | { kind: 'window'; limit: number; windowSeconds: number }
  // An organization's calls per calendar month (UTC). D1 holds the durable ledger: the object seeds its
  // count from it and writes its changes behind.
  | { kind: 'quota'; limit: number; organizationId: string };

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  // Requests left after this one (0 when refused); after the whole grant, for a lease.
  remaining: number;
  // Unix seconds: a bucket is full again, a window or a month starts over.
  resetAt: number;
  windowSeconds: number;
  // Seconds until a retry can succeed (at least 1) when refused; 0 when allowed.
  retryAfterSeconds: number;
}

// A decision for 1 + (granted − 1) tokens: the caller's own, and a lease its isolate may spend locally.
export interface LeaseDecision extends LimitDecision {
  granted: number;
  // resetAt to the millisecond: a bucket's tokens refill continuously, and an isolate that spends leased
  // tokens reports when the bucket would be full again had it not leased the rest.
  resetAtMs: number;
}

interface BucketState {
  tokens: number;
  at: number; // ms
  idleAt: number; // ms: from then on the state equals a fresh one and can be deleted
}

interface WindowState {
  start: number; // unix s
  count: number;
  idleAt: number; // ms
}

interface QuotaState {
  organizationId: string;
  period: string; // YYYY-MM (UTC)
  used: number;
  // Change not yet written to the D1 ledger (negative when returned leases outweigh new use).
  pending: number;
  idleAt: number; // ms
}

const BUCKET_KEY = 'bucket';
const QUOTA_KEY = 'quota';
const windowKey = (windowSeconds: number) => `window:${windowSeconds}`;
// A lease takes at most this share of what is left after the caller's own token, so it is large while
// the bucket is full and one at a time near empty, and other isolates always find some.
const LEASE_SHARE = 4;
// How soon a quota change reaches the D1 ledger, and how long a settled quota state is kept.
const LEDGER_DELAY_MS = 1_000;
const QUOTA_KEEP_MS = 10 * 60_000;

function positive(n: unknown, name: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number`);
  return n;
}

function wanted(want: number): number {
  return Number.isInteger(want) && want >= 1 ? want : 1;
}

// Tokens granted when `available` whole tokens are left before the caller's own.
export function leaseSize(want: number, available: number): number {
  if (available < 1) return 0;
  return 1 + Math.min(wanted(want) - 1, Math.floor((available - 1) / LEASE_SHARE));
}

export function monthBounds(now: number): { period: string; start: number; end: number } {
  const d = new Date(now);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
  return { period: quotaPeriod(new Date(now)), start, end };
}

export class RateLimiter extends DurableObject<Env> {
  // The alarm this instance has set (lost on eviction; then set again): clean-up, or the ledger write.
  private alarmAt: number | null = null;
  private seeding: Promise<void> | null = null;

  // Not async: the lease's own promise is returned, so a refusal of a bad policy is handled where it is awaited.
  take(policy: LimitPolicy, now: number = Date.now()): Promise<LimitDecision> {
    return this.lease(policy, 1, now);
  }

  // Admits the caller and leases up to want − 1 more tokens to its isolate, sized to what is left. The
  // isolate may give back the unspent rest of its previous lease in the same call.
  async lease(
    policy: LimitPolicy,
    want: number,
    now: number = Date.now(),
    returned: { count: number; resetAt: number } | null = null,
  ): Promise<LeaseDecision> {
    if (policy.kind === 'quota') await this.quotaReady(policy, now);
    if (returned) this.credit(policy, returned.count, returned.resetAt, now);
    const decision =
      policy.kind === 'bucket'
        ? this.takeTokens(policy, want, now)
        : policy.kind === 'window'
          ? this.countInWindow(policy, want, now)
          : this.countInQuota(policy, want, now);
    await this.scheduleAlarm(now);
    return decision;
  }

  // Gives back tokens that were charged but not used: a refused request's other takes, or the unspent
  // rest of an expired lease. A window or a month is only credited if it is still the one charged.
  async giveBack(policy: LimitPolicy, count: number, chargedResetAt: number, now: number = Date.now()): Promise<void> {
    this.credit(policy, count, chargedResetAt, now);
    await this.scheduleAlarm(now);
  }

  async refund(policy: LimitPolicy, chargedResetAt: number, now: number = Date.now()): Promise<void> {
    await this.giveBack(policy, 1, chargedResetAt, now);
  }

  private credit(policy: LimitPolicy, count: number, chargedResetAt: number, now: number): void {
    if (!Number.isInteger(count) || count < 1) return;
    const kv = this.ctx.storage.kv;
    if (policy.kind === 'bucket') {
      const state = kv.get<BucketState>(BUCKET_KEY);
      if (!state) return;
      const capacity = positive(policy.capacity, 'capacity');
      kv.put<BucketState>(BUCKET_KEY, { ...state, tokens: Math.min(capacity, state.tokens + count) });
      return;
    }
    if (now >= chargedResetAt * 1000) return;
    if (policy.kind === 'window') {
      const windowSeconds = positive(policy.windowSeconds, 'windowSeconds');
      const key = windowKey(windowSeconds);
      const state = kv.get<WindowState>(key);
      if (!state || state.start + windowSeconds !== chargedResetAt) return;
      kv.put<WindowState>(key, { ...state, count: Math.max(0, state.count - count) });
      return;
    }
    const state = kv.get<QuotaState>(QUOTA_KEY);
    if (!state || state.period !== monthBounds(now).period || monthBounds(now).end !== chargedResetAt) return;
    const credit = Math.min(count, state.used);
    kv.put<QuotaState>(QUOTA_KEY, { ...state, used: state.used - credit, pending: state.pending - credit });
  }

  // This month's admitted calls of the organization (leases included), without charging any.
  async quotaUsed(organizationId: string, now: number = Date.now()): Promise<number> {
    await this.quotaReady({ kind: 'quota', limit: 1, organizationId }, now);
    return this.ctx.storage.kv.get<QuotaState>(QUOTA_KEY)?.used ?? 0;
  }

  private takeTokens(policy: Extract<LimitPolicy, { kind: 'bucket' }>, want: number, now: number): LeaseDecision {
    const capacity = positive(policy.capacity, 'capacity');
    const perMinute = positive(policy.refillPerMinute, 'refillPerMinute');
    const perMs = perMinute / 60_000;
    const kv = this.ctx.storage.kv;
    const state = kv.get<BucketState>(BUCKET_KEY);
    // A clock that steps back never refills, and never drains either.
    const at = Math.max(now, state?.at ?? now);
    const elapsed = state ? Math.max(0, now - state.at) : 0;
    let tokens = Math.min(capacity, state ? state.tokens + elapsed * perMs : capacity);
    const granted = leaseSize(want, Math.floor(tokens));
    tokens -= granted;
    const msToFull = (capacity - tokens) / perMs;
    kv.put<BucketState>(BUCKET_KEY, { tokens, at, idleAt: at + Math.ceil(msToFull) });
    return {
      allowed: granted > 0,
      granted,
      limit: perMinute,
      remaining: Math.floor(tokens),
      resetAt: Math.ceil((at + msToFull) / 1000),
      resetAtMs: at + msToFull,
      windowSeconds: 60,
      retryAfterSeconds: granted > 0 ? 0 : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
    };
  }

  private countInWindow(policy: Extract<LimitPolicy, { kind: 'window' }>, want: number, now: number): LeaseDecision {
    const limit = positive(policy.limit, 'limit');
    const windowSeconds = Math.ceil(positive(policy.windowSeconds, 'windowSeconds'));
    const nowSeconds = Math.floor(now / 1000);
    const start = nowSeconds - (nowSeconds % windowSeconds);
    const resetAt = start + windowSeconds;
    const kv = this.ctx.storage.kv;
    const key = windowKey(windowSeconds);
    const state = kv.get<WindowState>(key);
    const used = state && state.start === start ? state.count : 0;
    const granted = leaseSize(want, limit - used);
    const count = used + granted;
    kv.put<WindowState>(key, { start, count, idleAt: resetAt * 1000 });
    return {
      allowed: granted > 0,
      granted,
      limit,
      remaining: Math.max(0, limit - count),
      resetAt,
      resetAtMs: resetAt * 1000,
      windowSeconds,
      retryAfterSeconds: granted > 0 ? 0 : Math.max(1, resetAt - nowSeconds),
    };
  }

  private countInQuota(policy: Extract<LimitPolicy, { kind: 'quota' }>, want: number, now: number): LeaseDecision {
    const limit = Math.max(0, Math.floor(policy.limit));
    const month = monthBounds(now);
    const kv = this.ctx.storage.kv;
    const state = kv.get<QuotaState>(QUOTA_KEY);
    // quotaReady() has seeded this month's state; a month that turned since starts from zero.
    const current =
      state?.period === month.period
        ? state
        : { organizationId: policy.organizationId, period: month.period, used: 0, pending: 0, idleAt: 0 };
    const granted = leaseSize(want, limit - current.used);
    if (granted > 0 || current !== state) {
      kv.put<QuotaState>(QUOTA_KEY, {
        organizationId: policy.organizationId,
        period: month.period,
        used: current.used + granted,
        pending: current.pending + granted,
        idleAt: now + QUOTA_KEEP_MS,
      });
    }
    return {
      allowed: granted > 0,
      granted,
      limit,
      remaining: Math.max(0, limit - current.used - granted),
      resetAt: month.end,
      resetAtMs: month.end * 1000,
      windowSeconds: month.end - month.start,
      retryAfterSeconds: granted > 0 ? 0 : Math.max(1, month.end - Math.floor(now / 1000)),
    };
  }

  // Seeds this month's count from the D1 ledger the first time the month is seen here. Calls that arrive
  // meanwhile wait for the same read; the count itself then changes only synchronously.
  private async quotaReady(policy: Extract<LimitPolicy, { kind: 'quota' }>, now: number): Promise<void> {
    const period = monthBounds(now).period;
    if (this.ctx.storage.kv.get<QuotaState>(QUOTA_KEY)?.period === period) return;
    this.seeding ??= (async () => {
      try {
        // A month that just ended may still have changes to write; they go first.
        const old = this.ctx.storage.kv.get<QuotaState>(QUOTA_KEY);
        if (old && old.pending !== 0) await writeLedger(this.env.DB, old.organizationId, old.period, old.pending);
        const used = await readLedger(this.env.DB, policy.organizationId, period);
        if (this.ctx.storage.kv.get<QuotaState>(QUOTA_KEY)?.period !== period) {
          this.ctx.storage.kv.put<QuotaState>(QUOTA_KEY, {
            organizationId: policy.organizationId,
            period,
            used,
            pending: 0,
            idleAt: now + QUOTA_KEEP_MS,
          });
        }
      } finally {
        this.seeding = null;
      }
    })();
    await this.seeding;
  }

  // One alarm per object: the ledger write when quota changes are pending, else the clean-up.
  private async scheduleAlarm(now: number): Promise<void> {
    const quota = this.ctx.storage.kv.get<QuotaState>(QUOTA_KEY);
    const at = quota && quota.pending !== 0 ? now + LEDGER_DELAY_MS : Math.max(now, this.latestIdleAt()) + 1_000;
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  private latestIdleAt(): number {
    let latest = 0;
    for (const [, value] of this.ctx.storage.kv.list<{ idleAt?: number }>()) {
      latest = Math.max(latest, value?.idleAt ?? 0);
    }
    return latest;
  }

  // Limiter keys include client IPs, so idle state must not pile up: once every entry of this instance is
  // back to its fresh value (and the quota's changes are in D1), the alarm deletes the instance's storage.
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = Date.now();
    const kv = this.ctx.storage.kv;
    const quota = kv.get<QuotaState>(QUOTA_KEY);
    if (quota && quota.pending !== 0) {
      await writeLedger(this.env.DB, quota.organizationId, quota.period, quota.pending);
      // Only what was written is settled: calls admitted during the write stay pending.
      const after = kv.get<QuotaState>(QUOTA_KEY);
      if (after?.period === quota.period)
        kv.put<QuotaState>(QUOTA_KEY, { ...after, pending: after.pending - quota.pending });
    }
    const latest = this.latestIdleAt();
    const pending = kv.get<QuotaState>(QUOTA_KEY)?.pending ?? 0;
    if (latest > now || pending !== 0) {
      await this.scheduleAlarm(now);
      return;
    }
    await this.ctx.storage.deleteAll();
  }
}
