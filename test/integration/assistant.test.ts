import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../src';
import { memberOf, register, type Account } from '../helpers/auth';
import {
  BASE,
  call,
  type EnvOverrides,
  expectEnvelope,
  mockRequests,
  OPENAI_CANARY_KEY,
  openaiEnv,
  postJson,
} from '../helpers/http';

// Issue 14 items 1 and 3: POST /api/v1/run (text, images, audio, video; inline or by file id; JSON or
// multipart; with tools) and POST /api/v1/run/audio (the answer as speech), against the local provider and
// the mock upstream's OpenAI wire (chat, audio/transcriptions, audio/speech), Anthropic Messages and Bedrock Converse.

vi.setConfig({ testTimeout: 30_000 });

type Json = Record<string, unknown>;

interface Run {
  id: string;
  status: string;
  answer_mode: string;
  model: string;
  chat_id: string | null;
  request_id: string;
  input: { prompt: string; transcript: string | null; media: Json[] };
  answer: string | null;
  tool_calls: { id: string; round: number; name: string; arguments: string; result: unknown; error: string | null }[];
  rounds: number;
  stopped_by: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

const enc = new TextEncoder();
const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

// Real images (sharp): a 4×4 PNG and an 8×8 JPEG.
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEElEQVQImWM4IScHRwzEcQCxYxBB16puEAAAAABJRU5ErkJggg==';
const JPEG_B64 =
  '/9j/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAAAAAAAAAAAAAABAb/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCOAWI7/9k=';
// The first bytes of an MP4 (ftyp isom) — enough for its signature.
const MP4 = Uint8Array.from([
  0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0x69, 0x73, 0x6f, 0x6d, 0x69, 0x73, 0x6f,
  0x32, 0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65,
]);

// A WAV (PCM 16-bit mono, 8 kHz, `samples` of silence) whose LIST/INFO/ICMT chunk says `text`: written
// here independently of the code under test.
function wav(text: string, samples = 400): Uint8Array {
  const comment = enc.encode(`${text}\0`);
  const padded = comment.length + (comment.length % 2);
  const size = 12 + 24 + 12 + 8 + padded + 8 + samples * 2;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => out.set(enc.encode(s), at);
  put(0, 'RIFF');
  v.setUint32(4, size - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, 8000, true);
  v.setUint32(28, 16000, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  put(36, 'LIST');
  v.setUint32(40, 4 + 8 + padded, true);
  put(44, 'INFO');
  put(48, 'ICMT');
  v.setUint32(52, comment.length, true);
  out.set(comment, 56);
  const data = 56 + padded;
  put(data, 'data');
  v.setUint32(data + 4, samples * 2, true);
  return out;
}

interface ParsedWav {
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  format: number;
  dataBytes: number;
  text: string | undefined;
}

// Walks a RIFF/WAVE file's chunks, checking every size against the bytes.
function parseWav(bytes: Uint8Array): ParsedWav {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  expect(id(0)).toBe('RIFF');
  expect(v.getUint32(4, true)).toBe(bytes.length - 8);
  expect(id(8)).toBe('WAVE');
  const out: Partial<ParsedWav> = {};
  let at = 12;
  while (at < bytes.length) {
    const chunk = id(at);
    const size = v.getUint32(at + 4, true);
    expect(at + 8 + size).toBeLessThanOrEqual(bytes.length);
    if (chunk === 'fmt ') {
      out.format = v.getUint16(at + 8, true);
      out.channels = v.getUint16(at + 10, true);
      out.sampleRate = v.getUint32(at + 12, true);
      expect(v.getUint32(at + 16, true)).toBe(out.sampleRate * 2);
      out.bitsPerSample = v.getUint16(at + 22, true);
    } else if (chunk === 'LIST' && id(at + 8) === 'INFO' && id(at + 12) === 'ICMT') {
      const n = v.getUint32(at + 16, true);
      const raw = bytes.subarray(at + 20, at + 20 + n);
      const end = raw.indexOf(0);
      out.text = new TextDecoder().decode(end === -1 ? raw : raw.subarray(0, end));
    } else if (chunk === 'data') {
      out.dataBytes = size;
    }
    at += 8 + size + (size % 2);
  }
  expect(at).toBe(bytes.length);
  return out as ParsedWav;
}

const B = 'edgeway-assistant-boundary-7f3a';

type FormItem = { name: string; value: string } | { name: string; filename: string; type: string; bytes: Uint8Array };

function multipart(items: FormItem[]): Uint8Array {
  const pieces = items.flatMap((p) =>
    'bytes' in p
      ? [
          enc.encode(
            `--${B}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: ${p.type}\r\n\r\n`,
          ),
          p.bytes,
          enc.encode('\r\n'),
        ]
      : [enc.encode(`--${B}\r\nContent-Disposition: form-data; name="${p.name}"\r\n\r\n${p.value}\r\n`)],
  );
  pieces.push(enc.encode(`--${B}--\r\n`));
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const run = (who: Account | undefined, body: Json, overrides?: EnvOverrides, path = '/api/v1/run') =>
  postJson(path, body, overrides, who?.auth ?? {});

const runForm = (who: Account, items: FormItem[], overrides?: EnvOverrides, path = '/api/v1/run') =>
  call(
    path,
    {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${B}`, ...who.auth },
      body: multipart(items),
    },
    overrides,
  );

async function ok(res: Response): Promise<Run> {
  const text = await res.text();
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status} ${text}`);
  return JSON.parse(text) as Run;
}

const runRows = async (userId: string) =>
  (
    await env.DB.prepare('SELECT COUNT(*) AS n FROM assistant_runs WHERE user_id = ?')
      .bind(userId)
      .first<{ n: number }>()
  )?.n ?? -1;

async function storedRun(id: string): Promise<Json | null> {
  return env.DB.prepare('SELECT * FROM assistant_runs WHERE id = ?').bind(id).first<Json>();
}

async function createChat(who: Account): Promise<string> {
  const res = await postJson(
    '/api/v1/chat',
    { model_id: 'edgeway-local', model_api_source: 'local' },
    undefined,
    who.auth,
  );
  expect(res.status).toBe(201);
  return String(((await res.json()) as Json).chat_id);
}

async function upload(who: Account, chatId: string, name: string, type: string, bytes: Uint8Array): Promise<string> {
  const res = await call(`/api/v1/chat/${chatId}/upload`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${B}`, ...who.auth },
    body: multipart([{ name: 'files', filename: name, type, bytes }]),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { data: { fileid: string }[] }).data[0]?.fileid ?? '';
}

// The one upstream request whose body holds `marker`.
async function upstream(marker: string): Promise<{ path: string; body: string; headers: Record<string, string> }> {
  const seen = await mockRequests(marker);
  expect(seen).toHaveLength(1);
  return seen[0] as { path: string; body: string; headers: Record<string, string> };
}

const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

describe('POST /run: text', () => {
  it('answers with the local provider, stores the run, and reads it back (its owner only)', async () => {
    const a = await register();
    const prompt = unique('hello local');
    const res = await run(a, { prompt, model: 'local:edgeway-local' });
    const body = await ok(res);
    expect(res.headers.get('x-run-id')).toBe(body.id);
    expect(body).toMatchObject({
      status: 'completed',
      answer_mode: 'text',
      model: 'local:edgeway-local',
      chat_id: null,
      input: { prompt, transcript: null, media: [] },
      tool_calls: [],
      rounds: 1,
      stopped_by: 'answer',
    });
    expect(body.answer).toContain(`You said "${prompt}"`);
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    const row = await storedRun(body.id);
    expect(row).toMatchObject({ user_id: a.userId, organization_id: a.organizationId, answer: body.answer });

    const again = await call(`/api/v1/run/${body.id}`, { headers: a.auth });
    expect(((await again.json()) as Run).answer).toBe(body.answer);
    const b = await register();
    await expectEnvelope(await call(`/api/v1/run/${body.id}`, { headers: b.auth }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('speaks the OpenAI wire to the mock upstream, and the call is in the request log', async () => {
    const a = await register();
    const prompt = unique('hello mock');
    const res = await run(a, { message: prompt, model: 'openai:gpt-4o-mini' }, openaiEnv());
    const body = await ok(res);
    expect(body.answer).toBe(`Mock answer to: ${prompt}`);
    expect(body.model).toBe('openai:gpt-4o-mini');
    const seen = await upstream(prompt);
    expect(seen.path).toBe('/v1/chat/completions');
    expect(JSON.parse(seen.body)).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: prompt }],
    });
    // Counted and logged like every gateway call: its `requests` row, under this request's id.
    const requestId = res.headers.get('x-request-id');
    await vi.waitFor(
      async () => {
        const row = await env.DB.prepare('SELECT dialect, status, user_id FROM requests WHERE request_id = ?')
          .bind(requestId)
          .first<Json>();
        expect(row).toMatchObject({ dialect: 'assistant', status: 'completed', user_id: a.userId });
      },
      { timeout: 5_000, interval: 100 },
    );
  });

  it('takes multipart/form-data fields as it takes JSON', async () => {
    const a = await register();
    const prompt = unique('form prompt');
    const body = await ok(
      await runForm(
        a,
        [
          { name: 'prompt', value: prompt },
          { name: 'model', value: 'openai:gpt-4o-mini' },
        ],
        openaiEnv(),
      ),
    );
    expect(body.answer).toBe(`Mock answer to: ${prompt}`);
  });

  it('refuses a request without credentials (401), a run without a prompt (400) and unknown fields (400)', async () => {
    await expectEnvelope(
      await run(undefined, { prompt: 'hi' }, { ALLOW_ANONYMOUS: 'false' }),
      401,
      'AUTHENTICATION_REQUIRED',
    );
    const a = await register();
    await expectEnvelope(await run(a, { model: 'local:edgeway-local' }), 400, 'VALIDATION_ERROR');
    await expectEnvelope(await run(a, { prompt: 'hi', base_url: 'http://evil' }), 400, 'VALIDATION_ERROR');
    expect(await runRows(a.userId)).toBe(0);
  });

  it('stores nothing and calls no model when the quota refuses the run', async () => {
    const a = await register();
    await env.DB.prepare('UPDATE organizations SET api_quota_limit = 0 WHERE id = ?').bind(a.organizationId).run();
    const marker = unique('over quota');
    const audio = { data: toBase64(wav(marker)), media_type: 'audio/wav' };
    const overrides = openaiEnv({ ASSISTANT_TRANSCRIPTION_MODEL: 'openai:whisper-1' });
    await expectEnvelope(
      await run(a, { prompt: marker, audio, model: 'openai:gpt-4o-mini' }, overrides),
      429,
      'QUOTA_EXCEEDED',
    );
    expect(await runRows(a.userId)).toBe(0);
    expect(await mockRequests(marker)).toHaveLength(0);
  });
});

describe('POST /run: images', () => {
  it('gives inline images (JSON) and image parts (multipart) to a vision model as image parts', async () => {
    const a = await register();
    const prompt = unique('what is this');
    const body = await ok(
      await run(
        a,
        {
          prompt,
          model: 'openai:gpt-4o',
          images: [{ data: PNG_B64, media_type: 'image/png' }, { data: `data:image/jpeg;base64,${JPEG_B64}` }],
        },
        openaiEnv(),
      ),
    );
    expect(body.input.media).toEqual([
      { kind: 'image', media_type: 'image/png', bytes: fromBase64(PNG_B64).length, source: 'inline' },
      { kind: 'image', media_type: 'image/jpeg', bytes: fromBase64(JPEG_B64).length, source: 'inline' },
    ]);
    const sent = JSON.parse((await upstream(prompt)).body) as { messages: Json[] };
    expect(sent.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } },
          { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG_B64}` } },
          { type: 'text', text: prompt },
        ],
      },
    ]);

    const formPrompt = unique('form image');
    await ok(
      await runForm(
        a,
        [
          { name: 'prompt', value: formPrompt },
          { name: 'model', value: 'openai:gpt-4o' },
          { name: 'images', filename: 'red.png', type: 'image/png', bytes: fromBase64(PNG_B64) },
        ],
        openaiEnv(),
      ),
    );
    const formSent = JSON.parse((await upstream(formPrompt)).body) as { messages: { content: Json[] }[] };
    expect(formSent.messages[0]?.content[0]).toEqual({
      type: 'image_url',
      image_url: { url: `data:image/png;base64,${PNG_B64}` },
    });
  });

  it('refuses images for a model without vision, naming it, before anything is called or stored', async () => {
    const a = await register();
    const prompt = unique('blind');
    const res = await run(
      a,
      { prompt, model: 'openai:gpt-3.5-turbo', images: [{ data: PNG_B64, media_type: 'image/png' }] },
      openaiEnv(),
    );
    const err = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(err.error.message).toContain('openai:gpt-3.5-turbo');
    expect(err.error.message).toContain('image');
    const local = await expectEnvelope(
      await run(a, { prompt, images: [{ data: PNG_B64, media_type: 'image/png' }], model: 'local:edgeway-local' }),
      400,
      'VALIDATION_ERROR',
    );
    expect(local.error.message).toContain('local:edgeway-local');
    expect(await mockRequests(prompt)).toHaveLength(0);
    expect(await runRows(a.userId)).toBe(0);
  });
});

// The same run over the Anthropic Messages and Bedrock Converse wires (the mock speaks both): text, images
// where the model has vision, the tool loop with results sent back in the vendor's own terms, and the bound.
const OTHER_WIRES = [
  {
    wire: 'anthropic',
    model: 'anthropic:claude-3-5-haiku-latest',
    vision: 'anthropic:claude-3-5-sonnet-latest',
    path: '/v1/messages',
    env: (): EnvOverrides => ({ ANTHROPIC_API_KEY: 'sk-ant-run-canary', ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL }),
  },
  {
    wire: 'bedrock',
    model: 'bedrock:anthropic.claude-3-haiku-20240307-v1:0',
    vision: undefined,
    path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse',
    env: (): EnvOverrides => ({
      AWS_ACCESS_KEY_ID: 'AKIDRUNTEST',
      AWS_SECRET_ACCESS_KEY: 'run-test-secret-key',
      AWS_REGION: 'us-east-1',
      BEDROCK_BASE_URL: env.MOCK_UPSTREAM_URL,
    }),
  },
] as const;

describe.each(OTHER_WIRES)(
  'POST /run over the $wire wire (mock upstream)',
  ({ wire, model, vision, path, env: wireEnv }) => {
    it('answers a text run, logged under its provider', async () => {
      const a = await register();
      const prompt = unique(`hello ${wire}`);
      const res = await run(a, { prompt, model }, wireEnv());
      const body = await ok(res);
      expect(body.answer).toContain(prompt);
      expect(body.model).toBe(model);
      expect((await upstream(prompt)).path).toBe(path);
      const requestId = res.headers.get('x-request-id');
      await vi.waitFor(
        async () => {
          const row = await env.DB.prepare('SELECT provider, status FROM requests WHERE request_id = ?')
            .bind(requestId)
            .first<Json>();
          expect(row).toMatchObject({ provider: wire, status: 'completed' });
        },
        { timeout: 5_000, interval: 100 },
      );
    });

    it('runs the tool loop: the call, its result sent back, the answer carrying it', async () => {
      const a = await register();
      const prompt = unique(`calc ${wire}`);
      const body = await ok(
        await run(
          a,
          { prompt: `${prompt} [[tool:calculator {"expression":"6*7"}]]`, tools: ['calculator'], model },
          wireEnv(),
        ),
      );
      expect(body).toMatchObject({ stopped_by: 'answer', rounds: 2, status: 'completed' });
      expect(body.tool_calls).toHaveLength(1);
      expect(body.tool_calls[0]).toMatchObject({ round: 1, name: 'calculator', error: null });
      expect(body.answer).toContain('42');
      const sent = await mockRequests(prompt);
      expect(sent).toHaveLength(2);
      // The result went back as the vendor's own tool-result block, naming the call the model made.
      const second = sent[1]?.body ?? '';
      expect(second).toContain(wire === 'anthropic' ? '"tool_result"' : '"toolResult"');
      expect(second).toContain(body.tool_calls[0]?.id ?? 'missing id');
    });

    it('stops a tool loop that never ends at TOOL_MAX_ROUNDS', async () => {
      const a = await register();
      const prompt = unique(`loop ${wire} [[fault:toolloop]]`);
      const body = await ok(
        await run(a, { prompt, tools: ['get_time'], model }, { ...wireEnv(), TOOL_MAX_ROUNDS: '2' }),
      );
      expect(body).toMatchObject({ stopped_by: 'max_rounds', rounds: 2, status: 'completed' });
      expect(body.tool_calls.map((t) => t.round)).toEqual([1, 2]);
      expect(await mockRequests(prompt)).toHaveLength(2);
    });

    it('gives images to a vision model as its image blocks, and refuses them for a model without vision', async () => {
      const a = await register();
      if (vision) {
        const prompt = unique(`see ${wire}`);
        await ok(
          await run(a, { prompt, model: vision, images: [{ data: PNG_B64, media_type: 'image/png' }] }, wireEnv()),
        );
        const sent = JSON.parse((await upstream(prompt)).body) as { messages: { content: Json[] }[] };
        expect(sent.messages[0]?.content).toEqual([
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
          { type: 'text', text: prompt },
        ]);
      }
      const blind = unique(`blind ${wire}`);
      const err = await expectEnvelope(
        await run(a, { prompt: blind, model, images: [{ data: PNG_B64, media_type: 'image/png' }] }, wireEnv()),
        400,
        'VALIDATION_ERROR',
      );
      expect(err.error.message).toContain(model);
      expect(await mockRequests(blind)).toHaveLength(0);
    });
  },
);

describe('POST /run: audio and video', () => {
  it('transcribes a WAV with the local provider (its embedded text chunk), JSON and multipart', async () => {
    const a = await register();
    const said = unique('what is the capital of France');
    const body = await ok(await run(a, { audio: { data: toBase64(wav(said)), media_type: 'audio/wav' } }));
    expect(body.input.transcript).toBe(said);
    expect(body.input.media).toEqual([
      { kind: 'audio', media_type: 'audio/wav', bytes: wav(said).length, source: 'inline' },
    ]);
    // The model was given what was said.
    expect(body.answer).toContain(said.slice(0, 40));

    const form = await ok(
      await runForm(a, [
        { name: 'prompt', value: 'Answer this:' },
        { name: 'audio', filename: 'q.wav', type: 'audio/wav', bytes: wav(said) },
      ]),
    );
    expect(form.input).toMatchObject({ prompt: 'Answer this:', transcript: said });
  });

  it('transcribes through the OpenAI audio/transcriptions wire (multipart, the file and the model)', async () => {
    const a = await register();
    const said = unique('mock speech in');
    const overrides = openaiEnv({ ASSISTANT_TRANSCRIPTION_MODEL: 'openai:whisper-1' });
    const body = await ok(
      await run(
        a,
        {
          model: 'openai:gpt-4o-mini',
          audio: { data: toBase64(wav(said)), media_type: 'audio/wav', filename: 'q.wav' },
        },
        overrides,
      ),
    );
    expect(body.input.transcript).toBe(`Mock transcript: ${said}`);
    const seen = (await mockRequests(said)).filter((r) => r.path === '/v1/audio/transcriptions');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${OPENAI_CANARY_KEY}`);
    expect(seen[0]?.body).toContain('name="model"\r\n\r\nwhisper-1');
    expect(seen[0]?.body).toContain('filename="q.wav"');
    // The chat model then got the transcript.
    const chat = (await mockRequests(said)).filter((r) => r.path === '/v1/chat/completions');
    expect(chat[0]?.body).toContain(`Mock transcript: ${said}`);
  });

  it('a failing transcription is a 502, stored as a failed run', async () => {
    const a = await register();
    const overrides = openaiEnv({ ASSISTANT_TRANSCRIPTION_MODEL: 'openai:whisper-1' });
    const res = await run(
      a,
      { audio: { data: toBase64(wav(unique('[[fault:500]]'))), media_type: 'audio/wav' } },
      overrides,
    );
    await expectEnvelope(res, 502, 'PROVIDER_ERROR');
    const row = await env.DB.prepare('SELECT status, error_code FROM assistant_runs WHERE user_id = ?')
      .bind(a.userId)
      .first<Json>();
    expect(row).toEqual({ status: 'failed', error_code: 'PROVIDER_ERROR' });
  });

  it('a transcription that never answers is a 504 within PROVIDER_TIMEOUT_MS', async () => {
    const a = await register();
    const overrides = openaiEnv({ ASSISTANT_TRANSCRIPTION_MODEL: 'openai:whisper-1', PROVIDER_TIMEOUT_MS: '500' });
    const started = performance.now();
    const res = await run(
      a,
      { audio: { data: toBase64(wav(unique('[[fault:hang]]'))), media_type: 'audio/wav' } },
      overrides,
    );
    await expectEnvelope(res, 504, 'PROVIDER_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses video with a 400 naming the modality and the model (never dropped)', async () => {
    const a = await register();
    const res = await run(
      a,
      { prompt: 'what happens here?', model: 'openai:gpt-4o', video: { data: toBase64(MP4), media_type: 'video/mp4' } },
      openaiEnv(),
    );
    const err = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(err.error.message).toMatch(/video/);
    expect(err.error.message).toContain('openai:gpt-4o');
    expect(err.error.details?.[0]?.field).toBe('video');
    const form = await runForm(a, [
      { name: 'prompt', value: 'and this?' },
      { name: 'video', filename: 'clip.mp4', type: 'video/mp4', bytes: MP4 },
    ]);
    const formErr = await expectEnvelope(form, 400, 'VALIDATION_ERROR');
    expect(formErr.error.message).toContain('video');
    expect(formErr.error.message).toContain('local:edgeway-local');
    expect(await runRows(a.userId)).toBe(0);
  });
});

describe('POST /run: media checked against their bytes', () => {
  it('refuses mislabelled media (400) in JSON and multipart', async () => {
    const a = await register();
    const asPng = await expectEnvelope(
      await run(
        a,
        { prompt: 'x', model: 'openai:gpt-4o', images: [{ data: JPEG_B64, media_type: 'image/png' }] },
        openaiEnv(),
      ),
      400,
      'VALIDATION_ERROR',
    );
    expect(asPng.error.message).toBe('images[0] is declared image/png but its content is image/jpeg');
    const fakeWav = await expectEnvelope(
      await run(a, { audio: { data: PNG_B64, media_type: 'audio/wav' } }),
      400,
      'VALIDATION_ERROR',
    );
    expect(fakeWav.error.message).toContain('audio is declared audio/wav but its content is image/png');
    const textAsImage = await runForm(a, [
      { name: 'prompt', value: 'x' },
      { name: 'images', filename: 'evil.png', type: 'image/png', bytes: enc.encode('<html>not an image</html>') },
    ]);
    await expectEnvelope(textAsImage, 400, 'VALIDATION_ERROR');
    await expectEnvelope(
      await run(a, { audio: { data: 'not base64!!', media_type: 'audio/wav' } }),
      400,
      'VALIDATION_ERROR',
    );
    expect(await runRows(a.userId)).toBe(0);
  });

  it('refuses media over ASSISTANT_MAX_MEDIA_BYTES (413) in JSON and multipart', async () => {
    const a = await register();
    const small = { ASSISTANT_MAX_MEDIA_BYTES: '1000' };
    const big = wav('too long', 1000);
    expect(big.length).toBeGreaterThan(1000);
    await expectEnvelope(
      await run(a, { audio: { data: toBase64(big), media_type: 'audio/wav' } }, small),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    await expectEnvelope(
      await runForm(a, [{ name: 'audio', filename: 'big.wav', type: 'audio/wav', bytes: big }], small),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    // Just under the limit is fine.
    const fits = wav('fits', 400);
    expect(fits.length).toBeLessThanOrEqual(1000);
    expect(
      (await ok(await run(a, { audio: { data: toBase64(fits), media_type: 'audio/wav' } }, small))).input.transcript,
    ).toBe('fits');
    expect(await runRows(a.userId)).toBe(1);
  });

  it('takes multipart media past MAX_BODY_BYTES (its own limits), not JSON; the whole body stops at MAX_UPLOAD_REQUEST_BYTES', async () => {
    const a = await register();
    // 2,000 samples make a WAV of ~4 KB: over a 2 KB body limit, under the media limit.
    const limits = { MAX_BODY_BYTES: '2048', ASSISTANT_MAX_MEDIA_BYTES: '100000' };
    const audio = wav('a long recording', 2000);
    expect(audio.length).toBeGreaterThan(2048);
    const form = await ok(
      await runForm(a, [{ name: 'audio', filename: 'long.wav', type: 'audio/wav', bytes: audio }], limits),
    );
    expect(form.input.transcript).toBe('a long recording');
    await expectEnvelope(
      await run(a, { audio: { data: toBase64(audio), media_type: 'audio/wav' } }, limits),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    await expectEnvelope(
      await runForm(a, [{ name: 'audio', filename: 'long.wav', type: 'audio/wav', bytes: audio }], {
        ...limits,
        MAX_UPLOAD_REQUEST_BYTES: '3000',
      }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect(await runRows(a.userId)).toBe(1);
  });
});

describe('POST /run: inputs by file id', () => {
  it("uses files of the caller's chats, and refuses another user's file id (404, nothing stored)", async () => {
    const a = await register();
    const chatId = await createChat(a);
    const said = unique('from a stored file');
    const fileId = await upload(a, chatId, 'question.wav', 'audio/wav', wav(said));
    const body = await ok(await run(a, { chat_id: chatId, file_ids: [fileId] }));
    expect(body.chat_id).toBe(chatId);
    expect(body.input.transcript).toBe(said);
    expect(body.input.media).toEqual([
      { kind: 'audio', media_type: 'audio/wav', bytes: wav(said).length, source: 'file', file_id: fileId },
    ]);

    const b = await register();
    const stolen = await run(b, { prompt: 'read this', file_ids: [fileId] });
    const err = await expectEnvelope(stolen, 404, 'RESOURCE_NOT_FOUND');
    expect(err.error.message).not.toContain(said);
    await expectEnvelope(await run(b, { prompt: 'read this', chat_id: chatId }), 404, 'RESOURCE_NOT_FOUND');
    expect(await runRows(b.userId)).toBe(0);
  });
});

describe('POST /run: files of a shared chat', () => {
  it("reads a file of a chat shared with the caller's organization, not of a private one", async () => {
    const owner = await register();
    const member = await memberOf(owner, 'member');
    const chatId = await createChat(owner);
    const said = unique('shared words');
    const fileId = await upload(owner, chatId, 'shared.wav', 'audio/wav', wav(said));
    // Private: the member cannot read the chat, so the file is not found.
    await expectEnvelope(await run(member, { file_ids: [fileId] }), 404, 'RESOURCE_NOT_FOUND');
    const shared = await call(`/api/v1/chat/${chatId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...owner.auth },
      body: JSON.stringify({ visibility: 'organization' }),
    });
    expect(shared.status).toBe(200);
    const body = await ok(await run(member, { file_ids: [fileId] }));
    expect(body.input.transcript).toBe(said);
  });
});

// A request through the worker answered before its background work is waited for, so a test can time
// its streamed body as a client would see it.
async function dispatch(path: string, init: RequestInit, overrides: EnvOverrides) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ...overrides } as Env, ctx);
  return { res, settled: () => waitOnExecutionContext(ctx) };
}

async function readChunks(res: Response, started: number): Promise<{ bytes: Uint8Array; times: number[] }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  const times: number[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    times.push(performance.now() - started);
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, times };
}

describe('POST /run/audio', () => {
  it('answers a valid WAV from the local provider, whose text chunk is the stored answer (a round trip)', async () => {
    const a = await register();
    const prompt = unique('speak to me');
    const res = await run(a, { prompt }, undefined, '/api/v1/run/audio');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const runId = res.headers.get('x-run-id') ?? '';
    const bytes = new Uint8Array(await res.arrayBuffer());
    const parsed = parseWav(bytes);
    expect(parsed).toMatchObject({ format: 1, channels: 1, bitsPerSample: 16, sampleRate: 16_000 });
    expect(parsed.dataBytes).toBeGreaterThan(0);
    const stored = (await (await call(`/api/v1/run/${runId}`, { headers: a.auth })).json()) as Run;
    expect(stored).toMatchObject({ answer_mode: 'audio', status: 'completed' });
    expect(stored.answer).toContain(prompt);
    expect(parsed.text).toBe(stored.answer);
    // What the local provider speaks, it hears.
    const heard = await ok(await run(a, { audio: { data: toBase64(bytes), media_type: 'audio/wav' } }));
    expect(heard.input.transcript).toBe(stored.answer);
  });

  it('streams the mock upstream speech through as it arrives, with its Content-Type', async () => {
    const a = await register();
    const prompt = unique('say it slowly [[speech:slow]]');
    const overrides = openaiEnv({ ASSISTANT_SPEECH_MODEL: 'openai:tts-1', ASSISTANT_SPEECH_VOICE: 'nova' });
    const started = performance.now();
    const { res, settled } = await dispatch(
      '/api/v1/run/audio',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...a.auth },
        body: JSON.stringify({ prompt, model: 'openai:gpt-4o-mini' }),
      },
      overrides,
    );
    const headersAt = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const { bytes, times } = await readChunks(res, started);
    await settled();
    // The header chunk came before the mock's 1.5 s pause; the rest after it: nothing was gathered first.
    expect(headersAt).toBeLessThan(1_200);
    expect(times[0]).toBeLessThan(1_200);
    expect(times.at(-1)).toBeGreaterThanOrEqual(1_400);
    expect(times.length).toBeGreaterThan(1);
    const parsed = parseWav(bytes);
    expect(parsed.text).toBe(`Mock answer to: ${prompt}`);
    const speech = (await mockRequests(prompt)).filter((r) => r.path === '/v1/audio/speech');
    expect(speech).toHaveLength(1);
    expect(JSON.parse(speech[0]?.body ?? '{}')).toEqual({
      model: 'tts-1',
      input: `Mock answer to: ${prompt}`,
      voice: 'nova',
      response_format: 'wav',
    });
  });

  it('a failing speech upstream is a 502; the run itself is stored', async () => {
    const a = await register();
    const overrides = openaiEnv({ ASSISTANT_SPEECH_MODEL: 'openai:tts-1' });
    const res = await run(
      a,
      { prompt: unique('[[speech:500]]'), model: 'openai:gpt-4o-mini' },
      overrides,
      '/api/v1/run/audio',
    );
    await expectEnvelope(res, 502, 'PROVIDER_ERROR');
    const row = await env.DB.prepare('SELECT status, answer_mode FROM assistant_runs WHERE user_id = ?')
      .bind(a.userId)
      .first<Json>();
    expect(row).toEqual({ status: 'completed', answer_mode: 'audio' });
  });

  it('serves another format with its own Content-Type (mp3 → audio/mpeg)', async () => {
    const a = await register();
    const overrides = openaiEnv({ ASSISTANT_SPEECH_MODEL: 'openai:tts-1', ASSISTANT_SPEECH_FORMAT: 'mp3' });
    const res = await run(
      a,
      { prompt: unique('mp3 please'), model: 'openai:gpt-4o-mini' },
      overrides,
      '/api/v1/run/audio',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(String.fromCharCode(...bytes.subarray(0, 3))).toBe('ID3');
  });
});

describe('POST /run: tools', () => {
  it('runs a tool the model asks for; the calls and results are in the answer and stored', async () => {
    const a = await register();
    const body = await ok(
      await run(a, {
        prompt: 'What is 6*7? [[tool:calculator {"expression":"6*7"}]]',
        tools: ['calculator'],
        model: 'local:edgeway-local',
      }),
    );
    expect(body.tool_calls).toHaveLength(1);
    expect(body.tool_calls[0]).toMatchObject({ round: 1, name: 'calculator', error: null });
    expect(JSON.stringify(body.tool_calls[0]?.result)).toContain('42');
    expect(body.rounds).toBe(2);
    expect(body.stopped_by).toBe('answer');
    expect(body.answer).toContain('42');
    const row = await storedRun(body.id);
    expect(JSON.parse(String(row?.tool_calls))).toEqual(body.tool_calls);
  });

  it('stops a tool loop that never ends at TOOL_MAX_ROUNDS (mock OpenAI wire)', async () => {
    const a = await register();
    const overrides = openaiEnv({ TOOL_MAX_ROUNDS: '3' });
    const prompt = unique('loop forever [[fault:toolloop]]');
    const body = await ok(await run(a, { prompt, tools: ['get_time'], model: 'openai:gpt-4o-mini' }, overrides));
    expect(body.stopped_by).toBe('max_rounds');
    expect(body.rounds).toBe(3);
    expect(body.tool_calls.map((t) => t.round)).toEqual([1, 2, 3]);
    expect(body.tool_calls.every((t) => t.name === 'get_time')).toBe(true);
    expect(body.tool_calls[2]?.error).toContain('TOOL_MAX_ROUNDS');
    expect(body.status).toBe('completed');
  });

  it('a tool that times out is reported to the model and in the run, which still answers', async () => {
    const a = await register();
    const overrides = {
      NOTION_API_KEY: 'ntn_mock_integration_0123456789',
      NOTION_BASE_URL: `${env.MOCK_UPSTREAM_URL}/notion/v1`,
      TOOL_TIMEOUT_MS: '300',
    };
    const started = performance.now();
    const body = await ok(
      await run(
        a,
        {
          prompt: 'find it [[tool:notion_search {"query":"__hang__"}]]',
          tools: ['notion_search'],
          model: 'local:edgeway-local',
        },
        overrides,
      ),
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(body.tool_calls).toHaveLength(1);
    expect(body.tool_calls[0]?.error).toContain('300 ms');
    expect(body.stopped_by).toBe('answer');
  });

  it('refuses an unknown tool (400) before anything runs', async () => {
    const a = await register();
    const err = await expectEnvelope(await run(a, { prompt: 'x', tools: ['rm_rf'] }), 400, 'VALIDATION_ERROR');
    expect(err.error.message).toContain('rm_rf');
    expect(await runRows(a.userId)).toBe(0);
  });
});
