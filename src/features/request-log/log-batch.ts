import { microBatcher } from '../../lib/micro-batch';

// A Queue takes at most 100 messages and 256 KB per sendBatch, and 128 KB per message (Miniflare
// enforces the same); kept below both with room for the queue's own framing.
export const MAX_MESSAGE_BYTES = 100_000;
const MAX_BATCH_BYTES = 200_000;

export interface SizedBody<T> {
  body: T;
  // The body's size as JSON, in UTF-8 bytes.
  bytes: number;
}

// Events of one isolate leave in one sendBatch per 20 ms, 100 events or 200 KB, instead of one send per
// request: a send is a round trip, ~0.7 ms of c=1 latency in the bench.
// Why: docs/design/request-log.md#per-isolate-batches
export const sendLogEvent = microBatcher<Queue<unknown>, SizedBody<unknown>>({
  flushAfterMs: 20,
  maxItems: 100,
  weight: (item) => item.bytes,
  maxWeight: MAX_BATCH_BYTES,
  write: async (queue, items) => {
    await queue.sendBatch(items.map(({ body }) => ({ body, contentType: 'json' as const })));
  },
});

const utf8 = new TextEncoder();

export function jsonBytes(body: unknown): number {
  return utf8.encode(JSON.stringify(body)).byteLength;
}
