import { providerFailure } from './errors';
import type { ProviderId } from './types';

// The fetch every provider hands to its SDK or signer. Redirects are never followed: a redirect
// to another host would carry our provider key there, and no vendor API redirects legitimately.
export function upstreamFetch(provider: ProviderId): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, { ...init, redirect: 'manual' });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      throw providerFailure(provider, 'redirect-refused', res.status);
    }
    return res;
  };
}
