// The authenticated caller of the bench: an account registered through Edgeway's own API, an `ew_` API
// key minted with its access token, and its organization given a paid tier and a monthly quota the run
// never exhausts. The API has no way to set tier or quota (both are refused by PATCH on purpose), so
// those two columns are written in the bench's D1 directly, before the key's first call.
import type { Miniflare } from 'miniflare';
import { request } from 'undici';
import type { ExtraHeaders } from './load';
import type { RunningWorker } from './workers';

export interface ApiCaller {
  key: string; // ew_…
  organizationId: string;
  tier: string;
  quota: number;
  bearer: ExtraHeaders; // Authorization: Bearer ew_…
  xApiKey: ExtraHeaders; // X-API-Key: ew_…
}

// The tier whose limit (TIER_LIMIT_ENTERPRISE, set in workers.ts's TIER_LIMITS_FOR_LOAD) the calls count
// against, and a monthly quota far above any run (a saturated phase answers at most tens of thousands).
export const BENCH_TIER = 'enterprise';
export const BENCH_QUOTA = 1_000_000_000;

async function post(origin: string, path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await request(origin + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`POST ${path}: status ${res.statusCode}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const str = (o: Record<string, unknown>, k: string, what: string): string => {
  const v = o[k];
  if (typeof v !== 'string' || v === '') throw new Error(`${what}: no ${k} in the answer`);
  return v;
};

async function setTierAndQuota(mf: Miniflare, organizationId: string): Promise<void> {
  const db = await mf.getD1Database('DB');
  await db
    .prepare('UPDATE organizations SET subscription_tier = ?, api_quota_limit = ?, api_quota_used = 0 WHERE id = ?')
    .bind(BENCH_TIER, BENCH_QUOTA, organizationId)
    .run();
  const row = await db
    .prepare('SELECT subscription_tier AS tier, api_quota_limit AS quota FROM organizations WHERE id = ?')
    .bind(organizationId)
    .first<{ tier: string; quota: number }>();
  if (row?.tier !== BENCH_TIER || row.quota !== BENCH_QUOTA)
    throw new Error(`organization ${organizationId}: tier and quota not set (${JSON.stringify(row)})`);
}

export async function provisionApiKey(w: RunningWorker): Promise<ApiCaller> {
  const login = await post(w.origin, '/api/v1/auth/register', {
    email: `bench-${w.name}@example.com`,
    password: 'bench-password-0123456789',
    username: 'bench',
  });
  const access = str(login, 'access_token', 'register');
  const created = await post(w.origin, '/api/v1/auth/api-keys', { name: 'bench' }, access);
  const key = str(created, 'key', 'api-keys');
  const organizationId = str(created, 'organization_id', 'api-keys');
  await setTierAndQuota(w.mf, organizationId);
  return {
    key,
    organizationId,
    tier: BENCH_TIER,
    quota: BENCH_QUOTA,
    bearer: { authorization: `Bearer ${key}` },
    xApiKey: { 'x-api-key': key },
  };
}
