import { env } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { register, type Account } from '../helpers/auth';
import { call, expectEnvelope, mockRequests, openaiEnv, postJson, type EnvOverrides } from '../helpers/http';
import { loadConfig } from '../../src/config';
import { getProvider } from '../../src/features/providers';

// Issue 12 item 3: a chat message that references image files of its chat gives them to a vision model as
// image parts, in each vendor's own wire shape (checked on what the mock upstream received); other models
// and other types are refused before anything is stored; two different images never share a cached answer.

// Megabyte uploads and several turns per test on a loaded machine.
vi.setConfig({ testTimeout: 30_000 });

type Json = Record<string, unknown>;

// Real images, made with sharp: 4×4 PNGs (red, green) and an 8×8 JPEG (blue).
const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const RED_PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEElEQVQImWM4IScHRwzEcQCxYxBB16puEAAAAABJRU5ErkJggg==';
const GREEN_PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEElEQVQImWOQOyEHRwzEcQCmwxBBhJEuBwAAAABJRU5ErkJggg==';
const BLUE_JPEG_B64 =
  '/9j/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAAAAAAAAAAAAAABAb/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCOAWI7/9k=';

const enc = new TextEncoder();
const B = 'edgeway-vision-boundary-41c2';

interface Upload {
  name: string;
  type: string;
  bytes: Uint8Array;
}

function multipart(parts: Upload[]): Uint8Array {
  const pieces = parts.flatMap((p) => [
    enc.encode(
      `--${B}\r\nContent-Disposition: form-data; name="files"; filename="${p.name}"\r\nContent-Type: ${p.type}\r\n\r\n`,
    ),
    p.bytes,
    enc.encode('\r\n'),
  ]);
  pieces.push(enc.encode(`--${B}--\r\n`));
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Both vendors point at the mock upstream.
const vendors = (): EnvOverrides =>
  openaiEnv({ ANTHROPIC_API_KEY: 'sk-ant-vision-canary', ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL });

async function createChat(who: Account, source: string, model: string): Promise<string> {
  const res = await postJson('/api/v1/chat', { model_id: model, model_api_source: source }, vendors(), who.auth);
  expect(res.status).toBe(201);
  return String(((await res.json()) as Json).chat_id);
}

// Uploads through the real route (types sniffed and stored by it) and returns the file ids in order.
async function upload(who: Account, chatId: string, parts: Upload[]): Promise<string[]> {
  const res = await call(
    `/api/v1/chat/${chatId}/upload`,
    {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${B}`, ...who.auth },
      body: multipart(parts),
    },
    vendors(),
  );
  expect(res.status).toBe(201);
  const { data } = (await res.json()) as { data: { fileid: string; content_type: string }[] };
  expect(data.map((f) => f.content_type)).toEqual(parts.map((p) => p.type));
  return data.map((f) => f.fileid);
}

function send(who: Account, chatId: string, body: Json) {
  return postJson(`/api/v1/chat/${chatId}/messages`, body, vendors(), who.auth);
}

const messageRows = async (chatId: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM messages WHERE chat_id = ?').bind(chatId).first<{ n: number }>())
    ?.n ?? -1;

// The one upstream request whose body holds `marker`, parsed.
async function upstreamBody(marker: string): Promise<{ path: string; body: Json }> {
  const seen = await mockRequests(marker);
  expect(seen).toHaveLength(1);
  return { path: seen[0]?.path ?? '', body: JSON.parse(seen[0]?.body ?? '{}') as Json };
}

const PNG = { name: 'red.png', type: 'image/png', bytes: fromBase64(RED_PNG_B64) };
const JPEG = { name: 'blue.jpg', type: 'image/jpeg', bytes: fromBase64(BLUE_JPEG_B64) };

describe('images in chat messages go to vision models in their vendor wire shape', () => {
  it('OpenAI: image_url parts holding data: URLs of the stored bytes, then the words', async () => {
    const a = await register();
    const chatId = await createChat(a, 'openai', 'gpt-4o');
    const ids = await upload(a, chatId, [PNG, JPEG]);
    const marker = `what-is-this-${crypto.randomUUID()}`;
    const res = await send(a, chatId, { content: marker, files: ids });
    expect(res.status).toBe(201);
    const turn = (await res.json()) as { user_message: Json; assistant_message: Json };
    // Stored as the member wrote it: the words and the file ids, no bytes.
    expect(turn.user_message).toMatchObject({ content: marker, files: ids });
    expect(turn.assistant_message).toMatchObject({ status: 'complete', content: `Mock answer to: ${marker}` });
    const { path, body } = await upstreamBody(marker);
    expect(path).toBe('/v1/chat/completions');
    expect(body.model).toBe('gpt-4o');
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${RED_PNG_B64}` } },
          { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${BLUE_JPEG_B64}` } },
          { type: 'text', text: marker },
        ],
      },
    ]);
    // The next turn is text only again: the earlier image is not sent twice, its message is plain text.
    const next = `and-now-${crypto.randomUUID()}`;
    expect((await send(a, chatId, { content: next })).status).toBe(201);
    const later = await upstreamBody(next);
    expect((later.body.messages as Json[]).map((m) => typeof m.content)).toEqual(['string', 'string', 'string']);
  });

  it('Anthropic: base64 image blocks with the media type, then a text block', async () => {
    const a = await register();
    const chatId = await createChat(a, 'anthropic', 'claude-3-5-sonnet-latest');
    const ids = await upload(a, chatId, [JPEG, PNG]);
    const marker = `describe-${crypto.randomUUID()}`;
    const res = await send(a, chatId, { content: marker, files: ids, system_prompt: 'Be brief.' });
    expect(res.status).toBe(201);
    const { path, body } = await upstreamBody(marker);
    expect(path).toBe('/v1/messages');
    expect(body.model).toBe('claude-3-5-sonnet-latest');
    expect(body.system).toBe('Be brief.');
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: BLUE_JPEG_B64 } },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: RED_PNG_B64 } },
          { type: 'text', text: marker },
        ],
      },
    ]);
  });

  // A streamed turn is run by the chat's room, whose env the test cannot point at the mock upstream; the
  // providers' stream requests are checked here directly, built from the same parts.
  it('streamed calls carry the same parts (OpenAI and Anthropic providers)', async () => {
    const config = loadConfig({ ...env, ...vendors() });
    for (const [id, model] of [
      ['openai', 'gpt-4o'],
      ['anthropic', 'claude-3-5-sonnet-latest'],
    ] as const) {
      const marker = `stream-${id}-${crypto.randomUUID()}`;
      const events = getProvider(id).stream(
        {
          model,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'image', mediaType: 'image/jpeg', data: BLUE_JPEG_B64 },
                { type: 'text', text: marker },
              ],
            },
          ],
        },
        { config, signal: new AbortController().signal },
      );
      let text = '';
      for await (const e of events) if (e.type === 'delta') text += e.text;
      expect(text).toBe(`Mock answer to: ${marker}`);
      const { body } = await upstreamBody(marker);
      expect(body.stream).toBe(true);
      expect((body.messages as { content: unknown }[])[0]?.content).toEqual(
        id === 'openai'
          ? [
              { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${BLUE_JPEG_B64}` } },
              { type: 'text', text: marker },
            ]
          : [
              { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: BLUE_JPEG_B64 } },
              { type: 'text', text: marker },
            ],
      );
    }
  });

  it('a fallback that cannot see images is skipped, not asked about a picture it never got', async () => {
    const a = await register();
    const chatId = await createChat(a, 'openai', 'gpt-4o');
    const [png] = await upload(a, chatId, [PNG]);
    const overrides = { ...vendors(), FALLBACK_MODELS: 'edgeway-local', RETRY_MAX_RETRIES: '0' };
    const post = (body: Json) => postJson(`/api/v1/chat/${chatId}/messages`, body, overrides, a.auth);
    // Text only, the local model stands in for the failing primary...
    const text = await post({ content: `words [[fault:500]] ${crypto.randomUUID()}` });
    expect(text.status).toBe(201);
    expect(((await text.json()) as { assistant_message: Json }).assistant_message.model).toBe('edgeway-local');
    // ...but with an image the primary's failure is the answer.
    const res = await post({ content: `picture [[fault:500]] ${crypto.randomUUID()}`, files: [png] });
    expect(res.status).toBe(502);
  });
});

describe('what a message may not carry', () => {
  it('an image to a model without vision: 400 naming the type and the model, nothing stored or sent', async () => {
    const a = await register();
    const chatId = await createChat(a, 'openai', 'gpt-4');
    const [png] = await upload(a, chatId, [PNG]);
    const marker = `blind-${crypto.randomUUID()}`;
    const err = await expectEnvelope(await send(a, chatId, { content: marker, files: [png] }), 400, 'VALIDATION_ERROR');
    const detail = err.error.details?.[0];
    expect(detail?.field).toBe('files[0]');
    expect(detail?.message).toContain('image/png');
    expect(detail?.message).toContain('openai:gpt-4');
    expect(await messageRows(chatId)).toBe(0);
    expect(await mockRequests(marker)).toEqual([]);
  });

  it('audio and PDF files: 400 naming the type and the model, even for a vision model', async () => {
    const a = await register();
    const chatId = await createChat(a, 'openai', 'gpt-4o');
    const [mp3, pdf] = await upload(a, chatId, [
      { name: 'voice.mp3', type: 'audio/mpeg', bytes: new Uint8Array([...enc.encode('ID3'), 4, 0, 0, 0, 0, 0, 9]) },
      { name: 'doc.pdf', type: 'application/pdf', bytes: enc.encode('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n') },
    ]);
    for (const [id, type] of [
      [mp3, 'audio/mpeg'],
      [pdf, 'application/pdf'],
    ] as const) {
      const err = await expectEnvelope(
        await send(a, chatId, { content: 'listen', files: [id] }),
        400,
        'VALIDATION_ERROR',
      );
      expect(err.error.details?.[0]?.message).toContain(type);
      expect(err.error.details?.[0]?.message).toContain('openai:gpt-4o');
    }
    expect(await messageRows(chatId)).toBe(0);
  });

  it("a file of another chat, or of another user's chat, is not this chat's: 400; their chat is 404", async () => {
    const a = await register();
    const b = await register();
    const mine = await createChat(a, 'openai', 'gpt-4o');
    const myOther = await createChat(a, 'openai', 'gpt-4o');
    const theirs = await createChat(b, 'openai', 'gpt-4o');
    const [otherChatImage] = await upload(a, myOther, [PNG]);
    const [theirImage] = await upload(b, theirs, [PNG]);
    for (const id of [otherChatImage, theirImage]) {
      const err = await expectEnvelope(await send(a, mine, { content: 'look', files: [id] }), 400, 'VALIDATION_ERROR');
      expect(err.error.details?.[0]?.message).toBe(`No file ${id} in this chat`);
    }
    await expectEnvelope(await send(a, theirs, { content: 'look', files: [theirImage] }), 404, 'RESOURCE_NOT_FOUND');
    expect(await messageRows(mine)).toBe(0);
    expect(await messageRows(theirs)).toBe(0);
  });

  it('images over the per-image size or the per-message count: 400, nothing stored', async () => {
    const a = await register();
    const chatId = await createChat(a, 'anthropic', 'claude-3-5-sonnet-latest');
    // A PNG signature followed by 3.75 MiB + 1 byte: one byte over what Anthropic takes as base64 (5 MiB).
    const big = new Uint8Array(3_932_161);
    big.set(fromBase64(RED_PNG_B64).subarray(0, 16));
    const [huge] = await upload(a, chatId, [{ name: 'huge.png', type: 'image/png', bytes: big }]);
    const tooBig = await expectEnvelope(
      await send(a, chatId, { content: 'x', files: [huge] }),
      400,
      'VALIDATION_ERROR',
    );
    expect(tooBig.error.details?.[0]?.message).toContain('3932160');
    const five = await upload(
      a,
      chatId,
      Array.from({ length: 5 }, (_, i) => ({ ...PNG, name: `p${i}.png` })),
    );
    const tooMany = await expectEnvelope(await send(a, chatId, { content: 'x', files: five }), 400, 'VALIDATION_ERROR');
    expect(tooMany.error.details?.[0]).toEqual({ field: 'files', message: 'At most 4 images per message' });
    expect(await messageRows(chatId)).toBe(0);
    // Four are fine.
    expect((await send(a, chatId, { content: 'four', files: five.slice(0, 4) })).status).toBe(201);
  });
});

describe('the cache tells images apart', () => {
  it('the same words with two different images are two misses; the same image again is a hit', async () => {
    const a = await register();
    const words = `which colour is this? ${crypto.randomUUID()}`;
    const turn = async (image: Upload) => {
      const chatId = await createChat(a, 'openai', 'gpt-4o-mini');
      const [id] = await upload(a, chatId, [image]);
      const res = await send(a, chatId, { content: words, files: [id] });
      expect(res.status).toBe(201);
      return res.headers.get('x-cache-status');
    };
    expect(await turn(PNG)).toBe('MISS');
    expect(await turn({ name: 'green.png', type: 'image/png', bytes: fromBase64(GREEN_PNG_B64) })).toBe('MISS');
    // Both reached the upstream, each with its own image.
    const seen = (await mockRequests(words)).map((r) => r.body);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toContain(RED_PNG_B64);
    expect(seen[1]).toContain(GREEN_PNG_B64);
    // The key still caches: the first image again is answered from the cache, nothing sent upstream.
    expect(await turn({ ...PNG, name: 'again.png' })).toBe('HIT');
    expect(await mockRequests(words)).toHaveLength(2);
  });
});
