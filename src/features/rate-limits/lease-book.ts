import type { LeaseDecision, LimitDecision } from './rate-limiter';

// An isolate's leased tokens, per limiter key: spent locally, so a request whose key has tokens here
// makes no call to the limiter object. Leases expire (a bucket refills, so an old lease must not be
// spent late) and their unspent rest goes back with the next call for the same key.
// Why: docs/design/rate-limits.md#leases

export interface LeaseSettings {
  // How long leased tokens may be spent; 0 turns leasing off (one object call per take).
  ttlMs: number;
  // The most tokens one call asks for.
  max: number;
}

interface Pool {
  policyKey: string;
  tokens: number;
  expiresAt: number; // ms
  // The object's view at the grant, for the headers of locally spent tokens.
  limit: number;
  objectRemaining: number;
  resetAt: number;
  resetAtMs: number;
  windowSeconds: number;
  // A bucket (refilled continuously, `limit` per minute) rather than a window or a month.
  bucket: boolean;
}

interface Demand {
  since: number; // ms
  count: number; // takes seen since `since`
  previous: number; // takes seen in the lease period before, if it was the one just ended
  asked: number; // tokens asked for by calls still in flight
}

// The unspent rest of an expired or replaced lease, to give back with the next call for its key.
export interface Returnable {
  policyKey: string;
  count: number;
  resetAt: number;
}

const MAX_KEYS = 10_000;

export class LeaseBook {
  private readonly pools = new Map<string, Pool>();
  private readonly demand = new Map<string, Demand>();
  private readonly returns = new Map<string, Returnable>();

  // One token from this isolate's lease for `name`, or null when there is none to spend.
  spend(name: string, policyKey: string, now: number): LimitDecision | null {
    const pool = this.pools.get(name);
    if (!pool || pool.policyKey !== policyKey || now >= pool.expiresAt) {
      if (pool) this.retire(name, pool);
      return null;
    }
    if (pool.tokens < 1) return null;
    pool.tokens -= 1;
    return this.decision(pool);
  }

  // How many tokens the call about to be made should ask for: this isolate's takes in the current lease
  // period or the one before (whichever is more), less what is already leased or asked for, at least 1 and at most `max`.
  want(name: string, settings: LeaseSettings, now: number): number {
    if (settings.ttlMs <= 0) return 1;
    const d = this.demandOf(name, now, settings.ttlMs);
    const pooled = this.pools.get(name)?.tokens ?? 0;
    const want = Math.max(1, Math.min(settings.max, Math.max(d.count, d.previous) - pooled - d.asked));
    d.asked += want;
    return want;
  }

  // Every take, local or not, counts as demand.
  noteTake(name: string, settings: LeaseSettings, now: number): void {
    if (settings.ttlMs > 0) this.demandOf(name, now, settings.ttlMs).count += 1;
  }

  // Records a call's answer (null: the call failed): the caller's own token is spent, the rest is leased here. A window or a
  // month ends at its reset, and a lease of it with it; a bucket's reset only says when it is full again.
  settle(
    call: { name: string; policyKey: string; endsAtReset: boolean; asked: number },
    lease: LeaseDecision | null,
    settings: LeaseSettings,
    now: number,
  ): void {
    const { name, policyKey } = call;
    const d = this.demand.get(name);
    if (d) d.asked = Math.max(0, d.asked - call.asked);
    if (!lease) return;
    const extra = Math.max(0, lease.granted - 1);
    const pool = this.pools.get(name);
    if (
      pool &&
      pool.policyKey === policyKey &&
      now < pool.expiresAt &&
      (!call.endsAtReset || pool.resetAt === lease.resetAt)
    ) {
      // The newer view of the object replaces the older; the tokens add up.
      Object.assign(pool, {
        tokens: pool.tokens + extra,
        objectRemaining: lease.remaining,
        resetAt: lease.resetAt,
        resetAtMs: lease.resetAtMs,
      });
      return;
    }
    if (pool) this.retire(name, pool);
    if (extra === 0) return;
    this.prune(now);
    this.pools.set(name, {
      policyKey,
      tokens: extra,
      expiresAt: Math.min(now + settings.ttlMs, call.endsAtReset ? lease.resetAt * 1000 : Infinity),
      limit: lease.limit,
      objectRemaining: lease.remaining,
      resetAt: lease.resetAt,
      resetAtMs: lease.resetAtMs,
      windowSeconds: lease.windowSeconds,
      bucket: !call.endsAtReset,
    });
  }

  // A token a refused request took elsewhere goes back to this isolate's lease, if that lease still stands.
  putBack(name: string, policyKey: string, now: number): boolean {
    const pool = this.pools.get(name);
    if (!pool || pool.policyKey !== policyKey || now >= pool.expiresAt) return false;
    pool.tokens += 1;
    return true;
  }

  // The unspent tokens of leases that ended for `name`, once: the caller gives them back to the object.
  takeReturns(name: string, policyKey: string, now: number): Returnable | null {
    const pool = this.pools.get(name);
    if (pool && (pool.policyKey !== policyKey || now >= pool.expiresAt)) this.retire(name, pool);
    const r = this.returns.get(name);
    if (!r) return null;
    this.returns.delete(name);
    return r.policyKey === policyKey ? r : null;
  }

  // What the caller is told after spending a token of `name` here: the object's view at the last grant,
  // with this isolate's unspent tokens counted as left. Null when no lease stands.
  view(name: string, policyKey: string, now: number): LimitDecision | null {
    const pool = this.pools.get(name);
    return pool && pool.policyKey === policyKey && now < pool.expiresAt ? this.decision(pool) : null;
  }

  private decision(pool: Pool): LimitDecision {
    // A bucket would be full again sooner by the time its unspent leased tokens take to refill.
    const resetAt = pool.bucket
      ? Math.ceil((pool.resetAtMs - (pool.tokens * 60_000) / pool.limit) / 1000)
      : pool.resetAt;
    return {
      allowed: true,
      limit: pool.limit,
      remaining: pool.objectRemaining + pool.tokens,
      resetAt,
      windowSeconds: pool.windowSeconds,
      retryAfterSeconds: 0,
    };
  }

  // An ended lease is never spent again; its unspent tokens wait to be given back.
  private retire(name: string, pool: Pool): void {
    this.pools.delete(name);
    if (pool.tokens < 1) return;
    const prior = this.returns.get(name);
    const same = prior && prior.policyKey === pool.policyKey && prior.resetAt === pool.resetAt;
    this.returns.set(name, {
      policyKey: pool.policyKey,
      count: (same ? prior.count : 0) + pool.tokens,
      resetAt: pool.resetAt,
    });
  }

  private demandOf(name: string, now: number, ttlMs: number): Demand {
    let d = this.demand.get(name);
    if (!d) {
      this.prune(now);
      d = { since: now, count: 0, previous: 0, asked: 0 };
      this.demand.set(name, d);
    } else if (now - d.since >= ttlMs) {
      d.previous = now - d.since < 2 * ttlMs ? d.count : 0;
      d.since = now;
      d.count = 0;
    }
    return d;
  }

  // Limiter keys include client IPs: an isolate keeps at most MAX_KEYS of them, dropping ended leases and
  // idle demand first. A dropped lease's tokens are never spent, which keeps every limit an upper bound.
  private prune(now: number): void {
    if (this.pools.size + this.demand.size + this.returns.size < MAX_KEYS) return;
    for (const [name, pool] of this.pools) if (now >= pool.expiresAt) this.pools.delete(name);
    for (const [name, d] of this.demand) if (d.asked === 0) this.demand.delete(name);
    this.returns.clear();
    if (this.pools.size >= MAX_KEYS) this.pools.clear();
  }
}
