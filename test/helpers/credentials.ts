// Every way a caller can present a credential (API.md, "Authentication and roles"), as the headers and
// query string to add to a request. Written out here rather than taken from src, so a carrier the app
// stops reading (or starts reading where it should not) shows up as a failing test.

export type CarrierName = 'jwt' | 'cookie' | 'x-api-key' | 'bearer-key' | 'upgrade-jwt' | 'upgrade-key';

export interface Presented {
  headers: Record<string, string>;
  // Appended to the path as `?token=...`; undefined when the credential travels in a header.
  token?: string;
}

// The HTTP-only access cookie the OAuth flow sets (validate-token and cookie refresh both set it; the
// browser sends it back on every request). Pinned by name: renaming it logs every browser out.
export const ACCESS_COOKIE_NAME = 'ew_access';

export interface Carrier {
  name: CarrierName;
  // Which secret the carrier takes: the access JWT of a session, or an `ew_` API key.
  secret: 'jwt' | 'key';
  present(secret: string): Presented;
}

export const CARRIERS: readonly Carrier[] = [
  { name: 'jwt', secret: 'jwt', present: (jwt) => ({ headers: { authorization: `Bearer ${jwt}` } }) },
  { name: 'cookie', secret: 'jwt', present: (jwt) => ({ headers: { cookie: `${ACCESS_COOKIE_NAME}=${jwt}` } }) },
  { name: 'x-api-key', secret: 'key', present: (key) => ({ headers: { 'x-api-key': key } }) },
  { name: 'bearer-key', secret: 'key', present: (key) => ({ headers: { authorization: `Bearer ${key}` } }) },
  // WebSocket clients cannot set headers, so an upgrade request may carry the credential as ?token=.
  { name: 'upgrade-jwt', secret: 'jwt', present: (jwt) => ({ headers: { upgrade: 'websocket' }, token: jwt }) },
  { name: 'upgrade-key', secret: 'key', present: (key) => ({ headers: { upgrade: 'websocket' }, token: key }) },
];

// `path` with `?token=` added (or `&token=` when it already has a query).
export function withToken(path: string, token: string | undefined): string {
  if (token === undefined) return path;
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}
