import { blockedAddress } from './ssrf';

// Workers have no DNS API: a name is resolved by the runtime inside fetch(), out of our sight. The
// only way to see the addresses first is DNS-over-HTTPS (the JSON form Cloudflare's and Google's
// resolvers answer), which needs the internet. So the check runs where a resolver is configured (and in
// production, where Cloudflare's own is the default) and is skipped in local development and tests
// without one, which must not call the internet. It cannot pin the answer: fetch() resolves again, so a
// name that changes its answer between the two lookups (DNS rebinding) is not stopped by this alone.
// docs/design/webhooks.md#dns

export const PRODUCTION_DOH_URL = 'https://cloudflare-dns.com/dns-query';
const DOH_TIMEOUT_MS = 3_000;
const A = 1;
const AAAA = 28;

export type DnsVerdict =
  | { ok: true }
  // refused: the name is not public (do not retry); unavailable: the resolver failed (try again later).
  | { ok: false; refused: boolean; reason: string };

interface DohAnswer {
  Status?: unknown;
  Answer?: { type?: unknown; data?: unknown }[];
}

async function lookup(
  fetcher: typeof fetch,
  resolver: string,
  name: string,
  type: 'A' | 'AAAA',
): Promise<{ addresses: string[] } | { error: string }> {
  const url = `${resolver}?name=${encodeURIComponent(name)}&type=${type}`;
  let res: Response;
  try {
    res = await fetcher(url, {
      headers: { accept: 'application/dns-json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(DOH_TIMEOUT_MS),
    });
  } catch {
    return { error: 'DNS resolver unreachable' };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { error: `DNS resolver answered ${res.status}` };
  }
  let body: DohAnswer;
  try {
    body = (await res.json()) as DohAnswer;
  } catch {
    return { error: 'DNS resolver answered malformed JSON' };
  }
  // 0 NOERROR, 3 NXDOMAIN (no addresses); anything else is a resolver failure.
  if (body.Status !== 0 && body.Status !== 3) return { error: `DNS lookup failed (status ${String(body.Status)})` };
  const wanted = type === 'A' ? A : AAAA;
  const addresses = (body.Answer ?? [])
    .filter((a) => a.type === wanted && typeof a.data === 'string')
    .map((a) => String(a.data));
  return { addresses };
}

/**
 * Resolves `host` (a name, not an IP literal) over DoH and refuses it if any A or AAAA answer is not a
 * public address, or if it has none.
 *
 * @example
 * await checkResolvedHost(fetch, 'https://cloudflare-dns.com/dns-query', 'hooks.example.com')
 */
export async function checkResolvedHost(fetcher: typeof fetch, resolver: string, host: string): Promise<DnsVerdict> {
  const [v4, v6] = await Promise.all([lookup(fetcher, resolver, host, 'A'), lookup(fetcher, resolver, host, 'AAAA')]);
  if ('error' in v4) return { ok: false, refused: false, reason: v4.error };
  if ('error' in v6) return { ok: false, refused: false, reason: v6.error };
  const all = [...v4.addresses, ...v6.addresses];
  if (all.length === 0) return { ok: false, refused: false, reason: 'host does not resolve' };
  for (const address of all) {
    const why = blockedAddress(address);
    if (why !== null) return { ok: false, refused: true, reason: `host resolves to a non-public address (${why})` };
  }
  return { ok: true };
}
