import type { RequestEvent, RequestLogMessage } from '../../src/features/request-log/middleware';
import type { EnvOverrides } from './http';

// Stands in for the REQUEST_LOG producer: what the middleware sends is kept, for a test to hand to the
// consumer itself (metrics and analytics tests deliver exactly the events they made).
export function capturing() {
  const sent: RequestLogMessage[] = [];
  const overrides: EnvOverrides = {
    REQUEST_LOG: {
      send: async (body: RequestLogMessage) => {
        sent.push(structuredClone(body));
      },
      sendBatch: async (messages: Iterable<{ body: RequestLogMessage }>) => {
        for (const m of messages) sent.push(structuredClone(m.body));
      },
    },
  };
  const requests = () => sent.filter((m): m is RequestEvent => m.kind === 'request');
  return { sent, overrides, requests };
}
