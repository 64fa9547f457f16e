import { DurableObject } from 'cloudflare:workers';

// One limiter key per instance: `client:<client key>`, `org:<id>` or `ws:<client key>`. Every read and write below
// is synchronous (`ctx.storage.kv`, no `await` between them), so a take() is atomic.
// Why: docs/design/rate-limits.md#atomic-take

export type LimitPolicy =
  // Token bucket: holds up to `capacity` tokens (the burst), refilled continuously at
  // `refillPerMinute`. Reported as a limit of `refillPerMinute` per 60-second window.
  | { kind: 'bucket'; capacity: number; refillPerMinute: number }
  // Fixed window aligned to the epoch (an hourly window resets on the hour).
  | { kind: 'window'; limit: number; windowSeconds: number };

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  // Requests left after this one (0 when refused).
  remaining: number;
  // Unix seconds: a bucket is full again, a window starts over.
  resetAt: number;
  windowSeconds: number;
  // Seconds until a retry can succeed (at least 1) when refused; 0 when allowed.
  retryAfterSeconds: number;
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

const BUCKET_KEY = 'bucket';
const windowKey = (windowSeconds: number) => `window:${windowSeconds}`;

function positive(n: unknown, name: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number`);
  return n;
}

export class RateLimiter extends DurableObject<Env> {
  // Whether this instance has scheduled its clean-up alarm (lost on eviction; then set again).
  private alarmScheduled = false;

  async take(policy: LimitPolicy, now: number = Date.now()): Promise<LimitDecision> {
    const decision = policy.kind === 'bucket' ? this.takeToken(policy, now) : this.countInWindow(policy, now);
    await this.scheduleCleanup(now);
    return decision;
  }

  // Gives back what a take() used when another limiter refused the same request, so refused
  // requests cost nothing anywhere. A window is only credited if it is still the one charged.
  async refund(policy: LimitPolicy, chargedResetAt: number, now: number = Date.now()): Promise<void> {
    const kv = this.ctx.storage.kv;
    if (policy.kind === 'bucket') {
      const state = kv.get<BucketState>(BUCKET_KEY);
      if (!state) return;
      const capacity = positive(policy.capacity, 'capacity');
      kv.put<BucketState>(BUCKET_KEY, { ...state, tokens: Math.min(capacity, state.tokens + 1) });
      return;
    }
    const windowSeconds = positive(policy.windowSeconds, 'windowSeconds');
    const key = windowKey(windowSeconds);
    const state = kv.get<WindowState>(key);
    if (!state || state.start + windowSeconds !== chargedResetAt || now >= chargedResetAt * 1000) return;
    kv.put<WindowState>(key, { ...state, count: Math.max(0, state.count - 1) });
  }

  private takeToken(policy: Extract<LimitPolicy, { kind: 'bucket' }>, now: number): LimitDecision {
    const capacity = positive(policy.capacity, 'capacity');
    const perMinute = positive(policy.refillPerMinute, 'refillPerMinute');
    const perMs = perMinute / 60_000;
    const kv = this.ctx.storage.kv;
    const state = kv.get<BucketState>(BUCKET_KEY);
    // A clock that steps back never refills, and never drains either.
    const at = Math.max(now, state?.at ?? now);
    const elapsed = state ? Math.max(0, now - state.at) : 0;
    let tokens = Math.min(capacity, state ? state.tokens + elapsed * perMs : capacity);
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    const msToFull = (capacity - tokens) / perMs;
    kv.put<BucketState>(BUCKET_KEY, { tokens, at, idleAt: at + Math.ceil(msToFull) });
    return {
      allowed,
      limit: perMinute,
      remaining: Math.floor(tokens),
      resetAt: Math.ceil((at + msToFull) / 1000),
      windowSeconds: 60,
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
    };
  }

  private countInWindow(policy: Extract<LimitPolicy, { kind: 'window' }>, now: number): LimitDecision {
    const limit = positive(policy.limit, 'limit');
    const windowSeconds = Math.ceil(positive(policy.windowSeconds, 'windowSeconds'));
    const nowSeconds = Math.floor(now / 1000);
    const start = nowSeconds - (nowSeconds % windowSeconds);
    const resetAt = start + windowSeconds;
    const kv = this.ctx.storage.kv;
    const key = windowKey(windowSeconds);
    const state = kv.get<WindowState>(key);
    const used = state && state.start === start ? state.count : 0;
    const allowed = used < limit;
    const count = allowed ? used + 1 : used;
    kv.put<WindowState>(key, { start, count, idleAt: resetAt * 1000 });
    return {
      allowed,
      limit,
      remaining: Math.max(0, limit - count),
      resetAt,
      windowSeconds,
      retryAfterSeconds: allowed ? 0 : Math.max(1, resetAt - nowSeconds),
    };
  }

  // Limiter keys include client IPs, so idle state must not pile up: once every entry of this
  // instance is back to its fresh value, the alarm deletes the instance's storage.
  private async scheduleCleanup(now: number): Promise<void> {
    if (this.alarmScheduled) return;
    this.alarmScheduled = true;
    await this.ctx.storage.setAlarm(Math.max(now, this.latestIdleAt()) + 1_000);
  }

  private latestIdleAt(): number {
    let latest = 0;
    for (const [, value] of this.ctx.storage.kv.list<{ idleAt?: number }>()) {
      latest = Math.max(latest, value?.idleAt ?? 0);
    }
    return latest;
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const latest = this.latestIdleAt();
    if (latest > now) {
      await this.ctx.storage.setAlarm(latest + 1_000);
      return;
    }
    this.alarmScheduled = false;
    await this.ctx.storage.deleteAll();
  }
}
