import { DurableObject } from 'cloudflare:workers';
import { cosine } from './embedder';

const MAX_ENTRIES = 5_000;
// Bounds one row's size; the largest provider models return 3072 dimensions.
const MAX_DIMENSIONS = 16_384;

export interface SemanticMatch {
  key: string;
  score: number;
}

// Unit vectors of earlier prompts for one (tenant, provider:model, embedder) scope, each with its context hash.
// Why: docs/design/cache.md#semantic-cache
export class SemanticIndex extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, context TEXT NOT NULL, vector BLOB NOT NULL, expires_at INTEGER NOT NULL, added_at INTEGER NOT NULL)`,
    );
    ctx.storage.sql.exec('CREATE INDEX IF NOT EXISTS vectors_context ON vectors (context)');
  }

  add(key: string, context: string, vector: Float32Array, expiresAt: number): void {
    if (vector.length === 0 || vector.length > MAX_DIMENSIONS) return;
    const sql = this.ctx.storage.sql;
    sql.exec(
      'INSERT OR REPLACE INTO vectors (key, context, vector, expires_at, added_at) VALUES (?, ?, ?, ?, ?)',
      key,
      context,
      new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength),
      expiresAt,
      Date.now(),
    );
    const count = sql.exec<{ n: number }>('SELECT count(*) AS n FROM vectors').one().n;
    if (count > MAX_ENTRIES) {
      sql.exec(
        'DELETE FROM vectors WHERE key IN (SELECT key FROM vectors ORDER BY added_at ASC LIMIT ?)',
        count - MAX_ENTRIES,
      );
    }
  }

  nearest(context: string, vector: Float32Array): SemanticMatch | null {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    sql.exec('DELETE FROM vectors WHERE expires_at <= ?', now);
    let best: SemanticMatch | null = null;
    for (const row of sql.exec<{ key: string; vector: ArrayBuffer }>(
      'SELECT key, vector FROM vectors WHERE context = ?',
      context,
    )) {
      // A vector of another length is from another embedder (or model version) and not comparable.
      if (row.vector.byteLength !== vector.byteLength) continue;
      const score = cosine(vector, new Float32Array(row.vector));
      if (!best || score > best.score) best = { key: row.key, score };
    }
    return best;
  }

  remove(key: string): void {
    this.ctx.storage.sql.exec('DELETE FROM vectors WHERE key = ?', key);
  }
}
