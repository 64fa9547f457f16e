// Verified credentials held by one isolate for a few seconds, so a caller's next requests skip the D1
// reads that verified them. Only verified identities are ever stored (a refused credential is looked up
// again on its next use, so a key created a moment ago works at once), and each entry dies at whichever
// comes first: the configured bound or the credential's own expiry, so the cache never extends one.

// Entries of one isolate; beyond it the oldest are dropped. Every entry lives at most the TTL, so the
// oldest inserted is also the nearest to expiring: insertion order is enough, no recency tracking.
export const IDENTITY_CACHE_CAPACITY = 10_000;

interface Entry<T> {
  value: T;
  // Epoch milliseconds; the entry is dead from this instant on.
  expiresAt: number;
  // From this instant one request re-verifies the credential in the background while the entry still
  // answers, so a busy credential is not re-verified by every request that arrives as it expires.
  refreshAt: number;
  refreshing: boolean;
}

// Share of an entry's life after which it is refreshed ahead of its expiry.
export const REFRESH_AHEAD = 0.75;

export class IdentityCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly capacity = IDENTITY_CACHE_CAPACITY) {}

  get size(): number {
    return this.entries.size;
  }

  // `key` is the credential's hash, never the credential itself.
  get(key: string, now: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  // True once per entry life, for the first caller past its refresh point: that caller re-verifies in the
  // background and then set()s (or delete()s) it. The entry answers others meanwhile, never past expiresAt.
  claimRefresh(key: string, now: number): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.refreshing || now < entry.refreshAt || now >= entry.expiresAt) return false;
    entry.refreshing = true;
    return true;
  }

  // A refresh that failed for a reason other than a refusal: the next caller past the point tries again.
  releaseRefresh(key: string): void {
    const entry = this.entries.get(key);
    if (entry) entry.refreshing = false;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  set(key: string, value: T, expiresAt: number, now: number): void {
    if (!(expiresAt > now)) return;
    // Re-inserted at the end, so eviction order stays the order entries were (re)verified in.
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt, refreshAt: now + (expiresAt - now) * REFRESH_AHEAD, refreshing: false });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
    }
  }
}
