import { DurableObject } from 'cloudflare:workers';

export interface CacheEntryInfo {
  kvKey: string;
  size: number;
  prompt: string;
  model: string;
  expiresAt: number;
}

// Lookups of one tenant in one isolate, counted together: one object call instead of one per lookup.
export interface LookupBatch {
  hits: number;
  misses: number;
  responseMs: number;
  // The keys that answered a hit (each once), for least-recently-used eviction.
  touched: string[];
}

export interface CacheStats {
  hits: number;
  misses: number;
  total_requests: number;
  hit_rate: number;
  cache_size_bytes: number;
  entries: number;
  avg_response_time_ms: number;
  evictions: number;
  last_eviction: string | null;
}

// One per tenant: the authoritative list of its cached answers (for size, eviction, clear-by-pattern)
// and its hit/miss counters. KV holds the answers themselves; KV cannot count or list consistently.
// Why: docs/design/cache.md#cacheindex-entries-counters-eviction
export class CacheIndex extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(
      `CREATE TABLE IF NOT EXISTS entries (kv_key TEXT PRIMARY KEY, size INTEGER NOT NULL, prompt TEXT NOT NULL, model TEXT NOT NULL, expires_at INTEGER NOT NULL, last_access INTEGER NOT NULL)`,
    );
    sql.exec(`CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value REAL NOT NULL)`);
  }

  private bump(name: string, by: number): void {
    this.ctx.storage.sql.exec(
      'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value',
      name,
      by,
    );
  }

  private counter(name: string): number {
    return (
      this.ctx.storage.sql.exec<{ value: number }>('SELECT value FROM counters WHERE name = ?', name).toArray()[0]
        ?.value ?? 0
    );
  }

  private dropExpired(now: number): void {
    this.ctx.storage.sql.exec('DELETE FROM entries WHERE expires_at <= ?', now);
  }

  // The lookups one isolate made for this tenant since its last batch (cache.ts): counters and last access.
  recordLookups(batch: LookupBatch): void {
    if (batch.hits > 0) this.bump('hits', batch.hits);
    if (batch.misses > 0) this.bump('misses', batch.misses);
    if (batch.responseMs > 0) this.bump('response_ms', batch.responseMs);
    const now = Date.now();
    for (const kvKey of batch.touched)
      this.ctx.storage.sql.exec('UPDATE entries SET last_access = ? WHERE kv_key = ?', now, kvKey);
  }

  // Adds an entry and evicts least-recently-used ones until the tenant is within its budget.
  async recordStore(entry: CacheEntryInfo, budgetBytes: number): Promise<string[]> {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    this.dropExpired(now);
    sql.exec(
      'INSERT OR REPLACE INTO entries (kv_key, size, prompt, model, expires_at, last_access) VALUES (?, ?, ?, ?, ?, ?)',
      entry.kvKey,
      entry.size,
      entry.prompt.slice(0, 2_000),
      entry.model,
      entry.expiresAt,
      now,
    );
    const evicted: string[] = [];
    let size = sql.exec<{ s: number }>('SELECT coalesce(sum(size), 0) AS s FROM entries').one().s;
    while (size > budgetBytes) {
      const victim = sql
        .exec<{ kv_key: string; size: number }>('SELECT kv_key, size FROM entries ORDER BY last_access ASC LIMIT 1')
        .toArray()[0];
      if (!victim) break;
      sql.exec('DELETE FROM entries WHERE kv_key = ?', victim.kv_key);
      evicted.push(victim.kv_key);
      size -= victim.size;
    }
    if (evicted.length > 0) {
      this.bump('evictions', evicted.length);
      this.ctx.storage.kv.put('last_eviction', new Date(now).toISOString());
      await Promise.all(evicted.map((k) => this.env.CACHE.delete(k)));
    }
    return evicted;
  }

  // Removes entries whose prompt contains `pattern` (all when it is empty) from the index and KV.
  // `recent`: the cleared keys touched lately, whose single-flight may still hold the answer.
  async clear(pattern: string, recentMs: number): Promise<{ cleared: number; recent: string[] }> {
    const sql = this.ctx.storage.sql;
    const rows = sql
      .exec<{ kv_key: string; prompt: string; last_access: number }>('SELECT kv_key, prompt, last_access FROM entries')
      .toArray();
    const needle = pattern.toLowerCase();
    const doomed = rows.filter((r) => needle === '' || r.prompt.toLowerCase().includes(needle));
    for (const r of doomed) sql.exec('DELETE FROM entries WHERE kv_key = ?', r.kv_key);
    await Promise.all(doomed.map((r) => this.env.CACHE.delete(r.kv_key)));
    const since = Date.now() - recentMs;
    return { cleared: doomed.length, recent: doomed.filter((r) => r.last_access >= since).map((r) => r.kv_key) };
  }

  stats(): CacheStats {
    this.dropExpired(Date.now());
    const { n, s } = this.ctx.storage.sql
      .exec<{ n: number; s: number }>('SELECT count(*) AS n, coalesce(sum(size), 0) AS s FROM entries')
      .one();
    const hits = this.counter('hits');
    const misses = this.counter('misses');
    const total = hits + misses;
    const lastEviction = this.ctx.storage.kv.get<string>('last_eviction');
    return {
      hits,
      misses,
      total_requests: total,
      hit_rate: total === 0 ? 0 : Math.round((hits / total) * 1000) / 1000,
      cache_size_bytes: s,
      entries: n,
      avg_response_time_ms: total === 0 ? 0 : Math.round((this.counter('response_ms') / total) * 10) / 10,
      evictions: this.counter('evictions'),
      last_eviction: lastEviction ?? null,
    };
  }
}
