import { env } from 'cloudflare:test';

// The RATE_LIMITER namespace with a count of the lease calls that reach its objects, to tell a token spent
// from an isolate's lease from one asked of the object.
export function countingLimiter() {
  const calls = { lease: 0 };
  const namespace = env.RATE_LIMITER;
  const wrapped = {
    idFromName: (n: string) => namespace.idFromName(n),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id);
      return {
        lease: (...args: Parameters<typeof stub.lease>) => {
          calls.lease += 1;
          return stub.lease(...args);
        },
        refund: (...args: Parameters<typeof stub.refund>) => stub.refund(...args),
        quotaUsed: (...args: Parameters<typeof stub.quotaUsed>) => stub.quotaUsed(...args),
      };
    },
  };
  return { namespace: wrapped, env: { ...env, RATE_LIMITER: wrapped } as unknown as Env, calls };
}
