// Where a webhook may be sent: a public https endpoint, never an address inside a network (SSRF).
// The same check runs when a webhook is created or updated and again before every attempt, since the
// rules (or the row) may have changed in between. Why and what it cannot do: docs/design/webhooks.md.

export interface UrlPolicy {
  // Local development and tests: plain http and loopback are allowed, but only when written the way a
  // developer writes them (`localhost`, `127.0.0.1`, `[::1]`). Any other spelling of a loopback address is
  // an attempt to hide it and is refused everywhere.
  allowLoopback: boolean;
}

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

export const MAX_URL_LENGTH = 2048;

const refuse = (reason: string): UrlVerdict => ({ ok: false, reason });

// Names that only mean something inside a network: single labels (intranet hosts, `metadata`), and the
// suffixes reserved or conventionally used for local and cloud-internal names (`metadata.google.internal`).
const INTERNAL_SUFFIXES = ['.localhost', '.local', '.internal', '.localdomain', '.home.arpa', '.intranet', '.lan'];
const CANONICAL_LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

// Parses an IPv4 address the way inet_aton and the WHATWG URL parser do: 1 to 4 parts, each decimal,
// octal (leading 0) or hex (0x), the last part filling the remaining bytes (`127.1`, `2130706433`,
// `0x7f.1`, `0177.0.0.1`). Null when the text is not such a number.
export function parseIPv4(text: string): number[] | null {
  const host = text.endsWith('.') ? text.slice(0, -1) : text;
  const parts = host.split('.');
  if (parts.length === 0 || parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) n = Number(part);
    else return null;
    if (!Number.isSafeInteger(n)) return null;
    values.push(n);
  }
  const last = values.pop() ?? 0;
  if (values.some((v) => v > 255)) return null;
  const lastBytes = 4 - values.length;
  if (last >= 256 ** lastBytes) return null;
  const out = [...values];
  for (let i = lastBytes - 1; i >= 0; i--) out.push(Math.floor(last / 256 ** i) % 256);
  return out;
}

// Eight 16-bit groups of an IPv6 address (with `::` and a dotted IPv4 tail); null if it is not one.
export function parseIPv6(text: string): number[] | null {
  let host = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (host.includes('%')) return null; // zone ids (fe80::1%eth0) are never a public address
  const tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(host);
  if (dotted) {
    const v4 = (dotted[2] ?? '').split('.').map(Number);
    if (v4.some((b) => b > 255)) return null;
    tail.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    const prefix = dotted[1] ?? '';
    host = prefix.endsWith('::') ? prefix : prefix.slice(0, -1);
  }
  const halves = host.split('::');
  if (halves.length > 2) return null;
  const group = (s: string) => (s === '' ? [] : s.split(':'));
  const head = group(halves[0] ?? '');
  const rest = halves.length === 2 ? group(halves[1] ?? '') : [];
  const parse = (g: string) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN);
  const headN = head.map(parse);
  const restN = rest.map(parse);
  if ([...headN, ...restN].some(Number.isNaN)) return null;
  const given = headN.length + restN.length + tail.length;
  if (halves.length === 1) return given === 8 ? [...headN, ...tail] : null;
  if (given > 7) return null;
  return [...headN, ...new Array<number>(8 - given).fill(0), ...restN, ...tail];
}

type Cidr4 = [number, number, number, number, number];

// IPv4 ranges that are not the public internet (RFC 6890 and friends).
const BLOCKED_V4: readonly [Cidr4, string][] = [
  [[0, 0, 0, 0, 8], 'this network'],
  [[10, 0, 0, 0, 8], 'private'],
  [[100, 64, 0, 0, 10], 'carrier-grade NAT'],
  [[127, 0, 0, 0, 8], 'loopback'],
  [[169, 254, 0, 0, 16], 'link-local (cloud metadata)'],
  [[172, 16, 0, 0, 12], 'private'],
  [[192, 0, 0, 0, 24], 'IETF protocol assignments'],
  [[192, 0, 2, 0, 24], 'documentation'],
  [[192, 88, 99, 0, 24], '6to4 relay'],
  [[192, 168, 0, 0, 16], 'private'],
  [[198, 18, 0, 0, 15], 'benchmarking'],
  [[198, 51, 100, 0, 24], 'documentation'],
  [[203, 0, 113, 0, 24], 'documentation'],
  [[224, 0, 0, 0, 4], 'multicast'],
  [[240, 0, 0, 0, 4], 'reserved or broadcast'],
];

const v4Number = (b: readonly number[]) => (((b[0] ?? 0) * 256 + (b[1] ?? 0)) * 256 + (b[2] ?? 0)) * 256 + (b[3] ?? 0);

// Why an IPv4 address is not public, or null when it is.
export function blockedIPv4(bytes: readonly number[]): string | null {
  const n = v4Number(bytes);
  for (const [[a, b, c, d, bits], why] of BLOCKED_V4) {
    const size = 2 ** (32 - bits);
    const start = v4Number([a, b, c, d]);
    if (n >= start && n < start + size) return why;
  }
  return null;
}

const v4Of = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];

// Why an IPv6 address is not public, or null when it is. Addresses that embed an IPv4 address
// (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that address.
export function blockedIPv6(g: readonly number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0) {
    if (g5 === 0xffff) {
      const why = blockedIPv4(v4Of(g6, g7));
      return why === null ? null : `IPv4-mapped ${why}`;
    }
    // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d.
    if (g5 === 0) return g6 === 0 && g7 === 1 ? 'loopback' : g6 === 0 && g7 === 0 ? 'unspecified' : 'IPv4-compatible';
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    const why = blockedIPv4(v4Of(g6, g7));
    return why === null ? null : `NAT64 ${why}`;
  }
  if (g0 === 0x64 && g1 === 0xff9b) return 'local-use NAT64';
  if (g0 === 0x2002) {
    const why = blockedIPv4(v4Of(g1, g2));
    return why === null ? null : `6to4 ${why}`;
  }
  if (g0 === 0x2001 && g1 === 0) return 'Teredo';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'documentation';
  if (g0 === 0x0100 && g1 === 0 && g2 === 0 && g3 === 0) return 'discard';
  if ((g0 & 0xfe00) === 0xfc00) return 'unique local';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'site-local';
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  // Everything outside 2000::/3 is unassigned or special.
  if ((g0 & 0xe000) !== 0x2000) return 'not global unicast';
  return null;
}

// Why an IP address (text as a DNS answer or URL host gives it) is not public, or null when it is.
export function blockedAddress(text: string): string | null {
  if (text.includes(':')) {
    const v6 = parseIPv6(text);
    return v6 === null ? 'not an IP address' : blockedIPv6(v6);
  }
  const v4 = parseIPv4(text);
  return v4 === null ? 'not an IP address' : blockedIPv4(v4);
}

// The host exactly as written in the input (between `//` and the path), before the URL parser turns
// `0x7f.1` into `127.0.0.1`: for the loopback exception, which takes only canonical spellings.
function writtenHost(input: string): { host: string; userinfo: boolean } | null {
  const m = /^https?:\/\/([^/?#]*)/i.exec(input);
  if (!m) return null;
  const authority = m[1] ?? '';
  if (authority.includes('@')) return { host: '', userinfo: true };
  const host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.split(':')[0];
  return { host: (host ?? '').toLowerCase(), userinfo: false };
}

/**
 * Decides whether `input` may be a webhook URL under `policy`, by its text alone (no DNS).
 *
 * @example
 * checkWebhookUrl('https://hooks.example.com/x', { allowLoopback: false }) // { ok: true, url }
 * checkWebhookUrl('https://0x7f.1/', { allowLoopback: true })            // { ok: false, reason: ... }
 */
export function checkWebhookUrl(input: string, policy: UrlPolicy): UrlVerdict {
  if (input.length > MAX_URL_LENGTH) return refuse(`must be at most ${MAX_URL_LENGTH} characters`);
  // Control characters, spaces and backslashes are silently dropped or rewritten by URL parsers, so the
  // host a reader sees would not be the host the request goes to.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(input))
    return refuse('must not contain spaces, control characters or "\\"');
  const written = writtenHost(input);
  if (!written) return refuse('must be an absolute https:// URL');
  if (written.userinfo) return refuse('must not contain credentials (user:password@)');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return refuse('is not a valid URL');
  }
  if (url.username !== '' || url.password !== '') return refuse('must not contain credentials (user:password@)');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('must use https');
  // WHATWG hosts are lower-case and decoded; a trailing dot names the same host.
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  if (host === '' || host.includes('%')) return refuse('has no valid host');

  let why: string | null;
  let loopback = false;
  if (host.startsWith('[')) {
    const v6 = parseIPv6(host);
    if (!v6) return refuse('has an invalid IPv6 host');
    why = blockedIPv6(v6);
    loopback = why === 'loopback' || why === 'IPv4-mapped loopback';
  } else if (/^[0-9a-fx.]+$/i.test(host) && /^(0x[0-9a-f]*|[0-9]+)$/i.test(host.split('.').pop() ?? '')) {
    // A host whose last label is numeric is an IPv4 address in some spelling (a URL parser makes it one).
    const v4 = parseIPv4(host);
    if (!v4) return refuse('has an invalid IPv4 host');
    why = blockedIPv4(v4);
    loopback = why === 'loopback';
  } else if (host === 'localhost') {
    why = 'loopback';
    loopback = true;
  } else if (!host.includes('.')) {
    why = 'a single-label (intranet) name';
  } else if (INTERNAL_SUFFIXES.some((s) => host.endsWith(s))) {
    why = 'an internal name';
  } else {
    why = null;
  }

  if (loopback && policy.allowLoopback && CANONICAL_LOOPBACK.has(written.host)) return { ok: true, url };
  if (why !== null) return refuse(`points to a non-public address (${why})`);
  if (url.protocol !== 'https:') return refuse('must use https (http only to loopback in local development)');
  return { ok: true, url };
}
