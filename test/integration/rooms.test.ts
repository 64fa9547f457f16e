import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { memberOf, register, type Account } from '../helpers/auth';
import { call, expectEnvelope, postJson, type EnvOverrides } from '../helpers/http';

// Seed 002's WebSocket protocol on /ws/chat, and the live room of a persistent chat (`?chat_id=`).

type Frame = { type: string; id?: string; data?: Record<string, unknown> };

class Client {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number } | null = null;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener('message', (e) => {
      this.frames.push(JSON.parse(String(e.data)) as Frame);
      this.wake();
    });
    ws.addEventListener('close', (e) => {
      this.closed = { code: e.code };
      this.wake();
    });
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  // Waits until a frame matches (searching from `from`), failing after `ms`.
  async next(match: (f: Frame) => boolean, from = 0, ms = 10_000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames).slice(0, 800)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}

async function open(path: string, headers: Record<string, string> = {}, overrides?: EnvOverrides) {
  return call(path, { headers: { upgrade: 'websocket', ...headers } }, overrides);
}

async function connect(path: string, who?: Account, overrides?: EnvOverrides): Promise<Client> {
  const res = await open(path, who ? who.auth : {}, overrides);
  expect(res.status).toBe(101);
  if (!res.webSocket) throw new Error('no WebSocket');
  return new Client(res.webSocket);
}

const LOCAL = { model_id: 'edgeway-local', model_api_source: 'local' };

describe('/ws/chat (seed 002 protocol)', () => {
  it('chat → stream frames → complete, whose response is the chunks joined', async () => {
    const a = await register();
    const client = await connect('/ws/chat', a);
    client.send({ type: 'chat', id: 'msg_1', data: { message: 'hello room', model: 'local:edgeway-local' } });
    const complete = await client.next((f) => f.type === 'complete' && f.id === 'msg_1');
    const chunks = client.frames.filter((f) => f.type === 'stream' && f.id === 'msg_1');
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((f) => f.data?.index)).toEqual(chunks.map((_, i) => i));
    for (const f of chunks) expect(f.data?.finished).toBe(false);
    expect(complete.data).toMatchObject({
      response: chunks.map((f) => f.data?.chunk).join(''),
      model: 'edgeway-local',
      cached: false,
    });
    expect(complete.data?.usage).toMatchObject({ prompt_tokens: expect.any(Number), total_tokens: expect.any(Number) });
    expect(String(complete.data?.response)).toContain('You said "hello room"');
    client.ws.close(1000);
  });

  it('records each turn like an HTTP AI call: a requests row and a request-log event (method WS)', async () => {
    const a = await register();
    const client = await connect('/ws/chat', a);
    const marker = `recorded ${crypto.randomUUID()}`;
    client.send({ type: 'chat', id: 'rec', data: { message: marker, model: 'local:edgeway-local' } });
    await client.next((f) => f.type === 'complete' && f.id === 'rec');
    const deadline = Date.now() + 10_000;
    let row: { dialect: string; user_id: string; organization_id: string; status: string } | null = null;
    while (!row && Date.now() < deadline) {
      row = await env.DB.prepare('SELECT dialect, user_id, organization_id, status FROM requests WHERE text = ?')
        .bind(marker)
        .first();
      if (!row) await new Promise((r) => setTimeout(r, 50));
    }
    expect(row).toEqual({
      dialect: 'ws-chat',
      user_id: a.userId,
      organization_id: a.organizationId,
      status: 'completed',
    });
    const event = await env.DB.prepare(
      "SELECT method, route, status, model FROM request_events WHERE method = 'WS' AND user_id = ?",
    )
      .bind(a.userId)
      .first();
    expect(event).toEqual({ method: 'WS', route: '/ws/chat', status: 200, model: 'edgeway-local' });
    client.ws.close(1000);
  });

  it('answers ping with pong, stream: false with only complete, and keeps the connection after bad frames', async () => {
    const a = await register();
    const client = await connect(`/ws/chat?token=${a.accessToken}`);
    client.send({ type: 'ping', id: 'ping_1', timestamp: '2024-01-01T00:00:00Z' });
    expect(await client.next((f) => f.type === 'pong')).toMatchObject({ id: 'ping_1' });
    let from = client.frames.length;
    client.send('{not json');
    expect(await client.next((f) => f.type === 'error', from)).toMatchObject({ data: { code: 'INVALID_REQUEST' } });
    from = client.frames.length;
    client.send({ type: 'shout', id: 'x' });
    expect(await client.next((f) => f.type === 'error', from)).toMatchObject({
      id: 'x',
      data: { code: 'INVALID_REQUEST' },
    });
    from = client.frames.length;
    client.send({ type: 'chat', id: 'bad', data: {} });
    expect(await client.next((f) => f.type === 'error', from)).toMatchObject({
      id: 'bad',
      data: { code: 'INVALID_REQUEST' },
    });
    from = client.frames.length;
    client.send({ type: 'chat', id: 'big', data: { message: 'x'.repeat(70_000) } });
    expect(await client.next((f) => f.type === 'error', from)).toMatchObject({ data: { code: 'FRAME_TOO_LARGE' } });
    from = client.frames.length;
    client.send({ type: 'cancel', id: 'nothing' });
    expect(await client.next((f) => f.type === 'error', from)).toMatchObject({
      id: 'nothing',
      data: { code: 'NOT_FOUND' },
    });
    from = client.frames.length;
    client.send({ type: 'chat', id: 'whole', data: { message: 'in one piece', stream: false } });
    const complete = await client.next((f) => f.type === 'complete' && f.id === 'whole', from);
    expect(client.frames.slice(from).filter((f) => f.type === 'stream')).toEqual([]);
    expect(String(complete.data?.response)).toContain('in one piece');
    expect(client.closed).toBeNull();
    client.ws.close(1000);
  });

  it('checks credentials before the upgrade, and wants an upgrade', async () => {
    const off = { ALLOW_ANONYMOUS: 'false' };
    await expectEnvelope(await open('/ws/chat', {}, off), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(await open('/ws/chat?token=garbage'), 401, 'AUTHENTICATION_REQUIRED');
    const a = await register();
    await expectEnvelope(await call('/ws/chat', { headers: a.auth }), 400, 'VALIDATION_ERROR');
  });

  it('admits 5 new connections per minute per client', async () => {
    const a = await register();
    const limited = { WS_CONNECTIONS_PER_MINUTE: '5', RATE_LIMIT_ENABLED: 'true' };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await open('/ws/chat', a.auth, limited);
      statuses.push(res.status);
      res.webSocket?.accept();
      res.webSocket?.close(1000);
    }
    expect(statuses).toEqual([101, 101, 101, 101, 101, 429]);
  });
});

describe('the live room of a chat', () => {
  async function sharedChat(owner: Account): Promise<string> {
    const res = await postJson('/api/v1/chat', { ...LOCAL, visibility: 'organization' }, undefined, owner.auth);
    expect(res.status).toBe(201);
    return String(((await res.json()) as { chat_id: string }).chat_id);
  }

  it('every member sees the message and the whole stream; the turn is stored; a late member gets history', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const chatId = await sharedChat(owner);
    const a = await connect(`/ws/chat?chat_id=${chatId}`, owner);
    const b = await connect(`/ws/chat?chat_id=${chatId}`, member);
    expect(await a.next((f) => f.type === 'history')).toMatchObject({ data: { messages: [] } });
    await b.next((f) => f.type === 'history');
    b.send({ type: 'chat', id: 't1', data: { message: 'hello everyone' } });
    for (const client of [a, b]) {
      expect(await client.next((f) => f.type === 'message')).toMatchObject({
        data: { role: 'user', content: 'hello everyone', user_id: member.userId },
      });
      await client.next((f) => f.type === 'complete' && f.id === 't1');
    }
    const streamA = a.frames.filter((f) => f.type === 'stream').map((f) => f.data?.chunk);
    const streamB = b.frames.filter((f) => f.type === 'stream').map((f) => f.data?.chunk);
    expect(streamA).toEqual(streamB);
    const stored = (await (await call(`/api/v1/chat/${chatId}/messages`, { headers: owner.auth })).json()) as {
      data: { role: string; content: string; message_id: string }[];
    };
    expect(stored.data.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(stored.data[1]?.content).toBe(streamA.join(''));
    const complete = a.frames.find((f) => f.type === 'complete');
    expect(complete?.data?.message_id).toBe(stored.data[1]?.message_id);
    const late = await connect(`/ws/chat?chat_id=${chatId}`, owner);
    const history = await late.next((f) => f.type === 'history');
    expect((history.data?.messages as unknown[]).length).toBe(2);
    for (const c of [a, b, late]) c.ws.close(1000);
  });

  it('keeps its members and history when evicted to hibernation, and still answers', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const chatId = await sharedChat(owner);
    const a = await connect(`/ws/chat?chat_id=${chatId}`, owner);
    const b = await connect(`/ws/chat?chat_id=${chatId}`, member);
    a.send({ type: 'chat', id: 'before', data: { message: 'before the nap' } });
    await b.next((f) => f.type === 'complete' && f.id === 'before');
    // Graceful eviction: memory is dropped, the sockets stay open (hibernated), storage stays.
    await evictDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`chat:${chatId}`)));
    const from = b.frames.length;
    b.send({ type: 'ping', id: 'awake?' });
    expect(await b.next((f) => f.type === 'pong', from)).toMatchObject({ id: 'awake?' });
    b.send({ type: 'chat', id: 'after', data: { message: 'after the nap' } });
    for (const client of [a, b]) {
      await client.next((f) => f.type === 'message' && f.data?.content === 'after the nap');
      await client.next((f) => f.type === 'complete' && f.id === 'after');
    }
    const late = await connect(`/ws/chat?chat_id=${chatId}`, owner);
    expect(((await late.next((f) => f.type === 'history')).data?.messages as unknown[]).length).toBe(4);
    for (const c of [a, b, late]) c.ws.close(1000);
  });

  it('shows a turn sent over HTTP to the members in the room', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const chatId = await sharedChat(owner);
    const b = await connect(`/ws/chat?chat_id=${chatId}`, member);
    await b.next((f) => f.type === 'history');
    const res = await postJson(`/api/v1/chat/${chatId}/messages`, { content: 'over http' }, undefined, owner.auth);
    expect(res.status).toBe(201);
    const turn = (await res.json()) as {
      user_message: { message_id: string };
      assistant_message: { message_id: string };
    };
    await b.next((f) => f.type === 'message' && f.data?.message_id === turn.assistant_message.message_id);
    expect(b.frames.filter((f) => f.type === 'message').map((f) => f.data?.message_id)).toEqual([
      turn.user_message.message_id,
      turn.assistant_message.message_id,
    ]);
    b.ws.close(1000);
  });

  it("refuses another user's chat before the upgrade (404), and lets a viewer read but not write", async () => {
    const owner = await register();
    const viewer = await memberOf(owner, 'viewer');
    const stranger = await register();
    const chatId = await sharedChat(owner);
    await expectEnvelope(await open(`/ws/chat?chat_id=${chatId}`, stranger.auth), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(await open(`/ws/chat?chat_id=${crypto.randomUUID()}`, owner.auth), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(await open('/ws/chat?chat_id=not-a-uuid', owner.auth), 404, 'RESOURCE_NOT_FOUND');
    const v = await connect(`/ws/chat?chat_id=${chatId}`, viewer);
    await v.next((f) => f.type === 'history');
    v.send({ type: 'chat', id: 'v1', data: { message: 'may I?' } });
    expect(await v.next((f) => f.type === 'error')).toMatchObject({ id: 'v1', data: { code: 'FORBIDDEN' } });
    const count = await env.DB.prepare('SELECT COUNT(*) AS n FROM messages WHERE chat_id = ?')
      .bind(chatId)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
    // Nor in a room of its own: viewers make no AI calls anywhere.
    const solo = await connect('/ws/chat', viewer);
    solo.send({ type: 'chat', id: 'v2', data: { message: 'and here?' } });
    expect(await solo.next((f) => f.type === 'error')).toMatchObject({ id: 'v2', data: { code: 'FORBIDDEN' } });
    for (const c of [v, solo]) c.ws.close(1000);
  });
});
