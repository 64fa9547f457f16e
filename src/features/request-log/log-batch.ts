import { microBatcher } from '../../lib/micro-batch';

// Events of one isolate leave in one sendBatch per 20 ms or 100 events (a Queue's most per sendBatch),
// instead of one send per request: a send is a round trip, ~0.7 ms of c=1 latency in the bench.
// Why: docs/design/request-log.md#per-isolate-batches
export const sendLogEvent: <T>(queue: Queue<T>, body: T) => Promise<void> = microBatcher<Queue<unknown>, unknown>({
  flushAfterMs: 20,
  maxItems: 100,
  write: async (queue, bodies) => {
    await queue.sendBatch(bodies.map((body) => ({ body, contentType: 'json' as const })));
  },
});
