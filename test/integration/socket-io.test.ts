import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { memberOf, register, type Account } from '../helpers/auth';
import { call } from '../helpers/http';

// /socket.io/ on the SocketSession object, spoken raw (Engine.IO 4 / Socket.IO 5 packets written by hand from
// the protocol documents): handshake, errors, namespace authentication, seed 004's room events and their
// access rules, bad and oversized frames, and a session evicted from memory that keeps its state and pings.
// The real socket.io-client is exercised in test/e2e/socket-io.test.ts. The suite's SIO_PING_INTERVAL_MS is
// vitest.config.ts's (short, so a ping is seen within a test).

const NSP = '/assistant/realtime';
const LOCAL = { model: 'local:edgeway-local' };

// A raw Engine.IO WebSocket client: answers pings, keeps every text frame.
class RawSocket {
  readonly frames: string[] = [];
  closed: { code: number } | null = null;
  private waiters: (() => void)[] = [];
  answerPings = true;
  pings = 0;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener('message', (e) => {
      const text = String(e.data);
      if (text === '2') {
        this.pings++;
        if (this.answerPings) ws.send('3');
      }
      this.frames.push(text);
      this.wake();
    });
    ws.addEventListener('close', (e) => {
      this.closed = { code: e.code };
      this.wake();
    });
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  send(text: string) {
    this.ws.send(text);
  }

  async next(match: (f: string) => boolean, from = 0, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames).slice(0, 900)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  // `42<nsp>,<id>["name",payload]` and the ACK `43<nsp>,<id>[answer]` it gets.
  async ask(name: string, payload: unknown, id: number): Promise<Record<string, unknown>> {
    const from = this.frames.length;
    this.send(`42${NSP},${id}${JSON.stringify([name, payload])}`);
    const ack = await this.next((f) => f.startsWith(`43${NSP},${id}[`), from);
    return (JSON.parse(ack.slice(`43${NSP},${id}`.length)) as Record<string, unknown>[])[0] ?? {};
  }

  // The payload of the first `name` event at or after `from`.
  async event(name: string, from = 0, match: (p: Record<string, unknown>) => boolean = () => true) {
    const frame = await this.next((f) => {
      if (!f.startsWith(`42${NSP},[`)) return false;
      const [n, p] = JSON.parse(f.slice(`42${NSP},`.length)) as [string, Record<string, unknown>];
      return n === name && match(p);
    }, from);
    return (JSON.parse(frame.slice(`42${NSP},`.length)) as [string, Record<string, unknown>])[1];
  }
}

async function handshakeWs(headers: Record<string, string> = {}): Promise<{ socket: RawSocket; sid: string }> {
  const res = await call('/socket.io/?EIO=4&transport=websocket', { headers: { upgrade: 'websocket', ...headers } });
  expect(res.status).toBe(101);
  if (!res.webSocket) throw new Error('no WebSocket');
  const socket = new RawSocket(res.webSocket);
  const open = await socket.next((f) => f.startsWith('0'));
  const data = JSON.parse(open.slice(1)) as { sid: string; upgrades: string[] };
  expect(data.upgrades).toEqual([]);
  return { socket, sid: data.sid };
}

// A WebSocket connection with /assistant/realtime joined using the CONNECT's auth token.
async function realtime(who: Account): Promise<{ socket: RawSocket; sid: string }> {
  const conn = await handshakeWs();
  conn.socket.send(`40${NSP},${JSON.stringify({ token: who.accessToken })}`);
  const answer = await conn.socket.next((f) => f.startsWith(`40${NSP},`) || f.startsWith(`44${NSP},`));
  expect(answer).toMatch(new RegExp(`^40${NSP},\\{"sid":"[A-Za-z0-9_-]+"\\}$`));
  return conn;
}

describe('/socket.io/ Engine.IO transport', { timeout: 30_000 }, () => {
  it('a polling handshake opens a session with its sid, upgrades and heartbeat; its packets come by GET', async () => {
    const a = await register();
    const res = await call('/socket.io/?EIO=4&transport=polling&t=abc', { headers: a.auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await res.text();
    expect(body[0]).toBe('0');
    const open = JSON.parse(body.slice(1)) as Record<string, unknown>;
    expect(open).toEqual({
      sid: expect.stringMatching(/^[A-Za-z0-9_-]{20}$/),
      upgrades: ['websocket'],
      pingInterval: 1000,
      pingTimeout: 2000,
      maxPayload: 65536,
    });
    const sid = String(open.sid);
    // The handshake's Bearer authenticates the namespace (no CONNECT auth).
    const post = await call(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: `40${NSP},`,
    });
    expect(post.status).toBe(200);
    expect(await post.text()).toBe('ok');
    const get = await call(`/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    expect(await get.text()).toMatch(new RegExp(`^40${NSP},\\{"sid":"[A-Za-z0-9_-]+"\\}`));
    // Closing: the client's `1` ends the session; its sid is unknown afterwards.
    await call(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '1' });
    const after = await call(`/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    expect(after.status).toBe(400);
    expect(await after.json()).toEqual({ code: 1, message: 'Session ID unknown' });
  });

  it('bad requests are 400 with Engine.IO error bodies, never 500; a wrong credential at the handshake is 401', async () => {
    const cases: [string, RequestInit, number][] = [
      ['/socket.io/?EIO=3&transport=polling', {}, 5],
      ['/socket.io/?EIO=4&transport=carrier-pigeon', {}, 0],
      ['/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA', {}, 1],
      ['/socket.io/?EIO=4&transport=polling&sid=../../etc', {}, 1],
      ['/socket.io/?EIO=4&transport=polling', { method: 'POST', body: '40' }, 2],
    ];
    for (const [path, init, code] of cases) {
      const res = await call(path, init);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { code: number }).code, path).toBe(code);
    }
    const bad = await call('/socket.io/?EIO=4&transport=polling', { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
  });

  it('refuses /assistant/realtime without credentials or with a bad token (44 with a message), and stays open', async () => {
    const { socket } = await handshakeWs();
    socket.send(`40${NSP},`);
    expect(await socket.next((f) => f.startsWith(`44${NSP},`))).toBe(`44${NSP},{"message":"Authentication required"}`);
    const from = socket.frames.length;
    socket.send(`40${NSP},{"token":"ew_0000000000000000000000000000000000"}`);
    expect(await socket.next((f) => f.startsWith(`44${NSP},`), from)).toMatch(/"message":"Invalid or expired/);
    expect(socket.closed).toBeNull();
    socket.ws.close();
  });

  it('a session evicted from memory keeps its namespace and identity, and the alarm still pings it', async () => {
    const a = await register();
    const { socket, sid } = await realtime(a);
    await evictDurableObject(env.SOCKET_SESSION.get(env.SOCKET_SESSION.idFromName(`sio:${sid}`)));
    const pingsBefore = socket.pings;
    await socket.next(() => socket.pings > pingsBefore, 0, 15_000);
    // The woken object still knows the connection and who it is: a room can be created.
    const created = await socket.ask('create_room', LOCAL, 1);
    expect(created).toMatchObject({ type: 'aisuite', model: 'local:edgeway-local', history: [] });
    expect(socket.closed).toBeNull();
    socket.ws.close();
  });

  it('closes a client that stops answering pings (ping timeout)', async () => {
    const { socket } = await handshakeWs();
    socket.answerPings = false;
    await socket.next(() => socket.closed !== null, 0, 20_000);
  });
});

describe('/assistant/realtime rooms (seed 004 events)', { timeout: 30_000 }, () => {
  it('create, send, and a member of the organization joining late gets the history', async () => {
    const owner = await register();
    const { socket: a } = await realtime(owner);
    const created = await a.ask('create_room', { ...LOCAL, visibility: 'organization', title: 'Room' }, 1);
    const roomId = String(created.room_id);
    expect(created).toMatchObject({ type: 'aisuite', title: 'Room', visibility: 'organization' });
    const sent = await a.ask('send_message', { room_id: roomId, message: 'first words' }, 2);
    const done = await a.event('message_received', 0, (p) => p.request_id === sent.request_id && p.finished === true);
    expect(String(done.content)).toContain('first words');
    // Stored in the chat, as over HTTP.
    const stored = await call(`/api/v1/chat/${roomId}/messages`, { headers: owner.auth });
    const messages = ((await stored.json()) as { data: { role: string; content: string }[] }).data;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);

    const late = await memberOf(owner, 'viewer');
    const { socket: b } = await realtime(late);
    const joined = await b.ask('join_room', { room_id: roomId }, 1);
    expect((joined.history as { content: string }[]).map((m) => m.content)).toEqual(messages.map((m) => m.content));
    expect(await a.event('user_joined', 0)).toMatchObject({ room_id: roomId, user_id: late.userId });
    // A viewer reads the room but cannot make AI calls in it, nor create rooms.
    const from = b.frames.length;
    await b.ask('send_message', { room_id: roomId, message: 'viewer words' }, 2);
    expect(await b.event('error', from)).toMatchObject({ room_id: roomId, code: 'FORBIDDEN' });
    expect(await b.ask('create_room', LOCAL, 3)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    b.ws.close();
    expect(await a.event('user_left', 0)).toMatchObject({ room_id: roomId, user_id: late.userId });
    a.ws.close();
  });

  it("another user's room is not found on every event, and nothing of it reaches them", async () => {
    const owner = await register();
    const { socket: a } = await realtime(owner);
    const privateRoom = String((await a.ask('create_room', LOCAL, 1)).room_id);
    const stranger = await register();
    const sameOrg = await memberOf(owner, 'member');
    for (const who of [stranger, sameOrg]) {
      const { socket } = await realtime(who);
      for (const [name, payload] of [
        ['join_room', { room_id: privateRoom }],
        ['send_message', { room_id: privateRoom, message: 'hi' }],
        ['leave_room', { room_id: privateRoom }],
        ['cancel_message', { room_id: privateRoom, request_id: 'x' }],
      ] as const) {
        expect(await socket.ask(name, payload, socket.frames.length + 1), name).toMatchObject({
          error: { code: 'NOT_FOUND', room_id: privateRoom },
        });
      }
      socket.ws.close();
    }
    const count = await env.DB.prepare('SELECT COUNT(*) AS n FROM messages WHERE chat_id = ?')
      .bind(privateRoom)
      .first();
    expect(count?.n).toBe(0);
    a.ws.close();
  });

  it('a bad event gets an error and the connection stays; an oversized frame is refused', async () => {
    const a = await register();
    const { socket } = await realtime(a);
    expect(await socket.ask('join_room', { nope: 1 }, 1)).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    expect(await socket.ask('no_such_event', {}, 2)).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    expect(
      await socket.ask('create_room', { type: 'openai_realtime', model: 'anthropic:claude-3-haiku' }, 3),
    ).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    // Not JSON after the namespace: the protocol layer reports it; the room answers with `error`.
    const from = socket.frames.length;
    socket.send(`42${NSP},["join_room",`);
    expect(await socket.event('error', from)).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(socket.closed).toBeNull();
    expect(await socket.ask('create_room', LOCAL, 4)).toMatchObject({ type: 'aisuite' });
    socket.send(`42${NSP},["send_message",{"room_id":"x","message":"${'a'.repeat(70_000)}"}]`);
    await socket.next(() => socket.closed !== null);
    expect(socket.closed?.code).toBe(1009);
  });

  it('new connections are limited per client (5 per minute, seed 002)', async () => {
    const a = await register();
    const overrides = { WS_CONNECTIONS_PER_MINUTE: '5' };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call('/socket.io/?EIO=4&transport=polling', { headers: a.auth }, overrides);
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });
});

describe('/metrics live gauges', { timeout: 30_000 }, () => {
  async function gauge(series: string): Promise<number> {
    const text = await (await call('/metrics')).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    if (!line) throw new Error(`no ${series} in /metrics`);
    return Number(line.slice(series.length + 1));
  }

  async function until(series: string, want: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = await gauge(series);
      if (got === want) return;
      if (Date.now() > deadline) throw new Error(`${series} is ${got}, expected ${want}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('count open Socket.IO connections and rooms with members, up and down', async () => {
    const sio = 'edgeway_realtime_connections{protocol="socket.io"}';
    const rooms = 'edgeway_realtime_rooms';
    const before = await gauge(sio);
    const roomsBefore = await gauge(rooms);
    const a = await register();
    const first = await realtime(a);
    const second = await handshakeWs();
    await until(sio, before + 2);
    const roomId = String((await first.socket.ask('create_room', LOCAL, 1)).room_id);
    await until(rooms, roomsBefore + 1);
    await first.socket.ask('leave_room', { room_id: roomId }, 2);
    await until(rooms, roomsBefore);
    first.socket.ws.close();
    second.socket.ws.close();
    await until(sio, before);

    // A /ws/chat connection is counted under its own protocol, and only once.
    const ws = 'edgeway_realtime_connections{protocol="ws"}';
    const wsBefore = await gauge(ws);
    const res = await call('/ws/chat', { headers: { upgrade: 'websocket', ...a.auth } });
    res.webSocket?.accept();
    await until(ws, wsBefore + 1);
    res.webSocket?.close(1000);
    await until(ws, wsBefore);
  });
});
