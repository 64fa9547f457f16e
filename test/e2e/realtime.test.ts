// End to end over real sockets against `wrangler dev`: the `ws` client on /ws/chat (seed 002's protocol),
// with the mock upstream behind the OpenAI provider so a cancel can be seen reaching the upstream call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type MockUpstream, startMockUpstream } from '../mock-upstream/server';
import { type DevServer, postJson, startDevServer } from './helpers/dev-server';

let mock: MockUpstream;
let server: DevServer;
let token: string;

type Frame = { type: string; id?: string; data?: Record<string, unknown> };

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson(server, path, body, headers);

beforeAll(async () => {
  mock = await startMockUpstream();
  server = await startDevServer({
    vars: { OPENAI_API_KEY: 'sk-e2e-upstream', OPENAI_BASE_URL: `${mock.url}/v1`, ALLOW_ANONYMOUS: 'false' },
  });
  const account = await post('/api/v1/auth/register', { email: 'ws@example.com', password: 'ws-password-123' });
  token = String(account.access_token);
});

afterAll(async () => {
  await server?.stop();
  await mock?.close();
});

// A `ws` client with the frames it received and a way to wait for one.
async function open(
  query = `?token=${token}`,
): Promise<{ ws: WebSocket; frames: Frame[]; next: (m: (f: Frame) => boolean) => Promise<Frame> }> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/chat${query}`);
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async (match: (f: Frame) => boolean) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame in ${JSON.stringify(frames).slice(0, 600)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return { ws, frames, next };
}

describe('/ws/chat with the ws client', () => {
  it('chat → stream → complete from the upstream, ping → pong, a bad frame → error on a live connection', async () => {
    const c = await open();
    c.ws.send(JSON.stringify({ type: 'chat', id: 'e2e_1', data: { message: 'e2e over ws', model: 'gpt-4o-mini' } }));
    const complete = await c.next((f) => f.type === 'complete' && f.id === 'e2e_1');
    const chunks = c.frames.filter((f) => f.type === 'stream').map((f) => String(f.data?.chunk));
    expect(chunks.length).toBeGreaterThan(1);
    expect(complete.data?.response).toBe(chunks.join(''));
    expect(String(complete.data?.response)).toContain('Mock answer to: e2e over ws');
    c.ws.send('{"type":');
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ data: { code: 'INVALID_REQUEST' } });
    c.ws.send(JSON.stringify({ type: 'ping', id: 'p1' }));
    expect(await c.next((f) => f.type === 'pong')).toMatchObject({ id: 'p1' });
    c.ws.close();
  });

  it('cancel stops the generation and aborts the upstream call, as the upstream sees it', async () => {
    const c = await open();
    const marker = `cancel-${crypto.randomUUID()}`;
    c.ws.send(
      JSON.stringify({ type: 'chat', id: 'slow', data: { message: `${marker} [[fault:hang]]`, model: 'gpt-4o-mini' } }),
    );
    // Once the upstream has the call, cancel it.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const seen = (await (await fetch(`${mock.url}/__mock/requests?contains=${marker}`)).json()) as unknown[];
      if (seen.length > 0) break;
      if (Date.now() > deadline) throw new Error('the upstream never saw the call');
      await new Promise((r) => setTimeout(r, 50));
    }
    c.ws.send(JSON.stringify({ type: 'cancel', id: 'slow' }));
    expect(await c.next((f) => f.type === 'error' && f.id === 'slow')).toMatchObject({ data: { code: 'CANCELLED' } });
    for (;;) {
      const seen = (await (await fetch(`${mock.url}/__mock/requests?contains=${marker}`)).json()) as {
        aborted: boolean;
      }[];
      if (seen[0]?.aborted) break;
      if (Date.now() > deadline) throw new Error('the upstream call was not aborted');
      await new Promise((r) => setTimeout(r, 50));
    }
    c.ws.close();
  });

  it('refuses a handshake without credentials', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/chat`);
    // A refused handshake also ends in an 'error' event; the status is what is checked.
    ws.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
    });
    expect(status).toBe(401);
    ws.terminate();
  });
});
