import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import type { ChatRoom } from '../../src/features/rooms';
import { memberOf, register, type Account } from '../helpers/auth';
import { call, expectEnvelope, mockRequests, openaiEnv, postJson } from '../helpers/http';

// Resumable streams (docs/design/resumable-streams.md): a streamed chat turn is run by the chat's room, its
// SSE events are numbered (`id: <turn>:<n>`) and kept, a client that lost the stream resumes with
// Last-Event-ID, a member joining the room mid-generation gets the frames so far, and the generation
// survives its asker leaving.

type Json = Record<string, unknown>;
type Frame = { type: string; id?: string; data?: Record<string, unknown> };
interface SseEvent {
  id?: string;
  data: Json;
}

// The mock upstream's `slow` fault holds the first token back 1.5 s: a generation stays in flight that long.
const SLOW = '[[fault:slow]]';
const NO_CACHE = { 'cache-control': 'no-cache, no-store' };

const roomOf = (chatId: string) => env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`chat:${chatId}`));

// The room runs the model call with its own configuration (the test env has no provider pointing at the
// mock upstream): point its openai provider at the mock, as the worker's overrides do for the request.
async function roomUsesMock(chatId: string): Promise<void> {
  await runInDurableObject(roomOf(chatId), (room: ChatRoom) => {
    Object.assign(room, { config: loadConfig({ ...env, ...openaiEnv() }) });
  });
}

async function openaiChat(owner: Account, visibility: 'private' | 'organization' = 'private'): Promise<string> {
  const res = await postJson(
    '/api/v1/chat',
    { model_id: 'gpt-4o-mini', model_api_source: 'openai', visibility },
    openaiEnv(),
    owner.auth,
  );
  expect(res.status).toBe(201);
  const chatId = String(((await res.json()) as Json).chat_id);
  await roomUsesMock(chatId);
  return chatId;
}

function ask(who: Account, chatId: string, content: string): Promise<Response> {
  return postJson(`/api/v1/chat/${chatId}/messages`, { content, stream: true }, openaiEnv(), {
    ...who.auth,
    ...NO_CACHE,
  });
}

function resume(who: Account, chatId: string, lastEventId?: string): Promise<Response> {
  return call(`/api/v1/chat/${chatId}/messages/stream`, {
    headers: { ...who.auth, ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}) },
  });
}

// Reads an SSE body one event at a time (keep-alive comments skipped).
class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffered = '';

  constructor(res: Response) {
    if (!res.body) throw new Error('no body');
    this.reader = res.body.getReader();
  }

  async next(): Promise<SseEvent | null> {
    for (;;) {
      const cut = this.buffered.indexOf('\n\n');
      if (cut >= 0) {
        const block = this.buffered.slice(0, cut);
        this.buffered = this.buffered.slice(cut + 2);
        let id: string | undefined;
        let data: string | undefined;
        for (const line of block.split('\n')) {
          if (line.startsWith('id:')) id = line.slice(3).trim();
          else if (line.startsWith('data:')) data = (data ?? '') + line.slice(5).trim();
        }
        if (data === undefined) continue;
        return { ...(id !== undefined ? { id } : {}), data: JSON.parse(data) as Json };
      }
      const { done, value } = await this.reader.read();
      if (done) return null;
      this.buffered += this.decoder.decode(value, { stream: true });
    }
  }

  async rest(): Promise<SseEvent[]> {
    const all: SseEvent[] = [];
    for (let e = await this.next(); e; e = await this.next()) all.push(e);
    return all;
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

const seqOf = (e: SseEvent) => Number(e.id?.split(':')[1]);
const turnOf = (e: SseEvent) => e.id?.split(':')[0];
const chunksOf = (events: SseEvent[]) => events.filter((e) => 'chunk' in e.data).map((e) => String(e.data.chunk));

async function messagesOf(who: Account, chatId: string): Promise<Json[]> {
  const res = await call(`/api/v1/chat/${chatId}/messages`, { headers: who.auth });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Json[] }).data;
}

// Polls until the chat's answer is stored (the generation runs on after its asker left).
async function storedAnswer(who: Account, chatId: string, ms = 10_000): Promise<Json> {
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = (await messagesOf(who, chatId)).find((m) => m.role === 'assistant');
    if (answer) return answer;
    if (Date.now() > deadline) throw new Error('no answer stored');
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The call's `requests` rows (written by the request-log consumer): exactly one per turn, whether the
// asker's request logged it (asker stayed) or the room did (asker left first).
async function requestRows(text: string): Promise<{ status: string; dialect: string }[]> {
  const query = () =>
    env.DB.prepare('SELECT status, dialect FROM requests WHERE text = ?')
      .bind(text)
      .all<{ status: string; dialect: string }>();
  const deadline = Date.now() + 10_000;
  while ((await query()).results.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // A second row, if one were coming, would come with the first one's batch or just after.
  await new Promise((r) => setTimeout(r, 300));
  return (await query()).results;
}

class Client {
  readonly frames: Frame[] = [];
  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener('message', (e) => {
      this.frames.push(JSON.parse(String(e.data)) as Frame);
    });
  }

  send(frame: unknown) {
    this.ws.send(JSON.stringify(frame));
  }

  async next(match: (f: Frame) => boolean, ms = 10_000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames).slice(0, 800)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function join(chatId: string, who: Account): Promise<Client> {
  const res = await call(`/ws/chat?chat_id=${chatId}`, { headers: { upgrade: 'websocket', ...who.auth } });
  expect(res.status).toBe(101);
  if (!res.webSocket) throw new Error('no WebSocket');
  return new Client(res.webSocket);
}

describe('resuming a streamed turn with Last-Event-ID', () => {
  it('a stream cut after k events resumes with exactly events k+1..end, live and after the end', async () => {
    const a = await register();
    const chatId = await openaiChat(a);
    const marker = `resume-${crypto.randomUUID()}`;
    const res = await ask(a, chatId, `${marker} ${SLOW}`);
    expect(res.status).toBe(200);
    const asker = new SseReader(res);
    const first = await asker.next();
    expect(first?.data).toMatchObject({ type: 'user_message', message: { content: `${marker} ${SLOW}` } });
    expect(seqOf(first as SseEvent)).toBe(1);
    const turnId = turnOf(first as SseEvent);
    expect(turnId).toBe((first?.data.message as Json).message_id);
    // Cut while the upstream still holds its first token back: the rest arrives as the live tail.
    await asker.cancel();
    const resumed = await resume(a, chatId, `${turnId}:1`);
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('content-type')).toContain('text/event-stream');
    const tail = await new SseReader(resumed).rest();
    expect(tail.map(seqOf)).toEqual(tail.map((_, i) => i + 2));
    expect(tail.every((e) => turnOf(e) === turnId)).toBe(true);
    expect(tail.filter((e) => 'chunk' in e.data).map((e) => e.data.index)).toEqual(chunksOf(tail).map((_, i) => i));
    const last = tail.at(-1) as SseEvent;
    expect(last.data).toMatchObject({ finished: true, message: { role: 'assistant', status: 'complete' } });
    const text = chunksOf(tail).join('');
    expect(text).toBe(`Mock answer to: ${marker}`);
    const stored = await storedAnswer(a, chatId);
    expect(stored).toMatchObject({ status: 'complete', content: text });
    expect((last.data.message as Json).message_id).toBe(stored.message_id);
    // After the end, from the kept events: k = 3 gets 4..end, nothing more and nothing less.
    const later = await new SseReader(await resume(a, chatId, `${turnId}:3`)).rest();
    expect(later).toEqual(tail.slice(2));
    // From the last event: nothing left (204, where an EventSource stops reconnecting).
    expect((await resume(a, chatId, String(last.id))).status).toBe(204);
    // The upstream was called once and never aborted.
    expect((await mockRequests(marker)).map((r) => r.aborted)).toEqual([false]);
  }, 20_000);

  it('without Last-Event-ID follows the turn in flight from its start; with none in flight, 204', async () => {
    const a = await register();
    const chatId = await openaiChat(a);
    expect((await resume(a, chatId)).status).toBe(204);
    const marker = `follow-${crypto.randomUUID()}`;
    const asker = new SseReader(await ask(a, chatId, `${marker} ${SLOW}`));
    const first = (await asker.next()) as SseEvent;
    const watcher = await new SseReader(await resume(a, chatId)).rest();
    const own = [first, ...(await asker.rest())];
    expect(watcher).toEqual(own);
    expect(watcher.map(seqOf)).toEqual(watcher.map((_, i) => i + 1));
    expect(await requestRows(`${marker} ${SLOW}`)).toEqual([{ status: 'completed', dialect: 'chat' }]);
  }, 20_000);

  it('an asker who leaves mid-stream: the answer is still generated and stored complete, upstream not aborted', async () => {
    const a = await register();
    const chatId = await openaiChat(a);
    const marker = `leaver-${crypto.randomUUID()}`;
    const asker = new SseReader(await ask(a, chatId, `${marker} ${SLOW}`));
    expect((await asker.next())?.data.type).toBe('user_message');
    await asker.cancel();
    const stored = await storedAnswer(a, chatId);
    expect(stored).toMatchObject({ status: 'complete', content: `Mock answer to: ${marker}`, model: 'gpt-4o-mini' });
    const seen = await mockRequests(marker);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.aborted).toBe(false);
    // Its asker's request could not wait for the call: the room recorded it, once.
    expect(await requestRows(`${marker} ${SLOW}`)).toEqual([{ status: 'completed', dialect: 'chat' }]);
  }, 20_000);

  it("another user's chat is 404 with or without a valid event id, and leaks nothing", async () => {
    const owner = await register();
    const stranger = await register();
    const viewer = await memberOf(owner, 'viewer');
    const chatId = await openaiChat(owner);
    const marker = `private-${crypto.randomUUID()}`;
    const asker = new SseReader(await ask(owner, chatId, `${marker} ${SLOW}`));
    const first = (await asker.next()) as SseEvent;
    await expectEnvelope(await resume(stranger, chatId), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(await resume(stranger, chatId, String(first.id)), 404, 'RESOURCE_NOT_FOUND');
    // A private chat is not the viewer's either, even in the owner's organization.
    await expectEnvelope(await resume(viewer, chatId, String(first.id)), 404, 'RESOURCE_NOT_FOUND');
    // The owner's turn id through a chat of the stranger's own: not found there either.
    const theirs = await openaiChat(stranger);
    await expectEnvelope(await resume(stranger, theirs, String(first.id)), 404, 'RESOURCE_NOT_FOUND');
    await asker.rest();
  }, 20_000);

  it('a malformed Last-Event-ID is 400, never 500; an unknown or future one is a clear 4xx', async () => {
    const a = await register();
    const chatId = await openaiChat(a);
    const turn = crypto.randomUUID();
    for (const bad of ['garbage', `${turn}`, `${turn}:`, `${turn}:-1`, `${turn}:1.5`, `${turn}:x`, 'x'.repeat(5_000)]) {
      await expectEnvelope(await resume(a, chatId, bad), 400, 'VALIDATION_ERROR');
    }
    const query = await call(`/api/v1/chat/${chatId}/messages/stream?last_event_id=nope`, { headers: a.auth });
    await expectEnvelope(query, 400, 'VALIDATION_ERROR');
    await expectEnvelope(await resume(a, chatId, `${turn}:3`), 404, 'RESOURCE_NOT_FOUND');
    const asker = new SseReader(await ask(a, chatId, `future-${crypto.randomUUID()}`));
    const events = await asker.rest();
    const last = events.at(-1) as SseEvent;
    await expectEnvelope(
      await resume(a, chatId, `${String(turnOf(last))}:${seqOf(last) + 5}`),
      400,
      'VALIDATION_ERROR',
    );
  }, 20_000);
});

describe('joining the room mid-generation', () => {
  it('a member joining gets the history, the generation so far, then the rest, each frame once', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const chatId = await openaiChat(owner, 'organization');
    const asker = await join(chatId, owner);
    await asker.next((f) => f.type === 'history');
    const marker = `join-${crypto.randomUUID()}`;
    asker.send({ type: 'chat', id: 'g1', data: { message: `${marker} ${SLOW}` } });
    await asker.next((f) => f.type === 'start' && f.id === 'g1');
    // Joins while the upstream still holds its first token back.
    const late = await join(chatId, member);
    const complete = await late.next((f) => f.type === 'complete' && f.id === 'g1');
    const types = late.frames.map((f) => f.type);
    expect(types[0]).toBe('history');
    const history = late.frames[0]?.data?.messages as Json[];
    expect(history.map((m) => m.content)).toEqual([`${marker} ${SLOW}`]);
    const ofTurn = late.frames.filter((f) => f.id === 'g1');
    expect(ofTurn.map((f) => f.type)).toEqual(['start', ...ofTurn.slice(1, -1).map(() => 'stream'), 'complete']);
    expect(ofTurn[0]?.data).toMatchObject({ message_id: history[0]?.message_id, user_id: owner.userId });
    const streamed = ofTurn.filter((f) => f.type === 'stream');
    expect(streamed.map((f) => f.data?.index)).toEqual(streamed.map((_, i) => i));
    expect(streamed.map((f) => f.data?.chunk).join('')).toBe(complete.data?.response);
    // What the asker saw of the turn, the late member saw too.
    await asker.next((f) => f.type === 'complete' && f.id === 'g1');
    expect(asker.frames.filter((f) => f.id === 'g1')).toEqual(ofTurn);
    for (const c of [asker, late]) c.ws.close(1000);
  }, 20_000);

  it('a member joining during a streamed HTTP turn gets it so far and live; a `cancel` still stops it', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const chatId = await openaiChat(owner, 'organization');
    const marker = `cancel-${crypto.randomUUID()}`;
    const asker = new SseReader(await ask(owner, chatId, `${marker} ${SLOW}`));
    const first = (await asker.next()) as SseEvent;
    const turnId = String(turnOf(first));
    const watcher = await join(chatId, member);
    expect(await watcher.next((f) => f.type === 'start')).toMatchObject({ id: turnId });
    watcher.send({ type: 'cancel', id: turnId });
    expect(await watcher.next((f) => f.type === 'error' && f.id === turnId)).toMatchObject({
      data: { code: 'CANCELLED' },
    });
    const rest = await asker.rest();
    expect(rest.at(-1)?.data).toMatchObject({ finished: true, message: { status: 'cancelled' } });
    expect(await storedAnswer(owner, chatId)).toMatchObject({ status: 'cancelled' });
    const seen = await mockRequests(marker);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.aborted).toBe(true);
    watcher.ws.close(1000);
  }, 20_000);
});
