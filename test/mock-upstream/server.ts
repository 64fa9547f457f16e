// A mock upstream that speaks the wire formats of OpenAI (and OpenAI-compatible vendors), Anthropic
// and Bedrock, and injects faults on demand (see common.ts for the markers).
// Every request is recorded; GET /__mock/requests?contains=TEXT lists those whose body has TEXT, and
// each record says whether the client went away before the answer ended (`aborted`).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicMessages } from './anthropic';
import { openaiSpeech, openaiTranscriptions } from './audio';
import { bedrockConverse } from './bedrock';
import { json, type VendorHandler } from './common';
import { googleCalendar } from './google-calendar';
import { notion } from './notion';
import { oidcProvider } from './oidc';
import { openaiChat, openaiEmbeddings, openaiModels } from './openai';
import { isWebhookPath, webhookReceiver } from './webhook-receiver';

export { mockAnswer } from './common';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
  aborted: boolean;
}

export interface MockUpstream {
  url: string;
  server: Server;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function route(method: string, path: string): VendorHandler | undefined {
  // Webhook receiver and DNS-over-HTTPS resolver for the webhooks tests (webhook-receiver.ts).
  if (isWebhookPath(path)) return webhookReceiver;
  if (path.startsWith('/oidc/')) return oidcProvider;
  // Tool adapters' upstreams (google-calendar.ts, notion.ts).
  if (path.startsWith('/gcal/')) return googleCalendar;
  if (path.startsWith('/notion/')) return notion;
  if (method === 'POST' && path.endsWith('/chat/completions')) return openaiChat;
  if (method === 'GET' && path.endsWith('/models')) return openaiModels;
  if (method === 'POST' && path.endsWith('/embeddings')) return openaiEmbeddings;
  if (method === 'POST' && path.endsWith('/audio/transcriptions')) return openaiTranscriptions;
  if (method === 'POST' && path.endsWith('/audio/speech')) return openaiSpeech;
  if (method === 'POST' && path.endsWith('/v1/messages')) return anthropicMessages;
  if (method === 'POST' && /\/model\/[^/]+\/(converse|converse-stream)$/.test(path)) return bedrockConverse;
  return undefined;
}

export async function startMockUpstream(port = 0): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/__mock/requests') {
      const contains = url.searchParams.get('contains');
      return json(res, 200, contains ? requests.filter((r) => r.body.includes(contains)) : requests);
    }
    const body = await readBody(req);
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      body,
      at: Date.now(),
      aborted: false,
    };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
    });
    const handler = route(record.method, url.pathname);
    if (!handler)
      return json(res, 404, { error: { message: `no mock for ${record.method} ${url.pathname}`, type: 'not_found' } });
    await handler(req, url, body, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    server,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
