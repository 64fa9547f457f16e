import { env } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { getDb } from '../../src/db/client';
import { deleteChatFiles } from '../../src/features/chats/files/cleanup';
import { type Account, memberOf, register } from '../helpers/auth';
import { call, type EnvOverrides, expectEnvelope } from '../helpers/http';

// Chat files (seed 004, issue 12 item 2): upload → list → download → range → delete, limits, types,
// names, failure cleanup and access. Chats are inserted into D1 directly; R2 and D1 are checked after
// every refusal so "nothing stored" is seen, not assumed.

// 20 MB bodies through the worker, twice over, on a loaded CI machine.
vi.setConfig({ testTimeout: 60_000 });

const B = 'edgeway-test-boundary-7f3a';
const enc = new TextEncoder();

interface FilePart {
  name: string;
  type?: string;
  bytes: Uint8Array | string;
  field?: string;
  // Written into the header as is (raw bytes), for names with control characters.
  rawDisposition?: string;
}

interface FileJson {
  fileid: string;
  filename: string;
  uploaded_at: string;
  userid: string;
  content_type: string;
  size: number;
  object_key: string;
  chat_id: string;
  sha256: string;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function partHead(p: FilePart): Uint8Array {
  const disposition =
    p.rawDisposition ?? `form-data; name="${p.field ?? 'files'}"; filename="${p.name.replace(/"/g, '%22')}"`;
  return enc.encode(
    `--${B}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`,
  );
}

function multipart(parts: FilePart[]): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (const p of parts) {
    pieces.push(partHead(p), typeof p.bytes === 'string' ? enc.encode(p.bytes) : p.bytes, enc.encode('\r\n'));
  }
  pieces.push(enc.encode(`--${B}--\r\n`));
  return concat(pieces);
}

const CT = { 'content-type': `multipart/form-data; boundary=${B}` };

function upload(
  who: Account | undefined,
  chatId: string,
  body: BodyInit,
  overrides?: EnvOverrides,
  headers: Record<string, string> = CT,
) {
  return call(
    `/api/v1/chat/${chatId}/upload`,
    { method: 'POST', headers: { ...headers, ...(who?.auth ?? {}) }, body },
    overrides,
  );
}

const filesPath = (chatId: string, fileId?: string) =>
  `/api/v1/chat/${chatId}/files${fileId === undefined ? '' : `/${fileId}`}`;

async function newChat(owner: Account, visibility: 'private' | 'organization' = 'private'): Promise<string> {
  const id = crypto.randomUUID();
  await env.DB.prepare(
    `INSERT INTO chats (id, user_id, organization_id, title, current_model_id, current_model_api_source, visibility)
     VALUES (?, ?, ?, 'test chat', 'gpt-4o-mini', 'openai', ?)`,
  )
    .bind(id, owner.userId, owner.organizationId, visibility)
    .run();
  return id;
}

async function storedKeys(chatId: string): Promise<string[]> {
  const listed = await env.FILES.list({ prefix: `chats/${chatId}/` });
  return listed.objects.map((o) => o.key).sort();
}

async function rowCount(chatId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM files WHERE chat_id = ?')
    .bind(chatId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

async function expectNothingStored(chatId: string): Promise<void> {
  expect(await storedKeys(chatId)).toEqual([]);
  expect(await rowCount(chatId)).toBe(0);
}

// Deterministic bytes that do not compress, behind a PDF signature.
function pdf(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    out[i] = x >>> 24;
  }
  out.set(enc.encode('%PDF-1.7\n'));
  return out;
}

const PNG = concat([
  new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]),
  enc.encode('IHDR'),
  new Uint8Array(40).fill(3),
]);

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// Where two byte arrays first differ ('same' if they do not): a toEqual diff of megabytes would not fit in memory.
function firstDifference(a: Uint8Array, b: Uint8Array | undefined): string {
  if (!b) return 'missing';
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} != ${b[i]}`;
  return 'same';
}

async function bodyBytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

// A body the client cuts off: `before` is delivered, then the stream fails.
function breakingBody(before: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        for (let at = 0; at < before.length; at += 65_536) controller.enqueue(before.slice(at, at + 65_536));
        return;
      }
      controller.error(new Error('client went away'));
    },
  });
}

// The same bytes as a stream of 64 KiB chunks without Content-Length (a chunked upload).
function streamed(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + 65_536));
      at += 65_536;
    },
  });
}

describe('chat files: the whole life of a file', () => {
  it('uploads several files in one request, lists them, downloads them byte-identical, serves ranges, deletes idempotently', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const big = pdf(20_000_000);
    // Over 1 KiB, so the app would gzip it for a client that asks, were it not for the download's headers.
    const notes = `# Notes\n\n${'naïve € 🙂 and some words\n'.repeat(120)}`;
    const sent: FilePart[] = [
      { name: 'big.pdf', type: 'application/pdf', bytes: big },
      { name: 'notes.md', type: 'text/markdown', bytes: notes },
      { name: 'pixel.png', type: 'image/png', bytes: PNG },
      { name: 'data.json', bytes: '{"a": [1, 2, 3]}' },
    ];
    const res = await upload(owner, chatId, multipart(sent));
    expect(res.status).toBe(201);
    const { data } = (await res.json()) as { data: FileJson[] };
    const bytesOf = sent.map((p) => (typeof p.bytes === 'string' ? enc.encode(p.bytes) : p.bytes));
    expect(data).toHaveLength(4);
    for (const [i, f] of data.entries()) {
      expect(f).toEqual({
        fileid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        filename: sent[i]?.name,
        uploaded_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        userid: owner.userId,
        content_type: ['application/pdf', 'text/markdown', 'image/png', 'text/plain'][i],
        size: bytesOf[i]?.length,
        object_key: `chats/${chatId}/${f.fileid}`,
        chat_id: chatId,
        sha256: await sha256(bytesOf[i] as Uint8Array),
      });
    }
    expect(await storedKeys(chatId)).toEqual(data.map((f) => f.object_key).sort());
    expect(await rowCount(chatId)).toBe(4);

    // List: upload order, paginated like every list.
    const list = await call(filesPath(chatId), { headers: owner.auth });
    expect(list.status).toBe(200);
    const listed = (await list.json()) as { data: FileJson[]; pagination: Record<string, unknown> };
    expect(listed.data).toEqual(data);
    expect(listed.pagination).toMatchObject({ total: 4, limit: 50, offset: 0, has_next: false });
    const page = (await (await call(`${filesPath(chatId)}?limit=2&page=2`, { headers: owner.auth })).json()) as {
      data: FileJson[];
      pagination: Record<string, unknown>;
    };
    expect(page.data.map((f) => f.fileid)).toEqual(data.slice(2).map((f) => f.fileid));
    expect(page.pagination).toMatchObject({ total: 4, page: 2, has_prev: true, has_next: false });

    // Download: the stored bytes, exactly, with the headers of a safe attachment.
    for (const [i, f] of data.entries()) {
      const got = await call(filesPath(chatId, f.fileid), { headers: owner.auth });
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe(f.content_type);
      expect(got.headers.get('content-length')).toBe(String(f.size));
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
      expect(got.headers.get('etag')).toBe(`"${f.sha256}"`);
      expect(got.headers.get('accept-ranges')).toBe('bytes');
      expect(got.headers.get('content-disposition')).toBe(
        `attachment; filename="${f.filename}"; filename*=UTF-8''${encodeURIComponent(f.filename)}`,
      );
      expect(firstDifference(await bodyBytes(got), bytesOf[i])).toBe('same');
    }

    const bigFile = data[0] as FileJson;
    const range = async (value: string, extra: Record<string, string> = {}) =>
      call(filesPath(chatId, bigFile.fileid), { headers: { ...owner.auth, range: value, ...extra } });
    const mid = await range('bytes=1000-1999');
    expect(mid.status).toBe(206);
    expect(mid.headers.get('content-range')).toBe('bytes 1000-1999/20000000');
    expect(mid.headers.get('content-length')).toBe('1000');
    expect(firstDifference(await bodyBytes(mid), big.slice(1000, 2000))).toBe('same');
    // Across the 5 MiB part boundary of the multipart upload.
    const across = await range(`bytes=${5 * 1_048_576 - 10}-${5 * 1_048_576 + 9}`);
    expect(firstDifference(await bodyBytes(across), big.slice(5 * 1_048_576 - 10, 5 * 1_048_576 + 10))).toBe('same');
    const tail = await range('bytes=-10');
    expect(tail.headers.get('content-range')).toBe('bytes 19999990-19999999/20000000');
    expect(firstDifference(await bodyBytes(tail), big.slice(-10))).toBe('same');
    const from = await range('bytes=19999995-');
    expect(from.status).toBe(206);
    expect(firstDifference(await bodyBytes(from), big.slice(19_999_995))).toBe('same');
    const past = await range('bytes=20000000-');
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */20000000');
    // A range for another version of the file (If-Range) gets the whole file.
    const stale = await range('bytes=0-9', { 'if-range': '"not-this-one"' });
    expect(stale.status).toBe(200);
    await stale.body?.cancel();

    // Conditional: the client's copy is current.
    const cached = await call(filesPath(chatId, bigFile.fileid), {
      headers: { ...owner.auth, 'if-none-match': `"${bigFile.sha256}"` },
    });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(`"${bigFile.sha256}"`);

    // A text file asked for with gzip is still the stored bytes, with their length (ranges count them).
    const notesFile = data[1] as FileJson;
    const plain = await call(filesPath(chatId, notesFile.fileid), {
      headers: { ...owner.auth, 'accept-encoding': 'gzip', range: 'bytes=2-2001' },
    });
    expect(plain.status).toBe(206);
    expect(plain.headers.get('content-encoding')).not.toBe('gzip');
    expect(plain.headers.get('content-length')).toBe('2000');
    expect(firstDifference(await bodyBytes(plain), enc.encode(notes).slice(2, 2002))).toBe('same');
    const whole = await call(filesPath(chatId, notesFile.fileid), {
      headers: { ...owner.auth, 'accept-encoding': 'gzip' },
    });
    expect(whole.headers.get('content-encoding')).not.toBe('gzip');
    expect(whole.headers.get('content-length')).toBe(String(notesFile.size));
    expect(firstDifference(await bodyBytes(whole), enc.encode(notes))).toBe('same');

    // Delete: gone from R2 and D1, 404 after, and a second delete is still 204.
    const del = await call(filesPath(chatId, bigFile.fileid), { method: 'DELETE', headers: owner.auth });
    expect(del.status).toBe(204);
    await expectEnvelope(
      await call(filesPath(chatId, bigFile.fileid), { headers: owner.auth }),
      404,
      'RESOURCE_NOT_FOUND',
    );
    expect(await storedKeys(chatId)).not.toContain(bigFile.object_key);
    expect(await rowCount(chatId)).toBe(3);
    const again = await call(filesPath(chatId, bigFile.fileid), { method: 'DELETE', headers: owner.auth });
    expect(again.status).toBe(204);
    const never = await call(filesPath(chatId, crypto.randomUUID()), { method: 'DELETE', headers: owner.auth });
    expect(never.status).toBe(204);
    expect(await rowCount(chatId)).toBe(3);
  });

  it('takes a chunked upload (no Content-Length) the same way', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const bytes = pdf(6 * 1_048_576 + 5, 3);
    const res = await upload(owner, chatId, streamed(multipart([{ name: 'streamed.pdf', bytes }])), {});
    expect(res.status).toBe(201);
    const [file] = ((await res.json()) as { data: FileJson[] }).data;
    expect(file).toMatchObject({ content_type: 'application/pdf', size: bytes.length, sha256: await sha256(bytes) });
    const got = await call(filesPath(chatId, file?.fileid), { headers: owner.auth });
    expect(firstDifference(await bodyBytes(got), bytes)).toBe('same');
  });
});

describe('chat files: limits (413, nothing stored)', () => {
  it('refuses a file over MAX_UPLOAD_FILE_BYTES, and deletes the files before it', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const limits = { MAX_UPLOAD_FILE_BYTES: '1000' };
    const res = await upload(
      owner,
      chatId,
      multipart([
        { name: 'ok.txt', type: 'text/plain', bytes: 'a'.repeat(1000) },
        { name: 'too-big.txt', type: 'text/plain', bytes: 'b'.repeat(1001) },
      ]),
      limits,
    );
    const body = await expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(body.error.message).toContain('too-big.txt');
    expect(body.error.details?.[0]?.field).toBe('files[1]');
    await expectNothingStored(chatId);
  });

  it('refuses a request over MAX_UPLOAD_REQUEST_BYTES, by its Content-Length or while streaming it', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const limits = { MAX_UPLOAD_REQUEST_BYTES: '5000' };
    const body = multipart([
      { name: 'a.txt', type: 'text/plain', bytes: 'a'.repeat(2000) },
      { name: 'b.txt', type: 'text/plain', bytes: 'b'.repeat(2000) },
      { name: 'c.txt', type: 'text/plain', bytes: 'c'.repeat(2000) },
    ]);
    // With a Content-Length over the limit, not a byte is read: nothing even reaches R2.
    let puts = 0;
    const countingR2 = {
      put: (...args: Parameters<R2Bucket['put']>) => {
        puts++;
        return env.FILES.put(...args);
      },
      delete: (keys: string | string[]) => env.FILES.delete(keys),
    };
    // (call() with overrides hands the Request over in-process, where no Content-Length is derived: set it.)
    const withLength = { ...CT, 'content-length': String(body.length) };
    const early = await upload(owner, chatId, body, { ...limits, FILES: countingR2 }, withLength);
    await expectEnvelope(early, 413, 'PAYLOAD_TOO_LARGE');
    expect(puts).toBe(0);
    await expectNothingStored(chatId);
    // Without a length, reading stops at the chunk that crosses the limit; a.txt was already stored.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < body.length; at += 1000) controller.enqueue(body.slice(at, at + 1000));
        controller.close();
      },
    });
    await expectEnvelope(await upload(owner, chatId, chunked, limits), 413, 'PAYLOAD_TOO_LARGE');
    await expectNothingStored(chatId);
  });

  it('refuses more than MAX_FILES_PER_UPLOAD files', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const res = await upload(
      owner,
      chatId,
      multipart(['1', '2', '3'].map((n) => ({ name: `${n}.txt`, type: 'text/plain', bytes: n }))),
      { MAX_FILES_PER_UPLOAD: '2' },
    );
    await expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
    await expectNothingStored(chatId);
  });

  it('refuses a file over the default 25 MiB limit, which the 1 MiB body limit does not cut short', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const res = await upload(owner, chatId, multipart([{ name: 'huge.pdf', bytes: pdf(25 * 1_048_576 + 1) }]));
    const body = await expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(body.error.message).toContain('huge.pdf');
    await expectNothingStored(chatId);
  });
});

describe('chat files: content types and names', () => {
  it('refuses a spoofed type (declared image/png, text bytes) and types not on the list, naming file and type', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const spoof = await upload(
      owner,
      chatId,
      multipart([
        { name: 'fine.txt', type: 'text/plain', bytes: 'fine' },
        { name: 'cat.png', type: 'image/png', bytes: '<html><script>alert(document.cookie)</script></html>' },
      ]),
    );
    const body = await expectEnvelope(spoof, 400, 'VALIDATION_ERROR');
    expect(body.error.message).toMatch(/cat\.png.*declared image\/png.*text/);
    expect(body.error.details?.[0]?.field).toBe('files[1]');
    await expectNothingStored(chatId);

    for (const part of [
      { name: 'page.html', type: 'text/html', bytes: '<html></html>' },
      { name: 'tool.exe', bytes: concat([enc.encode('MZ'), new Uint8Array(64)]) },
      { name: 'fake.txt', type: 'text/plain', bytes: concat([enc.encode('abc'), new Uint8Array([0, 1, 2])]) },
      { name: 'fake.pdf', type: 'application/pdf', bytes: PNG },
    ]) {
      const res = await upload(owner, chatId, multipart([part]));
      const err = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
      expect(err.error.message).toContain(part.name);
    }
    await expectNothingStored(chatId);
  });

  it('stores sanitized names: no paths, no control characters, 500 characters cut to 255 with the extension', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const long = `${'n'.repeat(496)}.txt`;
    const res = await upload(
      owner,
      chatId,
      multipart([
        { name: '../../../etc/passwd', type: 'text/plain', bytes: 'root:x:0:0' },
        { name: 'C:\\Users\\me\\..\\evil.txt', type: 'text/plain', bytes: 'x' },
        {
          name: '',
          type: 'text/plain',
          bytes: 'y',
          rawDisposition: 'form-data; name="files"; filename="x\u0001y\u001b[31mz\u007f\ttab.txt"',
        },
        { name: '..', type: 'text/plain', bytes: 'z' },
        { name: long, type: 'text/plain', bytes: 'long' },
        {
          name: '',
          type: 'text/plain',
          bytes: 'ok',
          rawDisposition: 'form-data; name="files"; filename="résumé \\"final\\".txt"',
        },
      ]),
    );
    expect(res.status).toBe(201);
    const { data } = (await res.json()) as { data: FileJson[] };
    const expected = ['passwd', 'evil.txt', 'xy[31mztab.txt', 'file', `${'n'.repeat(251)}.txt`, 'résumé _final_.txt'];
    expect(data.map((f) => f.filename)).toEqual(expected);
    for (const f of data) expect(f.object_key).toBe(`chats/${chatId}/${f.fileid}`);
    expect(await storedKeys(chatId)).toEqual(data.map((f) => f.object_key).sort());
    // The name comes back in a header that cannot be split or misread.
    const got = await call(filesPath(chatId, data[5]?.fileid), { headers: owner.auth });
    expect(got.headers.get('content-disposition')).toBe(
      `attachment; filename="r_sum_ _final_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20_final_.txt`,
    );
    await got.body?.cancel();
  });
});

describe('chat files: failures leave nothing behind', () => {
  it('an upload whose body stream breaks off halfway leaves no object and no row', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    // A whole first file (stored by then), and 6 MiB of the second (one R2 part sent), then the break.
    const first = multipart([{ name: 'done.txt', type: 'text/plain', bytes: 'complete' }]).slice(
      0,
      -`--${B}--\r\n`.length,
    );
    const second = concat([partHead({ name: 'cut.pdf', type: 'application/pdf', bytes: '' }), pdf(6 * 1_048_576)]);
    // The worker runs in this process (call() with overrides), so it sees the stream fail and still answers.
    const res = await upload(owner, chatId, breakingBody(concat([first, second])), {});
    const body = await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    expect(body.error.message).toMatch(/interrupted/);
    await expectNothingStored(chatId);
  });

  it('R2 failing on the second file deletes the first (502), and D1 failing deletes them all (500)', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const body = () =>
      multipart([
        { name: 'one.txt', type: 'text/plain', bytes: 'one' },
        { name: 'two.txt', type: 'text/plain', bytes: 'two' },
      ]);
    let puts = 0;
    const flakyR2 = {
      put: (...args: Parameters<R2Bucket['put']>) =>
        ++puts === 2 ? Promise.reject(new Error('R2 is down')) : env.FILES.put(...args),
      delete: (keys: string | string[]) => env.FILES.delete(keys),
      createMultipartUpload: (key: string, o?: R2MultipartOptions) => env.FILES.createMultipartUpload(key, o),
    };
    const r2Down = await upload(owner, chatId, body(), { FILES: flakyR2 });
    await expectEnvelope(r2Down, 502, 'INTEGRATION_ERROR');
    expect(puts).toBe(2);
    await expectNothingStored(chatId);

    // The rows' batch fails after both objects were stored (R2 counted): they are deleted again.
    let batches = 0;
    let stored = 0;
    const brokenD1 = {
      prepare: (query: string) => env.DB.prepare(query),
      batch: () => {
        batches++;
        return Promise.reject(new Error('D1 is down'));
      },
    };
    const countingR2 = {
      put: (...args: Parameters<R2Bucket['put']>) => {
        stored++;
        return env.FILES.put(...args);
      },
      delete: (keys: string | string[]) => env.FILES.delete(keys),
    };
    const d1Down = await upload(owner, chatId, body(), { DB: brokenD1, FILES: countingR2 });
    await expectEnvelope(d1Down, 500, 'INTERNAL_ERROR');
    expect({ batches, stored }).toEqual({ batches: 1, stored: 2 });
    await expectNothingStored(chatId);
  });

  it('a chat deleted while its upload runs gets no rows and keeps no objects (404)', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const body = multipart([
      { name: 'one.txt', type: 'text/plain', bytes: 'one' },
      { name: 'two.pdf', bytes: pdf(1000) },
    ]);
    const end = body.length - `--${B}--\r\n`.length;
    let step = 0;
    // Both files are read (and stored) before the chat goes; then the closing delimiter arrives.
    const racing = new ReadableStream<Uint8Array>({
      async pull(controller) {
        step++;
        if (step === 1) return controller.enqueue(body.slice(0, end));
        if (step === 2) {
          await env.DB.prepare('DELETE FROM chats WHERE id = ?').bind(chatId).run();
          return controller.enqueue(body.slice(end));
        }
        controller.close();
      },
    });
    await expectEnvelope(await upload(owner, chatId, racing, {}), 404, 'RESOURCE_NOT_FOUND');
    await expectNothingStored(chatId);
  });

  it('malformed multipart is a 400, never a 500, and stores nothing', async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const good = multipart([{ name: 'a.txt', type: 'text/plain', bytes: 'abc' }]);
    const cases: [string, BodyInit, Record<string, string>][] = [
      ['not multipart', '{"files": []}', { 'content-type': 'application/json' }],
      ['no boundary', good, { 'content-type': 'multipart/form-data' }],
      ['other boundary', good, { 'content-type': 'multipart/form-data; boundary=something-else' }],
      ['cut before the end', good.slice(0, good.length - 12), CT],
      ['garbage', 'hello there', CT],
      ['empty', '', CT],
      ['no files', `--${B}--\r\n`, CT],
      [
        'a field that is not files',
        multipart([{ name: 'a.txt', field: 'attachment', type: 'text/plain', bytes: 'x' }]),
        CT,
      ],
      [
        'a files part without filename',
        `--${B}\r\nContent-Disposition: form-data; name="files"\r\n\r\nx\r\n--${B}--`,
        CT,
      ],
      ['headers without a colon', `--${B}\r\nContent-Disposition form-data\r\n\r\nx\r\n--${B}--`, CT],
      ['no content type at all', good, {}],
    ];
    for (const [what, body, headers] of cases) {
      const res = await upload(owner, chatId, body, undefined, headers);
      expect(res.status, what).toBe(400);
      await expectEnvelope(res, 400, 'VALIDATION_ERROR');
    }
    await expectNothingStored(chatId);
  });
});

describe('chat files: access', () => {
  async function ownerWithFile() {
    const owner = await register();
    const chatId = await newChat(owner, 'organization');
    const res = await upload(owner, chatId, multipart([{ name: 'secret.txt', type: 'text/plain', bytes: 'secret' }]));
    expect(res.status).toBe(201);
    const [file] = ((await res.json()) as { data: FileJson[] }).data;
    return { owner, chatId, file: file as FileJson };
  }

  const small = () => multipart([{ name: 'mine.txt', type: 'text/plain', bytes: 'mine' }]);

  it("another user's chat is 404 on every route, and nothing of it changes", async () => {
    const { owner, chatId, file } = await ownerWithFile();
    const stranger = await register();
    for (const res of [
      await upload(stranger, chatId, small()),
      await call(filesPath(chatId), { headers: stranger.auth }),
      await call(filesPath(chatId, file.fileid), { headers: stranger.auth }),
      await call(filesPath(chatId, file.fileid), { method: 'DELETE', headers: stranger.auth }),
      await call(filesPath(chatId, crypto.randomUUID()), { method: 'DELETE', headers: stranger.auth }),
    ]) {
      await expectEnvelope(res, 404, 'RESOURCE_NOT_FOUND');
    }
    // A file id of the owner's chat under the stranger's own chat is not found either.
    const own = await newChat(stranger);
    await expectEnvelope(
      await call(filesPath(own, file.fileid), { headers: stranger.auth }),
      404,
      'RESOURCE_NOT_FOUND',
    );
    expect(await storedKeys(chatId)).toEqual([file.object_key]);
    expect(await rowCount(chatId)).toBe(1);
    const still = await call(filesPath(chatId, file.fileid), { headers: owner.auth });
    expect(await still.text()).toBe('secret');
  });

  it('a viewer of a shared chat lists and downloads but gets 403 on upload and delete; a member uploads', async () => {
    const { owner, chatId, file } = await ownerWithFile();
    const viewer = await memberOf(owner, 'viewer');
    const list = await call(filesPath(chatId), { headers: viewer.auth });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { data: FileJson[] }).data.map((f) => f.fileid)).toEqual([file.fileid]);
    const got = await call(filesPath(chatId, file.fileid), { headers: viewer.auth });
    expect(await got.text()).toBe('secret');
    await expectEnvelope(await upload(viewer, chatId, small()), 403, 'INSUFFICIENT_PERMISSIONS');
    await expectEnvelope(
      await call(filesPath(chatId, file.fileid), { method: 'DELETE', headers: viewer.auth }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    expect(await storedKeys(chatId)).toEqual([file.object_key]);
    expect(await rowCount(chatId)).toBe(1);

    const member = await memberOf(owner, 'member');
    expect((await upload(member, chatId, small())).status).toBe(201);
    expect(await rowCount(chatId)).toBe(2);

    // The owner's private chat is not the organization's: 404 for its members.
    const privateChat = await newChat(owner, 'private');
    await expectEnvelope(await call(filesPath(privateChat), { headers: viewer.auth }), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(await upload(member, privateChat, small()), 404, 'RESOURCE_NOT_FOUND');
  });

  it('without credentials every route is 401', async () => {
    const { chatId, file } = await ownerWithFile();
    for (const res of [
      await upload(undefined, chatId, small()),
      await call(filesPath(chatId)),
      await call(filesPath(chatId, file.fileid)),
      await call(filesPath(chatId, file.fileid), { method: 'DELETE' }),
    ]) {
      await expectEnvelope(res, 401, 'AUTHENTICATION_REQUIRED');
    }
    expect(await rowCount(chatId)).toBe(1);
  });
});

describe('deleteChatFiles', () => {
  it("deletes every object of the chat in batches of 1,000, orphans included, and nobody else's", async () => {
    const owner = await register();
    const chatId = await newChat(owner);
    const otherChat = await newChat(owner);
    const res = await upload(
      owner,
      chatId,
      multipart([
        { name: 'a.txt', type: 'text/plain', bytes: 'a' },
        { name: 'b.pdf', bytes: pdf(100) },
      ]),
    );
    expect(res.status).toBe(201);
    const kept = await upload(owner, otherChat, multipart([{ name: 'keep.txt', type: 'text/plain', bytes: 'keep' }]));
    expect(kept.status).toBe(201);
    // Objects no row names (an upload whose own cleanup failed): 1,500 of them.
    const orphans = Array.from({ length: 1_500 }, () => `chats/${chatId}/${crypto.randomUUID()}`);
    for (let i = 0; i < orphans.length; i += 100) {
      await Promise.all(orphans.slice(i, i + 100).map((k) => env.FILES.put(k, 'orphan')));
    }
    let deletes = 0;
    const counting = {
      list: (o?: R2ListOptions) => env.FILES.list(o),
      delete: (keys: string | string[]) => {
        deletes++;
        expect(Array.isArray(keys) ? keys.length : 1).toBeLessThanOrEqual(1_000);
        return env.FILES.delete(keys);
      },
    } as unknown as R2Bucket;
    expect(await deleteChatFiles({ FILES: counting }, getDb(env.DB), chatId)).toBe(1_502);
    expect(deletes).toBe(2);
    expect((await env.FILES.list({ prefix: `chats/${chatId}/` })).objects).toEqual([]);
    expect(await rowCount(chatId)).toBe(0);
    expect(await storedKeys(otherChat)).toHaveLength(1);
    expect(await rowCount(otherChat)).toBe(1);
  });
});
