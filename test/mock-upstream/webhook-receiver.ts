import type { IncomingMessage, ServerResponse } from 'node:http';
import { hang, json } from './common';

// A webhook receiver for test/integration/webhooks.test.ts: POST /__webhook/<name>[?behaviour] records
// every delivery under <name> and answers by the query:
//   fail=N      500 for the first N deliveries to <name>, then 200
//   status=S    always S (e.g. 410 Gone, 404)
//   redirect=1  302 to another host
//   hang=1      never answers
// GET /__webhook-log/<name> lists what <name> received and what it answered.
// And a DNS-over-HTTPS resolver (JSON form) for names: GET /__doh?name=<a>-<b>-<c>-<d>.doh.test&type=A
// answers a.b.c.d; anything else is NXDOMAIN.

export interface ReceivedDelivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number | 'hang';
  at: number;
}

const received = new Map<string, ReceivedDelivery[]>();

export function isWebhookPath(path: string): boolean {
  return path.startsWith('/__webhook/') || path.startsWith('/__webhook-log/') || path === '/__doh';
}

export async function webhookReceiver(
  req: IncomingMessage,
  url: URL,
  body: string,
  res: ServerResponse,
): Promise<void> {
  if (url.pathname === '/__doh') return doh(url, res);
  if (url.pathname.startsWith('/__webhook-log/')) {
    return json(res, 200, received.get(url.pathname.slice('/__webhook-log/'.length)) ?? []);
  }
  const name = url.pathname.slice('/__webhook/'.length);
  const log = received.get(name) ?? [];
  received.set(name, log);
  const q = url.searchParams;
  const fail = Number(q.get('fail') ?? '0');
  const status = q.get('hang')
    ? 'hang'
    : q.get('redirect')
      ? 302
      : q.get('status')
        ? Number(q.get('status'))
        : log.length < fail
          ? 500
          : 200;
  log.push({ headers: req.headers, body, status, at: Date.now() });
  if (status === 'hang') return hang();
  if (status === 302) {
    res.writeHead(302, { location: `http://127.0.0.1:1/__webhook/${name}-redirected` });
    res.end();
    return;
  }
  return json(res, status, { received: status >= 200 && status < 300 });
}

function doh(url: URL, res: ServerResponse) {
  const name = url.searchParams.get('name') ?? '';
  const type = url.searchParams.get('type');
  const m = /^(\d+)-(\d+)-(\d+)-(\d+)\.doh\.test$/.exec(name);
  if (!m) return json(res, 200, { Status: 3, Answer: [] });
  const answer = type === 'A' ? [{ name, type: 1, TTL: 60, data: m.slice(1, 5).join('.') }] : [];
  return json(res, 200, { Status: 0, Answer: answer });
}
