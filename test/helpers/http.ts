import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src';

export const BASE = 'http://edgeway.test';

export type EnvOverrides = Partial<Record<string, unknown>>;

// Requests go through the real worker entry. With overrides, the same worker runs on a copy of the
// test env (config is parsed per env object), so one file can exercise several configurations.
export async function call(path: string, init: RequestInit = {}, overrides?: EnvOverrides): Promise<Response> {
  const request = new Request(`${BASE}${path}`, init);
  if (!overrides) return SELF.fetch(request);
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx);
  // A stream's background work (its request-log event) ends with the stream: it is waited for once
  // the body has been read to the end, not before the caller can read it.
  if (response.body && response.headers.get('content-type')?.startsWith('text/event-stream')) {
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        await waitOnExecutionContext(ctx);
        controller.close();
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, response);
  }
  await waitOnExecutionContext(ctx);
  return response;
}

export function postJson(path: string, body: unknown, overrides?: EnvOverrides, headers: Record<string, string> = {}) {
  return call(
    path,
    { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) },
    overrides,
  );
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    status_code: number;
    details?: { field: string; message: string }[];
    request_id: string;
    timestamp: string;
  };
}

export async function expectEnvelope(res: Response, status: number, code: string): Promise<ErrorBody> {
  const body = (await res.json()) as ErrorBody;
  if (res.status !== status || body.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  }
  if (body.error.status_code !== status) throw new Error(`status_code ${body.error.status_code} != ${status}`);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(body.error.timestamp)) throw new Error('bad timestamp');
  if (body.error.request_id !== res.headers.get('x-request-id')) throw new Error('request_id differs from header');
  return body;
}

// Points the openai provider at the mock upstream; the key is a canary that must never leak.
export const OPENAI_CANARY_KEY = 'sk-canary-0123456789abcdef';
export function openaiEnv(extra: EnvOverrides = {}): EnvOverrides {
  return { OPENAI_API_KEY: OPENAI_CANARY_KEY, OPENAI_BASE_URL: `${env.MOCK_UPSTREAM_URL}/v1`, ...extra };
}

// What the mock upstream received; `aborted`: the client went away before the answer ended.
export interface MockRecord {
  path: string;
  headers: Record<string, string>;
  body: string;
  aborted: boolean;
}

export async function mockRequests(contains: string): Promise<MockRecord[]> {
  const res = await fetch(`${env.MOCK_UPSTREAM_URL}/__mock/requests?contains=${encodeURIComponent(contains)}`);
  return (await res.json()) as MockRecord[];
}
