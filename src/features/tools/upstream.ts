import type { z } from 'zod';
import { ToolError } from './types';

// A tool's call to a third-party API: the tool's signal (its own deadline and the loop's), no redirects
// followed (a bearer token is never carried to another host), and the answer checked against a schema.
// What the model is told on failure is the service, the status and the vendor's error code — never the
// request's headers or the vendor's free text (which may quote what was sent).

export interface UpstreamCall {
  service: string;
  url: string;
  init: RequestInit;
  signal: AbortSignal;
}

const CODE = /^[A-Za-z0-9_.-]{1,64}$/;

// Google: {error: {status: 'PERMISSION_DENIED'}} or {error: 'invalid_grant'}; Notion: {code: 'object_not_found'}.
function vendorCode(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { error?: unknown; code?: unknown };
  const candidates = [
    b.code,
    typeof b.error === 'string' ? b.error : undefined,
    b.error && typeof b.error === 'object' ? (b.error as { status?: unknown }).status : undefined,
  ];
  return candidates.find((c): c is string => typeof c === 'string' && CODE.test(c));
}

export async function callUpstream<T>(call: UpstreamCall, schema: z.ZodType<T>): Promise<T> {
  let res: Response;
  try {
    res = await fetch(call.url, { ...call.init, redirect: 'manual', signal: call.signal });
  } catch (err) {
    // The tool's deadline or the loop's: the loop says which; rethrown as is so it can tell.
    if (call.signal.aborted) throw err;
    throw new ToolError(`${call.service} could not be reached`);
  }
  const text = await res.text().catch(() => {
    if (call.signal.aborted) throw call.signal.reason;
    throw new ToolError(`${call.service} broke off its answer`);
  });
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const code = vendorCode(body);
    throw new ToolError(`${call.service} answered ${res.status}${code ? ` (${code})` : ''}`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ToolError(`${call.service} gave an answer in an unexpected shape`);
  return parsed.data;
}
