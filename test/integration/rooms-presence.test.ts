import { describe, expect, it } from 'vitest';
import { memberOf, register, type Account } from '../helpers/auth';
import { call, postJson } from '../helpers/http';

// Who is here and who is typing in a chat's live room (/ws/chat?chat_id=): the `members` frame a member gets
// on joining, `presence` frames carrying the users here, and `typing` relayed to the other members.

type Frame = { type: string; id?: string; data?: Record<string, unknown> };

class Client {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener('message', (e) => {
      this.frames.push(JSON.parse(String(e.data)) as Frame);
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }

  send(frame: unknown) {
    this.ws.send(JSON.stringify(frame));
  }

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

async function connect(path: string, who: Account): Promise<Client> {
  const res = await call(path, { headers: { upgrade: 'websocket', ...who.auth } });
  expect(res.status).toBe(101);
  if (!res.webSocket) throw new Error('no WebSocket');
  return new Client(res.webSocket);
}

async function sharedChat(owner: Account): Promise<string> {
  const body = { model_id: 'edgeway-local', model_api_source: 'local', visibility: 'organization' };
  const res = await postJson('/api/v1/chat', body, undefined, owner.auth);
  expect(res.status).toBe(201);
  return String(((await res.json()) as { chat_id: string }).chat_id);
}

describe('presence and typing in a chat room', () => {
  it('tells a newcomer who is here, and everyone who joined and left, as distinct users', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const chatId = await sharedChat(owner);
    const a = await connect(`/ws/chat?chat_id=${chatId}`, owner);
    expect(await a.next((f) => f.type === 'members')).toMatchObject({ data: { members: 1, users: [owner.userId] } });
    const b = await connect(`/ws/chat?chat_id=${chatId}`, member);
    const here = await b.next((f) => f.type === 'members');
    expect(here.data?.members).toBe(2);
    expect(new Set(here.data?.users as string[])).toEqual(new Set([owner.userId, member.userId]));
    // `members` comes after the history.
    const types = b.frames.map((f) => f.type);
    expect(types.indexOf('history')).toBeLessThan(types.indexOf('members'));
    const joined = await a.next((f) => f.type === 'presence' && f.data?.event === 'joined');
    expect(joined.data).toMatchObject({ user_id: member.userId, members: 2 });
    expect(new Set(joined.data?.users as string[])).toEqual(new Set([owner.userId, member.userId]));
    // A second tab of the owner is one more socket, not one more user.
    const a2 = await connect(`/ws/chat?chat_id=${chatId}`, owner);
    const third = await b.next((f) => f.type === 'presence' && f.data?.members === 3);
    expect((third.data?.users as string[]).length).toBe(2);
    a2.ws.close(1000);
    const left = await b.next((f) => f.type === 'presence' && f.data?.event === 'left');
    expect(left.data).toMatchObject({ user_id: owner.userId, members: 2 });
    expect((left.data?.users as string[]).length).toBe(2);
    b.ws.close(1000);
    const gone = await a.next((f) => f.type === 'presence' && f.data?.event === 'left' && f.data?.members === 1);
    expect(gone.data).toMatchObject({ user_id: member.userId, users: [owner.userId] });
    a.ws.close(1000);
  });

  it('relays typing to the other members only, and refuses it from a viewer', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const viewer = await memberOf(owner, 'viewer');
    const chatId = await sharedChat(owner);
    const a = await connect(`/ws/chat?chat_id=${chatId}`, owner);
    const b = await connect(`/ws/chat?chat_id=${chatId}`, member);
    await a.next((f) => f.type === 'members');
    await b.next((f) => f.type === 'members');
    b.send({ type: 'typing', typing: true });
    expect(await a.next((f) => f.type === 'typing')).toEqual({
      type: 'typing',
      data: { user_id: member.userId, typing: true },
    });
    b.send({ type: 'typing', typing: false });
    await a.next((f) => f.type === 'typing' && f.data?.typing === false);
    // The typist is not told of itself; a ping shows its frames so far have been answered.
    b.send({ type: 'ping', id: 'after-typing' });
    await b.next((f) => f.type === 'pong');
    expect(b.frames.filter((f) => f.type === 'typing' || f.type === 'error')).toEqual([]);
    // Malformed typing is a bad frame like any other.
    b.send({ type: 'typing' });
    expect(await b.next((f) => f.type === 'error')).toMatchObject({ data: { code: 'INVALID_REQUEST' } });
    const v = await connect(`/ws/chat?chat_id=${chatId}`, viewer);
    await v.next((f) => f.type === 'members');
    v.send({ type: 'typing', typing: true });
    expect(await v.next((f) => f.type === 'error')).toMatchObject({ data: { code: 'FORBIDDEN' } });
    const typingSeen = a.frames.filter((f) => f.type === 'typing').map((f) => f.data?.user_id);
    expect(typingSeen).toEqual([member.userId, member.userId]);
    // Nothing was stored.
    const messages = (await (await call(`/api/v1/chat/${chatId}/messages`, { headers: owner.auth })).json()) as {
      data: unknown[];
    };
    expect(messages.data).toEqual([]);
    for (const c of [a, b, v]) c.ws.close(1000);
  });
});
