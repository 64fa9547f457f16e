// End to end with the official socket.io-client against `wrangler dev`: seed 004's /assistant/realtime rooms,
// with the default options (long-polling first, then the upgrade to WebSocket) and with
// `transports: ["websocket"]`. Two users of one organization share a chat's room; a user of another
// organization is refused. The mock upstream answers as OpenAI does.
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../mock-upstream/server';
import { type DevServer, postJson, startDevServer } from './helpers/dev-server';

let mock: MockUpstream;
let server: DevServer;

type Payload = Record<string, unknown>;

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson(server, path, body, headers);

const PASSWORD = 'sio-password-123';

interface User {
  token: string;
  userId: string;
  organizationId: string;
}

async function register(email: string): Promise<User> {
  const body = await post('/api/v1/auth/register', { email, password: PASSWORD });
  const user = body.user as Payload;
  return { token: String(body.access_token), userId: String(user.id), organizationId: String(user.organization_id) };
}

beforeAll(async () => {
  mock = await startMockUpstream();
  server = await startDevServer({
    vars: {
      OPENAI_API_KEY: 'sk-e2e-upstream',
      OPENAI_BASE_URL: `${mock.url}/v1`,
      ALLOW_ANONYMOUS: 'false',
      // Many connections from one loopback client in this file.
      WS_CONNECTIONS_PER_MINUTE: '1000',
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await mock?.close();
});

// A connected client of /assistant/realtime with every event it received, and a way to wait for one.
interface Client {
  socket: Socket;
  events: { name: string; payload: Payload }[];
  next(name: string, match?: (p: Payload) => boolean): Promise<Payload>;
}

async function connect(token: string, opts: { websocketOnly: boolean }): Promise<Client> {
  const socket = io(`${server.url}/assistant/realtime`, {
    auth: { token },
    reconnection: false,
    forceNew: true,
    ...(opts.websocketOnly ? { transports: ['websocket'] } : {}),
  });
  const events: Client['events'] = [];
  const waiters: (() => void)[] = [];
  socket.onAny((name: string, payload: Payload) => {
    events.push({ name, payload });
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const next = async (name: string, match: (p: Payload) => boolean = () => true) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = events.find((e) => e.name === name && match(e.payload));
      if (found) return found.payload;
      if (Date.now() > deadline) throw new Error(`no ${name} in ${JSON.stringify(events).slice(0, 800)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return { socket, events, next };
}

// Two members of one organization: the owner registers, adds the second user, who signs in there.
async function twoMembers(tag: string): Promise<{ owner: User; member: User; outsider: User }> {
  const owner = await register(`owner-${tag}@example.com`);
  const second = await register(`member-${tag}@example.com`);
  await post(
    '/api/v1/organizations/current/members',
    { email: `member-${tag}@example.com`, role: 'member' },
    { authorization: `Bearer ${owner.token}` },
  );
  const login = await post('/api/v1/auth/login', {
    email: `member-${tag}@example.com`,
    password: PASSWORD,
    organization_id: owner.organizationId,
  });
  const member = { ...second, token: String(login.access_token), organizationId: owner.organizationId };
  const outsider = await register(`outsider-${tag}@example.com`);
  return { owner, member, outsider };
}

for (const websocketOnly of [false, true]) {
  const mode = websocketOnly ? 'transports: ["websocket"]' : 'default options (polling, then upgrade)';
  describe(`socket.io-client with ${mode}`, () => {
    it('two users of one organization share a room: create, join, send, both get the whole stream, leave', async () => {
      const { owner, member, outsider } = await twoMembers(crypto.randomUUID().slice(0, 8));
      const a = await connect(owner.token, { websocketOnly });
      const b = await connect(member.token, { websocketOnly });

      const created = (await a.socket.emitWithAck('create_room', {
        type: 'openai_realtime',
        model: 'openai:gpt-4o-mini',
        title: 'shared',
        visibility: 'organization',
      })) as Payload;
      expect(created).toMatchObject({ type: 'openai_realtime', model: 'openai:gpt-4o-mini', history: [] });
      const roomId = String(created.room_id);
      expect(await a.next('room_created')).toMatchObject({ room_id: roomId });

      const joined = (await b.socket.emitWithAck('join_room', { room_id: roomId })) as Payload;
      expect(joined).toMatchObject({ room_id: roomId, type: 'openai_realtime' });
      expect(await a.next('user_joined')).toMatchObject({ room_id: roomId, user_id: member.userId });

      const sent = (await b.socket.emitWithAck('send_message', {
        room_id: roomId,
        message: 'hello from socket.io',
      })) as Payload;
      const requestId = String(sent.request_id);
      for (const c of [a, b]) {
        const done = await c.next('message_received', (p) => p.request_id === requestId && p.finished === true);
        const chunks = c.events
          .filter((e) => e.name === 'message_received' && e.payload.request_id === requestId && !e.payload.finished)
          .map((e) => String(e.payload.chunk));
        expect(chunks.length).toBeGreaterThan(1);
        expect(done.content).toBe(chunks.join(''));
        expect(String(done.content)).toContain('Mock answer to: hello from socket.io');
        // The member's own message, stored before it was broadcast.
        expect(
          await c.next(
            'message_received',
            (p) => p.role === 'user' && (p.message as Payload).content === 'hello from socket.io',
          ),
        ).toBeTruthy();
      }
      if (!websocketOnly) expect(a.socket.io.engine.transport.name).toBe('websocket');

      // Another organization's user: not found, on join and on send.
      const c = await connect(outsider.token, { websocketOnly });
      expect(await c.socket.emitWithAck('join_room', { room_id: roomId })).toMatchObject({
        error: { code: 'NOT_FOUND' },
      });
      expect(await c.socket.emitWithAck('send_message', { room_id: roomId, message: 'x' })).toMatchObject({
        error: { code: 'NOT_FOUND' },
      });
      expect(c.events.some((e) => e.name === 'message_received')).toBe(false);
      c.socket.disconnect();

      expect(await b.socket.emitWithAck('leave_room', { room_id: roomId })).toMatchObject({ room_id: roomId });
      expect(await a.next('user_left')).toMatchObject({ room_id: roomId, user_id: member.userId });
      a.socket.disconnect();
      b.socket.disconnect();
    });

    it('refuses the namespace without credentials or with a bad token (connect_error with a message)', async () => {
      for (const auth of [{}, { token: 'ew_not-a-real-key' }]) {
        const socket = io(`${server.url}/assistant/realtime`, {
          auth,
          reconnection: false,
          forceNew: true,
          ...(websocketOnly ? { transports: ['websocket'] } : {}),
        });
        const error = await new Promise<Error>((resolve, reject) => {
          socket.once('connect_error', resolve);
          socket.once('connect', () => reject(new Error('connected without credentials')));
        });
        expect(error.message).toMatch(/Authentication required|Invalid or expired credentials/);
        socket.disconnect();
      }
    });
  });
}
