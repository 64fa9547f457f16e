import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { apiKeys, memberships, organizations, ROLES, type Role } from '../../db/schema';
import { sha256Hex } from '../../lib/crypto';

export const API_KEY_PREFIX = 'ew_';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// ew_ + 40 base62 characters (~238 bits). Only its SHA-256 is stored; the first 11 characters are
// kept to let people tell their keys apart.
export function generateApiKey(): { key: string; prefix: string } {
  const bytes = crypto.getRandomValues(new Uint8Array(40));
  let body = '';
  for (const b of bytes) body += ALPHABET[b % ALPHABET.length];
  const key = `${API_KEY_PREFIX}${body}`;
  return { key, prefix: key.slice(0, 11) };
}

export function rank(role: Role): number {
  return ROLES.length - ROLES.indexOf(role);
}

export function lowerRole(a: Role, b: Role): Role {
  return rank(a) <= rank(b) ? a : b;
}

export interface KeyIdentity {
  keyId: string;
  userId: string;
  organizationId: string;
  role: Role;
  // ISO 8601, or null for a key that never expires.
  expiresAt: string | null;
  // The organization's tier, settings and monthly quota, read in the same statement for the limiters.
  tier: string;
  settings: Record<string, unknown>;
  quotaLimit: number;
}

// A key acts with its own role, capped by its creator's current role in the organization; a key whose
// creator left the organization stops working.
export async function findApiKey(db: Database, key: string): Promise<KeyIdentity | undefined> {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 100) return undefined;
  const row = await db
    .select({
      keyId: apiKeys.id,
      userId: apiKeys.userId,
      organizationId: apiKeys.organizationId,
      keyRole: apiKeys.role,
      memberRole: memberships.role,
      expiresAt: apiKeys.expiresAt,
      tier: organizations.subscriptionTier,
      settings: organizations.settings,
      quotaLimit: organizations.apiQuotaLimit,
    })
    .from(apiKeys)
    .innerJoin(
      memberships,
      and(eq(memberships.userId, apiKeys.userId), eq(memberships.organizationId, apiKeys.organizationId)),
    )
    .innerJoin(organizations, eq(organizations.id, apiKeys.organizationId))
    .where(and(eq(apiKeys.keyHash, await sha256Hex(key)), isNull(apiKeys.revokedAt)))
    .get();
  if (!row) return undefined;
  if (row.expiresAt !== null && row.expiresAt <= new Date().toISOString()) return undefined;
  return {
    keyId: row.keyId,
    userId: row.userId,
    organizationId: row.organizationId,
    role: lowerRole(row.keyRole, row.memberRole),
    expiresAt: row.expiresAt,
    tier: row.tier,
    settings: row.settings,
    quotaLimit: row.quotaLimit,
  };
}
