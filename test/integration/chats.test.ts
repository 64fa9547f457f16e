import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { memberOf, register, type Account } from '../helpers/auth';
import { call, expectEnvelope, openaiEnv, postJson } from '../helpers/http';
import { dataFrames, parseSse } from '../helpers/sse';

// Seed 004's chats: a persistent conversation in D1 whose turns go through the gateway (limits, quota,
// cache, request log). Private to the owner until shared with the owner's organization.

type Json = Record<string, unknown>;
const LOCAL = { model_id: 'edgeway-local', model_api_source: 'local' };

async function createChat(who: Account, body: Json = LOCAL): Promise<Json> {
  const res = await postJson('/api/v1/chat', body, undefined, who.auth);
  expect(res.status).toBe(201);
  return (await res.json()) as Json;
}

function send(who: Account, chatId: string, body: Json, overrides?: Parameters<typeof postJson>[2]) {
  return postJson(`/api/v1/chat/${chatId}/messages`, body, overrides, who.auth);
}

async function messagesOf(who: Account, chatId: string): Promise<Json[]> {
  const res = await call(`/api/v1/chat/${chatId}/messages`, { headers: who.auth });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Json[] }).data;
}

const rowCount = async (table: string, chatId: string) =>
  (
    await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${table === 'chats' ? 'id' : 'chat_id'} = ?`)
      .bind(chatId)
      .first<{ n: number }>()
  )?.n ?? 0;

describe('chats', () => {
  it('creates a chat with seed 004 fields, lists it newest first, reads, renames and deletes it', async () => {
    const a = await register();
    const first = await createChat(a, { ...LOCAL, title: 'first' });
    expect(first).toMatchObject({
      user_id: a.userId,
      current_model_id: 'edgeway-local',
      current_model_api_source: 'local',
      files: [],
      title: 'first',
      visibility: 'private',
      organization_id: a.organizationId,
    });
    expect(first.chat_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(first.created_timestamp))).not.toBeNaN();
    const second = await createChat(a);
    const list = (await (await call('/api/v1/chat?limit=1', { headers: a.auth })).json()) as {
      data: Json[];
      pagination: Json;
    };
    expect(list.data.map((c) => c.chat_id)).toEqual([second.chat_id]);
    expect(list.pagination).toMatchObject({ total: 2, has_next: true });
    const renamed = await call(`/api/v1/chat/${String(first.chat_id)}`, {
      method: 'PATCH',
      headers: { ...a.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'renamed' }),
    });
    expect(await renamed.json()).toMatchObject({ title: 'renamed' });
    const gone = await call(`/api/v1/chat/${String(first.chat_id)}`, { method: 'DELETE', headers: a.auth });
    expect(gone.status).toBe(204);
    await expectEnvelope(
      await call(`/api/v1/chat/${String(first.chat_id)}`, { headers: a.auth }),
      404,
      'RESOURCE_NOT_FOUND',
    );
  });

  it('refuses unknown providers, bad bodies and foreign keys with 400, never 500', async () => {
    const a = await register();
    await expectEnvelope(
      await postJson('/api/v1/chat', { model_id: 'x', model_api_source: 'nope' }, undefined, a.auth),
      400,
      'VALIDATION_ERROR',
    );
    await expectEnvelope(await postJson('/api/v1/chat', { model_id: 'x' }, undefined, a.auth), 400, 'VALIDATION_ERROR');
    await expectEnvelope(
      await postJson('/api/v1/chat', { ...LOCAL, user_id: 'someone' }, undefined, a.auth),
      400,
      'VALIDATION_ERROR',
    );
    const chat = await createChat(a);
    await expectEnvelope(await send(a, String(chat.chat_id), {}), 400, 'VALIDATION_ERROR');
    await expectEnvelope(await send(a, String(chat.chat_id), { content: 'x'.repeat(40_000) }), 400, 'VALIDATION_ERROR');
    await expectEnvelope(
      await send(a, String(chat.chat_id), { content: 'hi', files: [crypto.randomUUID()] }),
      400,
      'VALIDATION_ERROR',
    );
    expect(await rowCount('messages', String(chat.chat_id))).toBe(0);
    const bad = await call(`/api/v1/chat/${String(chat.chat_id)}/messages`, {
      method: 'POST',
      headers: { ...a.auth, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
  });

  it('needs credentials', async () => {
    await expectEnvelope(await call('/api/v1/chat'), 401, 'AUTHENTICATION_REQUIRED');
    await expectEnvelope(await postJson('/api/v1/chat', LOCAL), 401, 'AUTHENTICATION_REQUIRED');
  });
});

describe('a turn', () => {
  it('stores the message, answers through the gateway and stores the answer, in order', async () => {
    const a = await register();
    const chatId = String((await createChat(a)).chat_id);
    const res = await send(a, chatId, { content: 'hello chat' });
    expect(res.status).toBe(201);
    const turn = (await res.json()) as { user_message: Json; assistant_message: Json };
    expect(turn.user_message).toMatchObject({
      role: 'user',
      content: 'hello chat',
      user_id: a.userId,
      chat_id: chatId,
    });
    expect(turn.assistant_message).toMatchObject({ role: 'assistant', status: 'complete', model: 'edgeway-local' });
    expect(String(turn.assistant_message.content)).toContain('You said "hello chat"');
    expect(res.headers.get('x-cache-status')).toBeTruthy();
    await send(a, chatId, { message: 'second' });
    const all = await messagesOf(a, chatId);
    expect(all.map((m) => [m.role, m.content === 'second' || m.content === 'hello chat' ? m.content : '…'])).toEqual([
      ['user', 'hello chat'],
      ['assistant', '…'],
      ['user', 'second'],
      ['assistant', '…'],
    ]);
  });

  it('gives the model the conversation so far and text files inline', async () => {
    const a = await register();
    const created = await postJson(
      '/api/v1/chat',
      { model_id: 'gpt-4o-mini', model_api_source: 'openai' },
      openaiEnv(),
      a.auth,
    );
    const chatId = String(((await created.json()) as Json).chat_id);
    // A stored text file of this chat, as an upload would leave it.
    const fileId = crypto.randomUUID();
    const key = `chats/${chatId}/${fileId}`;
    const marker = `notes-${crypto.randomUUID()}`;
    await env.FILES.put(key, `the file says ${marker}`);
    await env.DB.prepare(
      'INSERT INTO files (id, chat_id, user_id, filename, content_type, size, sha256, object_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
      .bind(fileId, chatId, a.userId, 'notes.txt', 'text/plain', 10, 'x', key)
      .run();
    const earlier = `earlier-${crypto.randomUUID()}`;
    expect((await send(a, chatId, { content: earlier }, openaiEnv())).status).toBe(201);
    expect((await send(a, chatId, { content: 'and now?', files: [fileId] }, openaiEnv())).status).toBe(201);
    const seen = (await (await fetch(`${env.MOCK_UPSTREAM_URL}/__mock/requests?contains=${marker}`)).json()) as {
      body: string;
    }[];
    expect(seen).toHaveLength(1);
    const body = JSON.parse(seen[0]?.body ?? '{}') as { messages: { role: string; content: string }[] };
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(body.messages[0]?.content).toBe(earlier);
    expect(body.messages[2]?.content).toContain('[file: notes.txt]');
    expect(body.messages[2]?.content).toContain(marker);
  });

  it('streams: the stored user message, the chunks, then the stored answer', async () => {
    const a = await register();
    const chatId = String((await createChat(a)).chat_id);
    const res = await send(a, chatId, { content: 'stream me', stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const frames = dataFrames(parseSse(await res.text())) as Json[];
    expect(frames[0]).toMatchObject({ type: 'user_message', message: { role: 'user', content: 'stream me' } });
    const chunks = frames.filter((f) => 'chunk' in f).map((f) => String(f.chunk));
    const last = frames.at(-1) as { finished: boolean; message: Json };
    expect(last.finished).toBe(true);
    expect(last.message).toMatchObject({ role: 'assistant', status: 'complete', content: chunks.join('') });
    const stored = await messagesOf(a, chatId);
    expect(stored.map((m) => m.message_id)).toEqual([
      (frames[0] as { message: Json }).message.message_id,
      last.message.message_id,
    ]);
  });

  it('stores nothing when the quota refuses the turn', async () => {
    const a = await register();
    const chatId = String((await createChat(a)).chat_id);
    await env.DB.prepare('UPDATE organizations SET api_quota_limit = 0 WHERE id = ?').bind(a.organizationId).run();
    await expectEnvelope(await send(a, chatId, { content: 'over quota' }), 429, 'QUOTA_EXCEEDED');
    expect(await rowCount('messages', chatId)).toBe(0);
  });
});

describe('who may see and change a chat', () => {
  it("another user's chat is 404 on every route, and nothing changes", async () => {
    const a = await register();
    const b = await register();
    const chatId = String((await createChat(a, { ...LOCAL, title: 'mine' })).chat_id);
    await send(a, chatId, { content: 'private words' });
    const path = `/api/v1/chat/${chatId}`;
    const json = { ...b.auth, 'content-type': 'application/json' };
    for (const res of [
      await call(path, { headers: b.auth }),
      await call(`${path}/messages`, { headers: b.auth }),
      await call(path, { method: 'PATCH', headers: json, body: JSON.stringify({ title: 'theirs' }) }),
      await call(path, { method: 'DELETE', headers: b.auth }),
      await send(b, chatId, { content: 'intrude' }),
    ]) {
      await expectEnvelope(res, 404, 'RESOURCE_NOT_FOUND');
    }
    const list = (await (await call('/api/v1/chat', { headers: b.auth })).json()) as { data: Json[] };
    expect(list.data).toEqual([]);
    expect(await rowCount('messages', chatId)).toBe(2);
    expect(await (await call(path, { headers: a.auth })).json()).toMatchObject({ title: 'mine' });
    // Not a UUID: 404 as well, never a 500.
    await expectEnvelope(await call('/api/v1/chat/not-a-chat', { headers: a.auth }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('shared with the organization: members read and write, viewers only read, outsiders see nothing', async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const viewer = await memberOf(owner, 'viewer');
    const outsider = await register();
    const chatId = String((await createChat(owner)).chat_id);
    // Private: even the organization's members cannot see it.
    await expectEnvelope(await call(`/api/v1/chat/${chatId}`, { headers: member.auth }), 404, 'RESOURCE_NOT_FOUND');
    const shared = await call(`/api/v1/chat/${chatId}`, {
      method: 'PATCH',
      headers: { ...owner.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ visibility: 'organization' }),
    });
    expect(await shared.json()).toMatchObject({ visibility: 'organization' });
    expect((await send(member, chatId, { content: 'from a member' })).status).toBe(201);
    expect(await messagesOf(viewer, chatId)).toHaveLength(2);
    await expectEnvelope(await send(viewer, chatId, { content: 'from a viewer' }), 403, 'INSUFFICIENT_PERMISSIONS');
    // Only the owner renames, unshares or deletes.
    await expectEnvelope(
      await call(`/api/v1/chat/${chatId}`, { method: 'DELETE', headers: member.auth }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    for (const res of [
      await call(`/api/v1/chat/${chatId}`, { headers: outsider.auth }),
      await send(outsider, chatId, { content: 'outside' }),
    ]) {
      await expectEnvelope(res, 404, 'RESOURCE_NOT_FOUND');
    }
    expect(await rowCount('messages', chatId)).toBe(2);
    const listed = (await (await call('/api/v1/chat', { headers: viewer.auth })).json()) as { data: Json[] };
    expect(listed.data.map((c) => c.chat_id)).toEqual([chatId]);
  });

  it('deleting a chat deletes its messages, its file rows and every object under its prefix', async () => {
    const a = await register();
    const chatId = String((await createChat(a)).chat_id);
    await send(a, chatId, { content: 'to be deleted' });
    const keys = Array.from({ length: 3 }, () => `chats/${chatId}/${crypto.randomUUID()}`);
    for (const key of keys) await env.FILES.put(key, 'bytes');
    await env.DB.prepare(
      'INSERT INTO files (id, chat_id, user_id, filename, content_type, size, sha256, object_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
      .bind(keys[0]?.split('/')[2], chatId, a.userId, 'a.txt', 'text/plain', 5, 'x', keys[0])
      .run();
    expect((await call(`/api/v1/chat/${chatId}`, { method: 'DELETE', headers: a.auth })).status).toBe(204);
    expect(await rowCount('messages', chatId)).toBe(0);
    expect(await rowCount('files', chatId)).toBe(0);
    expect((await env.FILES.list({ prefix: `chats/${chatId}/` })).objects).toEqual([]);
  });
});
