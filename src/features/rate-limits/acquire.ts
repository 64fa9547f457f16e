import type { Bindings } from '../../env';
import { LeaseBook, type LeaseSettings } from './lease-book';
import type { LimitDecision, LimitPolicy } from './rate-limiter';

// One token of one limiter key: from this isolate's lease when it holds one, else from the object, which
// may lease more along with it. Why: docs/design/rate-limits.md#leases

// This isolate's leases. Tests that play several isolates pass books of their own.
export const isolateBook = new LeaseBook();

export interface Acquired {
  // The object's name, and the key of this isolate's lease of it.
  name: string;
  slot: string;
  policy: LimitPolicy;
  policyKey: string;
  decision: LimitDecision;
}

export function limiter(env: Bindings, name: string) {
  const namespace = env.RATE_LIMITER;
  return namespace.get(namespace.idFromName(name));
}

export async function acquire(
  env: Bindings,
  name: string,
  policy: LimitPolicy,
  settings: LeaseSettings,
  book: LeaseBook = isolateBook,
): Promise<Acquired> {
  const policyKey = JSON.stringify(policy);
  // An organization's object holds its hourly window and its quota: two leases of one object.
  const slot = `${name}#${policy.kind}`;
  const now = Date.now();
  book.noteTake(slot, settings, now);
  const local = book.spend(slot, policyKey, now);
  if (local) return { name, slot, policy, policyKey, decision: local };
  const asked = book.want(slot, settings, now);
  const returned = book.takeReturns(slot, policyKey, now);
  const call = { name: slot, policyKey, endsAtReset: policy.kind !== 'bucket', asked };
  let lease;
  try {
    // The object's own clock decides; this isolate's only times its leases.
    lease = await limiter(env, name).lease(policy, asked, undefined, returned);
  } catch (err) {
    book.settle(call, null, settings, Date.now());
    throw err;
  }
  const later = Date.now();
  book.settle(call, lease, settings, later);
  const { granted, resetAtMs: _exact, ...decision } = lease;
  if (granted > 0) return { name, slot, policy, policyKey, decision: book.view(slot, policyKey, later) ?? decision };
  // Refused by the object, but a lease answered to another request of this isolate meanwhile may hold one.
  return { name, slot, policy, policyKey, decision: book.spend(slot, policyKey, later) ?? decision };
}

// A refused request gives back what it took from its other limits.
export function putBack(env: Bindings, taken: Acquired, book: LeaseBook = isolateBook): Promise<void> | null {
  if (book.putBack(taken.slot, taken.policyKey, Date.now())) return null;
  return limiter(env, taken.name).refund(taken.policy, taken.decision.resetAt);
}
