// A mock of Google's service-account token endpoint and Calendar API v3 (events.list, events.insert):
//   POST /gcal/__keys   {client_email, public_key_pem}  → 204: trusts that public key (SPKI PEM) for JWTs
//                       whose `iss` is client_email. The test generates the key pair and registers it here;
//                       nothing is trusted until then.
//   GET  /gcal/__stats?client_email=…  → {tokenExchanges}: how many tokens that account was given.
//   POST /gcal/token    (form: grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, assertion=<JWT>)
//                       → {access_token, expires_in, token_type}, only if the assertion is RS256-signed by the
//                       registered key and its claims are Google's: iss registered, scope has
//                       https://www.googleapis.com/auth/calendar, aud = this endpoint's URL as the client
//                       used it, iat not in the future, exp after now and at most an hour after iat.
//                       Otherwise 400 {error: 'invalid_grant', error_description}.
//   GET  /gcal/calendar/v3/calendars/{id}/events?timeMin&timeMax&q&maxResults&singleEvents&orderBy
//   POST /gcal/calendar/v3/calendars/{id}/events  {summary, start: {dateTime}, end: {dateTime}, …}
//                       Both need `Authorization: Bearer <a token issued above>` (401 UNAUTHENTICATED
//                       otherwise). Events live in memory, per calendar id.
// Fault: q=__hang__ on events.list never answers (a tool that times out).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { importSPKI, jwtVerify } from 'jose';
import { hang, json, type VendorHandler } from './common';

export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
export const CALENDAR_HANG_QUERY = '__hang__';

interface MockEvent {
  id: string;
  status: string;
  summary: string;
  description?: string;
  location?: string;
  start: { dateTime: string; timeZone?: string };
  end: { dateTime: string; timeZone?: string };
  htmlLink: string;
  created: string;
}

const publicKeys = new Map<string, string>();
const exchanges = new Map<string, number>();
const accessTokens = new Map<string, string>();
const calendars = new Map<string, MockEvent[]>();

const googleError = (res: ServerResponse, code: number, status: string, message: string) =>
  json(res, code, { error: { code, status, message } });

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function registerKey(body: string, res: ServerResponse): void {
  const b = parseJson(body);
  if (typeof b?.client_email !== 'string' || typeof b.public_key_pem !== 'string') {
    return json(res, 400, { error: 'client_email and public_key_pem are required' });
  }
  publicKeys.set(b.client_email, b.public_key_pem);
  res.writeHead(204).end();
}

async function token(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
  const form = new URLSearchParams(body);
  const refuse = (why: string) => json(res, 400, { error: 'invalid_grant', error_description: why });
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
    return json(res, 400, { error: 'unsupported_grant_type' });
  }
  const assertion = form.get('assertion') ?? '';
  const [encodedHeader, encodedClaims] = assertion.split('.');
  let iss: unknown;
  try {
    iss = (JSON.parse(Buffer.from(encodedClaims ?? '', 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    const header = JSON.parse(Buffer.from(encodedHeader ?? '', 'base64url').toString('utf8')) as { alg?: unknown };
    if (header.alg !== 'RS256') return refuse('alg must be RS256');
  } catch {
    return refuse('malformed assertion');
  }
  const pem = typeof iss === 'string' ? publicKeys.get(iss) : undefined;
  if (!pem || typeof iss !== 'string') return refuse('unknown issuer');
  const audience = `http://${req.headers.host ?? '127.0.0.1'}/gcal/token`;
  try {
    const { payload } = await jwtVerify(assertion, await importSPKI(pem, 'RS256'), {
      algorithms: ['RS256'],
      issuer: iss,
      audience,
      clockTolerance: 5,
    });
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== 'number' || payload.iat > now + 5) return refuse('iat missing or in the future');
    if (typeof payload.exp !== 'number' || payload.exp - payload.iat > 3600)
      return refuse('exp more than 1 h after iat');
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scopes.includes(CALENDAR_SCOPE)) return refuse('scope lacks calendar');
  } catch (err) {
    return refuse(`invalid assertion: ${(err as Error).message}`);
  }
  exchanges.set(iss, (exchanges.get(iss) ?? 0) + 1);
  const accessToken = `ya29.mock-${randomBytes(16).toString('hex')}`;
  accessTokens.set(accessToken, iss);
  json(res, 200, { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' });
}

function authorized(req: IncomingMessage): boolean {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  return m !== null && accessTokens.has(m[1] as string);
}

function listEvents(url: URL, calendarId: string, res: ServerResponse): Promise<void> | void {
  const q = url.searchParams.get('q');
  if (q === CALENDAR_HANG_QUERY) return hang();
  const timeMin = url.searchParams.get('timeMin');
  const timeMax = url.searchParams.get('timeMax');
  const max = Number(url.searchParams.get('maxResults') ?? 250);
  const items = (calendars.get(calendarId) ?? [])
    .filter((e) => !timeMin || Date.parse(e.end.dateTime) > Date.parse(timeMin))
    .filter((e) => !timeMax || Date.parse(e.start.dateTime) < Date.parse(timeMax))
    .filter((e) => !q || `${e.summary} ${e.description ?? ''}`.toLowerCase().includes(q.toLowerCase()))
    .sort((a, b) => Date.parse(a.start.dateTime) - Date.parse(b.start.dateTime))
    .slice(0, max);
  json(res, 200, { kind: 'calendar#events', summary: calendarId, items });
}

function insertEvent(body: string, calendarId: string, res: ServerResponse): void {
  const b = parseJson(body);
  const start = b?.start as { dateTime?: unknown } | undefined;
  const end = b?.end as { dateTime?: unknown } | undefined;
  if (
    typeof b?.summary !== 'string' ||
    typeof start?.dateTime !== 'string' ||
    typeof end?.dateTime !== 'string' ||
    Number.isNaN(Date.parse(start.dateTime)) ||
    Number.isNaN(Date.parse(end.dateTime))
  ) {
    return googleError(res, 400, 'INVALID_ARGUMENT', 'summary, start.dateTime and end.dateTime are required');
  }
  const id = randomBytes(10).toString('hex');
  const event: MockEvent = {
    id,
    status: 'confirmed',
    summary: b.summary,
    ...(typeof b.description === 'string' ? { description: b.description } : {}),
    ...(typeof b.location === 'string' ? { location: b.location } : {}),
    start: b.start as MockEvent['start'],
    end: b.end as MockEvent['end'],
    htmlLink: `https://calendar.example/event?eid=${id}`,
    created: new Date().toISOString(),
  };
  calendars.set(calendarId, [...(calendars.get(calendarId) ?? []), event]);
  json(res, 200, { kind: 'calendar#event', ...event });
}

const EVENTS = /^\/gcal\/calendar\/v3\/calendars\/([^/]+)\/events$/;

export const googleCalendar: VendorHandler = async (req, url, body, res) => {
  const method = req.method ?? 'GET';
  if (method === 'POST' && url.pathname === '/gcal/__keys') return registerKey(body, res);
  if (method === 'GET' && url.pathname === '/gcal/__stats') {
    return json(res, 200, { tokenExchanges: exchanges.get(url.searchParams.get('client_email') ?? '') ?? 0 });
  }
  if (method === 'POST' && url.pathname === '/gcal/token') return token(req, body, res);
  const m = EVENTS.exec(url.pathname);
  if (m) {
    if (!authorized(req))
      return googleError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    const calendarId = decodeURIComponent(m[1] as string);
    if (method === 'GET') return listEvents(url, calendarId, res);
    if (method === 'POST') return insertEvent(body, calendarId, res);
  }
  return googleError(res, 404, 'NOT_FOUND', `no calendar mock for ${method} ${url.pathname}`);
};
