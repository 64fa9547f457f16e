// End to end against `wrangler dev` with wrangler.toml's own queue settings: a Node webhook receiver on
// loopback that verifies every delivery with the `standardwebhooks` package, fails three times, then accepts.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from './helpers/dev-server';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

let server: DevServer;
let receiver: Server;
let receiverUrl: string;
const deliveries: Delivery[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = deliveries.length < 3 ? 503 : 204;
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
      res.writeHead(answered);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  // Retries 1 s apart instead of the production schedule; everything else as wrangler.toml.
  server = await startDevServer({ vars: { ALLOW_ANONYMOUS: 'false', WEBHOOK_RETRY_MAX_DELAY_SECONDS: '1' } });
});

afterAll(async () => {
  await server?.stop();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

async function api(path: string, token: string | null, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('webhooks through the local queue', () => {
  it('retries a receiver that fails three times; every attempt verifies; it is delivered exactly once', async () => {
    const account = await api('/api/v1/auth/register', null, {
      email: 'hooks@example.com',
      password: 'hooks-password-123',
    });
    const token = String(account.json.access_token);
    const created = await api('/api/v1/webhooks', token, {
      name: 'e2e',
      url: receiverUrl,
      events: ['project.created'],
    });
    expect(created.status).toBe(201);
    const secret = String(created.json.secret_key);
    const test = await api(`/api/v1/webhooks/${String(created.json.id)}/test`, token, {});
    expect(test.status).toBe(202);

    const until = Date.now() + 45_000;
    let log: Record<string, unknown>[] = [];
    while (Date.now() < until) {
      const res = await api(`/api/v1/webhooks/${String(created.json.id)}/deliveries`, token);
      log = res.json.data as Record<string, unknown>[];
      if (log[0]?.status !== 'pending') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(log[0]).toMatchObject({ id: test.json.id, status: 'succeeded', attempts: 4, last_response_code: 204 });
    expect(deliveries.map((d) => d.answered)).toEqual([503, 503, 503, 204]);
    const wh = new Webhook(secret);
    for (const d of deliveries) {
      expect(d.headers['webhook-id']).toBe(test.json.id);
      const payload = wh.verify(d.body, {
        'webhook-id': String(d.headers['webhook-id']),
        'webhook-timestamp': String(d.headers['webhook-timestamp']),
        'webhook-signature': String(d.headers['webhook-signature']),
      });
      expect(payload).toMatchObject({ type: 'webhook.test' });
    }
  });
});
