import type { Context } from 'hono';
import { identify } from '../accounts';
import type { AppEnv, Bindings } from '../../env';
import { describeError, type Logger } from '../../lib/log';
import type { Config } from '../../config';
import { acquire, limiter } from './acquire';
import { leaseSettings, withTimeout } from './middleware';
import { chargeLedger, readQuotaLimit } from './quota-ledger';

// The organization's monthly quota, counted in its `org:` limiter object (leased to isolates like the
// limits) with D1 as the ledger written behind. Why: docs/design/rate-limits.md#the-monthly-quota

// Counts one AI call against the caller's organization; false when the month's quota is used up.
export async function chargeQuota(c: Context<AppEnv>, organizationId: string): Promise<boolean> {
  const identity = await identify(c).catch(() => null);
  const cached = identity?.organizationId === organizationId ? identity.organization?.quotaLimit : undefined;
  return chargeOrganizationQuota(c.env, c.var.config, c.var.log, organizationId, cached);
}

// The same without a request context (a realtime room's turn); `knownLimit` when the identity carries it.
export async function chargeOrganizationQuota(
  env: Bindings,
  config: Config,
  log: Logger,
  organizationId: string,
  knownLimit?: number,
): Promise<boolean> {
  const limit = knownLimit ?? (await readQuotaLimit(env.DB, organizationId));
  if (limit === null) return false;
  try {
    const taken = await withTimeout(
      acquire(env, `org:${organizationId}`, { kind: 'quota', limit, organizationId }, leaseSettings(config)),
    );
    return taken.decision.allowed;
  } catch (err) {
    // Money is not left unguarded while the object is out of reach: D1 checks and counts instead.
    log.warn('quota object unavailable; quota checked in D1', { error: describeError(err) });
    return chargeLedger(env.DB, organizationId);
  }
}

// This month's use as the object counts it (calls admitted, leased tokens included), or null when the
// object cannot say; then the D1 ledger, up to a second behind, is what there is.
export async function quotaUsed(env: Bindings, organizationId: string): Promise<number | null> {
  try {
    return await withTimeout(limiter(env, `org:${organizationId}`).quotaUsed(organizationId));
  } catch {
    return null;
  }
}
