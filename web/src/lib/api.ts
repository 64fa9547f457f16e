// The one way the web app talks to Edgeway: the public API under /api/v1 (and /v1), exactly as any other
// client calls it, with the signed-in session's bearer token. Errors come back as ApiProblem, built from
// the API's one error envelope, so every page can show them in plain words with the request id.
import { clearSession, getSession, setSession, type Session } from './session';

export interface ErrorEnvelope {
  error: {
    code: string;
    message: string;
    status_code?: number;
    details?: { field: string; message: string }[];
    request_id?: string;
  };
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly details: { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiProblem';
  }
}

const PLAIN: Record<string, string> = {
  AUTHENTICATION_REQUIRED: 'Please sign in again.',
  INSUFFICIENT_PERMISSIONS: 'Your role does not allow this.',
  RESOURCE_NOT_FOUND: 'That no longer exists (or you cannot see it).',
  RATE_LIMIT_EXCEEDED: 'Too many requests right now: wait a moment and try again.',
  QUOTA_EXCEEDED: "Your organization's monthly quota is used up.",
  PAYLOAD_TOO_LARGE: 'That is too large.',
  PROVIDER_ERROR: 'The model provider failed to answer.',
  PROVIDER_TIMEOUT: 'The model provider took too long to answer.',
  SERVICE_UNAVAILABLE: 'The service is not available right now.',
  NETWORK: 'Edgeway could not be reached. Check your connection.',
};

// The sentence a person reads: the API's own message (it is written for people), or a plain fallback.
export function plainWords(problem: ApiProblem): string {
  const detail = problem.details.map((d) => `${d.field}: ${d.message}`).join('; ');
  const base = problem.message || PLAIN[problem.code] || 'Something went wrong.';
  return detail ? `${base} (${detail})` : base;
}

export async function problemFrom(res: Response): Promise<ApiProblem> {
  const requestId = res.headers.get('x-request-id');
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON: an HTML error page from a proxy, or an empty body.
  }
  const env = body as Partial<ErrorEnvelope> | null;
  if (env && typeof env === 'object' && env.error && typeof env.error === 'object') {
    const e = env.error as ErrorEnvelope['error'] & { type?: string };
    return new ApiProblem(
      res.status,
      e.code ?? e.type ?? 'ERROR',
      e.message ?? PLAIN[e.code] ?? '',
      e.request_id ?? requestId,
      Array.isArray(e.details) ? e.details : [],
    );
  }
  return new ApiProblem(res.status, `HTTP_${res.status}`, `The server answered ${res.status}.`, requestId);
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  // Send no credentials (sign-in, sign-up).
  anonymous?: boolean;
}

function headersFor(session: Session | null, opts: CallOptions, json: boolean): Headers {
  const h = new Headers(opts.headers ?? {});
  if (json) h.set('content-type', 'application/json');
  if (session && !opts.anonymous) h.set('authorization', `Bearer ${session.accessToken}`);
  return h;
}

let refreshing: Promise<boolean> | null = null;

// One refresh at a time: pages that fail together with 401 wait for the same new token.
async function refresh(): Promise<boolean> {
  const session = getSession();
  if (!session) return false;
  refreshing ??= (async () => {
    try {
      const res = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refreshToken }),
      });
      if (!res.ok) {
        clearSession();
        return false;
      }
      setSession(sessionFrom((await res.json()) as TokenResponse));
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// A raw fetch with the session's credentials, refreshed once on 401. The caller reads the body (streams,
// downloads); a failure status is turned into an ApiProblem.
export async function request(path: string, opts: CallOptions = {}): Promise<Response> {
  const isForm = typeof FormData !== 'undefined' && opts.body instanceof FormData;
  const json = opts.body !== undefined && !isForm;
  const send = () =>
    fetch(path, {
      method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
      headers: headersFor(getSession(), opts, json),
      body: opts.body === undefined ? undefined : isForm ? (opts.body as FormData) : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  let res: Response;
  try {
    res = await send();
    if (res.status === 401 && !opts.anonymous && getSession() && (await refresh())) res = await send();
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiProblem(0, 'NETWORK', PLAIN.NETWORK ?? '', null);
  }
  if (!res.ok) throw await problemFrom(res);
  return res;
}

// JSON in, JSON out.
export async function api<T>(path: string, opts: CallOptions = {}): Promise<T> {
  const res = await request(path, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

// A list answer with its total (X-Total-Count) when the API gives one.
export async function apiList<T>(path: string, opts: CallOptions = {}): Promise<{ body: T; total: number | null }> {
  const res = await request(path, opts);
  const total = res.headers.get('x-total-count');
  return { body: (await res.json()) as T, total: total === null ? null : Number(total) };
}

export type Role = 'admin' | 'manager' | 'member' | 'viewer';

export interface User {
  id: string;
  email: string;
  username: string;
  full_name: string | null;
  organization_id: string;
  role: Role;
}

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  user: User;
}

export function sessionFrom(t: TokenResponse): Session {
  return { accessToken: t.access_token, refreshToken: t.refresh_token, user: t.user };
}
