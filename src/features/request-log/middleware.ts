import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { knownIdentity } from '../accounts';
import type { AppEnv } from '../../env';
import { describeError, type Logger } from '../../lib/log';
import type { CallSlot, CallSummary } from '../../lib/call-slot';
import { jsonBytes, MAX_MESSAGE_BYTES, sendLogEvent } from './log-batch';
import { writeRowsDirectly } from './row-batch';
import { TIMED_OUT, withDeadline } from '../../lib/deadline';
import type { NewRequestRow } from '../../db/schema';

// One message on the REQUEST_LOG queue per HTTP request. Only bounded, secret-free fields: the route
// is the matched pattern, never the raw path or query. Why: docs/design/request-log.md#the-event
export interface RequestEvent {
  kind: 'request';
  v: 1;
  // Unique per request (the request id may be client-chosen): the consumer's idempotency key.
  id: string;
  request_id: string;
  // Epoch milliseconds of the request's arrival.
  ts: number;
  method: string;
  route: string;
  status: number;
  latency_ms: number;
  upstream_ms: number | null;
  // latency minus time spent waiting on providers.
  overhead_ms: number;
  organization_id: string | null;
  user_id: string | null;
  api_key_id: string | null;
  dialect: string | null;
  model: string | null;
  provider: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  cache_status: string | null;
  error_code: string | null;
  ttft_ms: number | null;
  stream: boolean;
  rate_limited: boolean;
  quota_exceeded: boolean;
  // The `requests` rows of the request's AI calls that are not stored yet (usually one; none for a
  // request without a call or whose row the requests endpoint wrote itself); the consumer writes them.
  calls?: NewRequestRow[];
}

// The health check's message: proves the producer works; the consumer drops it.
export interface ProbeEvent {
  kind: 'probe';
  ts: number;
}

export type RequestLogMessage = RequestEvent | ProbeEvent;

export const UNMATCHED_ROUTE = 'unmatched';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

// A streamed answer's call settles when its stream ends; nothing waits longer than this for it.
const STREAM_SUMMARY_CAP_MS = 10 * 60_000;

// Hono's pattern of the route that matched (`/api/v1/requests/:id` → `/api/v1/requests/{id}`, as
// in the OpenAPI document). Middleware registered with `use` matches as method ALL and is skipped, so
// a request that only global middleware matched (404, 405, preflight) is "unmatched".
export function routePattern(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route && route.method !== 'ALL') return route.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
  }
  return UNMATCHED_ROUTE;
}

function round(ms: number): number {
  return Math.round(Math.max(0, ms) * 1000) / 1000;
}

// The event's times: the whole request, the part spent on providers, and the rest (Edgeway's overhead).
function timing(latency: number, summary: CallSummary | undefined) {
  const upstream = summary ? summary.upstreamMs : null;
  return {
    latency_ms: round(latency),
    upstream_ms: upstream === null ? null : round(upstream),
    overhead_ms: round(latency - (upstream ?? 0)),
  };
}

// What the event says of the request's AI call, if it made one.
function callFields(summary: CallSummary | undefined) {
  return {
    dialect: summary?.dialect ?? null,
    model: summary?.model ?? null,
    provider: summary?.provider ?? null,
    prompt_tokens: summary?.promptTokens ?? 0,
    completion_tokens: summary?.completionTokens ?? 0,
    cost_usd: summary?.costUsd ?? 0,
    cache_status: summary?.cacheStatus ?? null,
    ttft_ms: summary?.ttftMs ?? null,
    stream: summary?.stream ?? false,
  };
}

// The AI call's summary: awaited for an event stream (it settles when the stream ends), otherwise
// taken only if it has already settled (a call refused after it began may never settle).
async function callSummary(slot: CallSlot | undefined, isStream: boolean): Promise<CallSummary | undefined> {
  if (!slot?.started) return undefined;
  if (!isStream) return Promise.race([slot.summary, Promise.resolve(undefined)]);
  const summary = await withDeadline(slot.summary, STREAM_SUMMARY_CAP_MS);
  return summary === TIMED_OUT ? undefined : summary;
}

// Everything read from the context is read at once, when the response is final; only the AI call's
// summary may be awaited afterwards.
export function collectEvent(c: Context<AppEnv>, arrivedAt: number): () => Promise<RequestEvent> {
  const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
  const route = routePattern(c);
  const status = c.res.status;
  const errorCode = c.var.errorCode ?? null;
  const who = knownIdentity(c);
  const requestId = c.var.requestId ?? '';
  const startedAt = c.var.startedAt ?? performance.now();
  const isStream = c.res.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
  const slot = c.var.aiCall;
  return async () => {
    const summary = await callSummary(slot, isStream);
    // Measured after a stream's summary settled, so a streamed request's latency covers the stream.
    const latency = performance.now() - startedAt;
    const calls = (slot?.calls ?? []).filter((s) => !s.stored).map(rowOf);
    return {
      kind: 'request',
      v: 1,
      id: `evt_${crypto.randomUUID().replaceAll('-', '')}`,
      request_id: requestId,
      ts: arrivedAt,
      method,
      route,
      status,
      ...timing(latency, summary),
      organization_id: who?.organizationId ?? summary?.organizationId ?? null,
      user_id: who?.userId ?? summary?.userId ?? null,
      api_key_id: who?.apiKeyId ?? null,
      ...callFields(summary),
      // The answer's own error, else the call's (a stream that failed after its 200 went out).
      error_code: errorCode ?? summary?.errorCode ?? null,
      rate_limited: status === 429 && errorCode === 'RATE_LIMIT_EXCEEDED',
      quota_exceeded: errorCode === 'QUOTA_EXCEEDED',
      ...(calls.length > 0 ? { calls } : {}),
    };
  };
}

function rowOf(summary: CallSummary): NewRequestRow {
  const { upstreamMs: _upstreamMs, stored: _stored, ...row } = summary;
  return row;
}

// Sends the event with its calls' rows. A row the queue cannot carry is written by the isolate instead
// (still after the answer): when the event would outgrow a queue message, when no queue is bound, or
// when the send failed. Why: docs/design/request-log.md#failure-modes
async function deliver(
  queue: Queue<RequestLogMessage> | undefined,
  event: RequestEvent,
  db: D1Database,
  log: Logger | undefined,
): Promise<void> {
  let body = event;
  let bytes = queue ? jsonBytes(event) : 0;
  let direct: NewRequestRow[] = [];
  if (!queue || (bytes > MAX_MESSAGE_BYTES && event.calls)) {
    const { calls, ...rest } = event;
    direct = calls ?? [];
    body = rest;
    if (queue) bytes = jsonBytes(body);
  }
  const writeDirectly = (rows: NewRequestRow[]) =>
    Promise.all(rows.map((row) => writeRowsDirectly(db, row))).catch((err: unknown) =>
      log?.error('recording failed', { error: describeError(err) }),
    );
  const written = writeDirectly(direct);
  if (queue) {
    try {
      await sendLogEvent(queue, { body, bytes });
    } catch (err) {
      log?.warn('request log send failed', {
        error: describeError(err),
        rows_written_directly: body.calls?.length ?? 0,
      });
      await writeDirectly(body.calls ?? []);
    }
  }
  await written;
}

// Registered right after requestContext, so it sees the final status and error code. The event is
// built in waitUntil and sent with others of this isolate (log-batch.ts): the response never waits for
// the log, and a failing send only logs.
export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const arrivedAt = Date.now();
  await next();
  const queue = c.env.REQUEST_LOG as Queue<RequestLogMessage> | undefined;
  // Without a queue only an AI call's row has somewhere to go.
  if (!queue && !c.var.aiCall.started) return;
  let waitUntil: (p: Promise<unknown>) => void;
  try {
    const ctx = c.executionCtx;
    waitUntil = (p) => ctx.waitUntil(p);
  } catch {
    return; // No execution context (app.request in unit tests): nothing can outlive the response.
  }
  const event = collectEvent(c, arrivedAt);
  const log = c.var.log;
  const db = c.env.DB;
  waitUntil(
    (async () => {
      try {
        await deliver(queue, await event(), db, log);
      } catch (err) {
        log?.warn('request log failed', { error: describeError(err) });
      }
    })(),
  );
};

export interface RealtimeCall {
  requestId: string;
  // The realtime endpoint's pattern, e.g. /ws/chat.
  route: string;
  // WS unless said (a run's phase is WORKFLOW).
  method?: string;
  arrivedAt: number; // epoch ms of the frame that asked
  startedAt: number; // performance.now() then
  organizationId: string | null;
  userId: string | null;
  apiKeyId: string | null;
  // The error the caller was sent, if any (a refusal before the call, or the call's own failure).
  errorCode: string | null;
  status: number;
}

// One event for an AI call asked over a realtime connection (a room's turn), so it is counted and recorded
// like an HTTP call: the same event, with method `WS` and the call's row.
export async function logRealtimeCall(
  env: Pick<Env, 'DB' | 'REQUEST_LOG'>,
  log: Logger,
  call: RealtimeCall,
  summary: CallSummary | undefined,
): Promise<void> {
  const latency = performance.now() - call.startedAt;
  const event: RequestEvent = {
    kind: 'request',
    v: 1,
    id: `evt_${crypto.randomUUID().replaceAll('-', '')}`,
    request_id: call.requestId,
    ts: call.arrivedAt,
    method: call.method ?? 'WS',
    route: call.route,
    status: call.status,
    ...timing(latency, summary),
    organization_id: call.organizationId,
    user_id: call.userId,
    api_key_id: call.apiKeyId,
    ...callFields(summary),
    error_code: call.errorCode ?? summary?.errorCode ?? null,
    rate_limited: call.errorCode === 'RATE_LIMIT_EXCEEDED',
    quota_exceeded: call.errorCode === 'QUOTA_EXCEEDED',
    ...(summary && !summary.stored ? { calls: [rowOf(summary)] } : {}),
  };
  try {
    await deliver(env.REQUEST_LOG as Queue<RequestLogMessage> | undefined, event, env.DB, log);
  } catch (err) {
    log.warn('request log failed', { error: describeError(err) });
  }
}
