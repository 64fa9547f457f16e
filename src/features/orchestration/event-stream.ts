import type { Database } from '../../db/client';
import { KEEP_ALIVE_FRAME } from '../../lib/sse';
import { eventsAfter, isTerminal, runStatus } from './run-store';

// A run's numbered events as SSE: those after `after` (the client's Last-Event-ID), then new ones as the
// Workflow appends them, until the run has ended and its last event is sent. The events live in D1, so any
// isolate serves any reconnect. Read by polling: a run's events come seconds apart, and a poll costs one
// indexed read. A stream is cut after MAX_STREAM_MS; EventSource reconnects with its Last-Event-ID.

const POLL_MS = 500;
const KEEP_ALIVE_MS = 15_000;
const MAX_STREAM_MS = 10 * 60_000;
const encoder = new TextEncoder();

export function runEventStream(db: Database, runId: string, after: number, signal: AbortSignal): Response {
  let last = after;
  let stopped = false;
  signal.addEventListener('abort', () => (stopped = true));
  const begun = Date.now();
  let quietSince = begun;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (stopped) return controller.close();
        // The status is read before the events: events appended after it are read too, so a run that
        // ends is never closed before its last event.
        const status = await runStatus(db, runId);
        const events = await eventsAfter(db, runId, last);
        if (events.length > 0) {
          let out = '';
          for (const e of events) {
            out += `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ seq: e.seq, type: e.type, ...e.data, created_at: e.createdAt })}\n\n`;
            last = e.seq;
          }
          controller.enqueue(encoder.encode(out));
          quietSince = Date.now();
          return;
        }
        if (status === undefined || isTerminal(status) || Date.now() - begun > MAX_STREAM_MS) {
          return controller.close();
        }
        if (Date.now() - quietSince >= KEEP_ALIVE_MS) {
          controller.enqueue(encoder.encode(KEEP_ALIVE_FRAME));
          quietSince = Date.now();
          return;
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
    cancel() {
      stopped = true;
    },
  });
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    },
  });
}
