import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { createRouter, errorResponses } from '../../lib/router';
import { PUBLIC, caller, protect } from '../accounts';
import { clientKeyOf, rateLimitError, takeWebSocketSlot } from '../rate-limits';
import type { Member } from './room-turn';
import { SIO_HEADER, type SioRequest } from './socket-session';
import { createSessionId, routeEngineRequest } from './socket-io/engine-io';

// /socket.io/: seed 004's Socket.IO endpoint (Engine.IO 4 long-polling and WebSocket). The worker routes each
// request to the SocketSession object of its sid; a handshake gets a new sid (and object). Credentials are
// optional here — socket.io-client usually sends them in the CONNECT's `auth` — but a credential that is
// sent is checked (401 when wrong), and new connections are limited as on /ws/chat.
// Why: docs/design/socket-io.md#wiring
export const socketIoRoutes = createRouter();

const Query = z.object({
  EIO: z.string().max(4).optional(),
  transport: z.string().max(16).optional(),
  sid: z.string().max(64).optional(),
  // socket.io-client's cache buster on polling requests.
  t: z.string().max(64).optional(),
  token: z.string().max(4096).optional(),
});

const EnginePayload = {
  'text/plain': { schema: z.string().openapi({ example: '0{"sid":"…","upgrades":["websocket"]}' }) },
};

const responses = (method: 'get' | 'post') => ({
  200: { description: 'An Engine.IO payload, or `ok` for a POST', content: EnginePayload },
  ...(method === 'get' ? { 101: { description: 'Switching to the WebSocket transport' } } : {}),
  ...errorResponses(400, 401, 413, 429),
});

async function engine(c: Context<AppEnv>): Promise<Response> {
  const websocket = c.req.header('upgrade')?.toLowerCase() === 'websocket';
  const route = routeEngineRequest({ method: c.req.method, query: new URL(c.req.url).searchParams, websocket });
  if (!route.ok) {
    const a = route.error;
    return new Response(a.body, { status: a.status, headers: { 'content-type': a.contentType } });
  }
  let info: SioRequest;
  if (route.value.kind === 'handshake') {
    const who = await caller(c);
    const clientKey = clientKeyOf(who, c.req.raw.headers);
    const slot = await takeWebSocketSlot(c.env, clientKey, c.var.config, c.var.log);
    if (slot && !slot.allowed) throw rateLimitError(slot, 'Too many new connections; retry later');
    const member: Member = { identity: who, clientKey };
    info = { route: 'handshake', sid: createSessionId(), transport: route.value.transport, member };
  } else {
    info = { route: route.value.kind, sid: route.value.sid };
  }
  const headers = new Headers(c.req.raw.headers);
  // Set here only: whatever a client sent under this name is replaced.
  headers.set(SIO_HEADER, JSON.stringify(info));
  const session = c.env.SOCKET_SESSION.get(c.env.SOCKET_SESSION.idFromName(`sio:${info.sid}`));
  const init: RequestInit = { method: c.req.method, headers, signal: c.req.raw.signal };
  if (c.req.method === 'POST') init.body = c.req.raw.body;
  const res = await session.fetch('https://session/socket.io/', init);
  if (res.status === 101) return res;
  // A fresh Response: a Durable Object's is immutable, and the app's middleware adds headers.
  return new Response(res.body, res);
}

for (const method of ['get', 'post'] as const) {
  socketIoRoutes.openapi(
    createRoute({
      method,
      path: '/socket.io/',
      operationId: method === 'get' ? 'socketIoPoll' : 'socketIoPost',
      tags: ['realtime'],
      summary:
        method === 'get'
          ? 'Socket.IO (Engine.IO 4): handshake, long-polling GET, or the WebSocket upgrade'
          : 'Socket.IO (Engine.IO 4): long-polling POST of client packets',
      // Anyone may open a transport; what needs an account (the /assistant/realtime namespace and its rooms)
      // is refused at the namespace CONNECT, where socket.io-client sends its `auth`.
      middleware: [protect(PUBLIC)],
      request: { query: Query },
      responses: responses(method),
    }),
    // Answers in the Engine.IO wire format (text/plain payloads), not JSON.
    (c) => engine(c),
  );
}
