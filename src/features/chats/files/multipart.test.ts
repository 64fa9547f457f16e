import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../lib/errors';
import { boundaryOf, MultipartReader, parseParams, type PartHeaders } from './multipart';

// Expected parts are written by hand from RFC 7578 / RFC 2046, never taken from a run.
const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const B = 'XyZ-boundary-42';

function join(...pieces: (string | Uint8Array)[]): Uint8Array {
  const arrays = pieces.map((p) => (typeof p === 'string' ? bytes(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

// Feeds `body` in the given chunk sizes (cycled), the way a network delivers it.
function source(body: Uint8Array, sizes: number[]) {
  let at = 0;
  let i = 0;
  return async () => {
    if (at >= body.length) return null;
    const n = sizes[i++ % sizes.length] as number;
    const chunk = body.slice(at, at + n);
    at += n;
    return chunk;
  };
}

interface ParsedPart {
  headers: PartHeaders;
  body: Uint8Array;
}

async function parseAll(body: Uint8Array, sizes: number[] = [body.length || 1], boundary = B): Promise<ParsedPart[]> {
  const reader = new MultipartReader(source(body, sizes), boundary);
  const parts: ParsedPart[] = [];
  for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
    const chunks: Uint8Array[] = [];
    for (let c = await part.read(); c; c = await part.read()) chunks.push(c.slice());
    parts.push({ headers: part.headers, body: join(...chunks) });
  }
  return parts;
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err;
}

// Binary content that contains near-misses of the delimiter, CR/LF, dashes and a NUL.
const TRICKY = join(
  new Uint8Array([0, 1, 2, 0x0d, 0x0a, 0x2d, 0x2d, 0xff]),
  `\r\n--${B.slice(0, -1)}`,
  '\r\n-',
  `--${B}`,
  '\r\r\n\n--',
);

const BODY = join(
  `--${B}\r\n`,
  'Content-Disposition: form-data; name="files"; filename="a.txt"\r\n',
  'Content-Type: text/plain\r\n\r\n',
  'hello\r\nworld',
  `\r\n--${B}\r\n`,
  'content-disposition: form-data; name="files"; filename="bin.dat"\r\n\r\n',
  TRICKY,
  `\r\n--${B}\r\n`,
  'Content-Disposition: form-data; name="files"; filename="empty.txt"\r\nContent-Type: text/plain\r\n\r\n',
  `\r\n--${B}--\r\n`,
  'epilogue, ignored',
);

const EXPECTED = [
  { headers: { name: 'files', filename: 'a.txt', contentType: 'text/plain' }, body: bytes('hello\r\nworld') },
  { headers: { name: 'files', filename: 'bin.dat', contentType: undefined }, body: TRICKY },
  { headers: { name: 'files', filename: 'empty.txt', contentType: 'text/plain' }, body: new Uint8Array(0) },
];

describe('MultipartReader', () => {
  it('reads several parts, binary content with delimiter near-misses, and an empty part', async () => {
    expect(await parseAll(BODY)).toEqual(EXPECTED);
  });

  it('gives the same parts whatever the chunking: split at every byte, and at every single position', async () => {
    expect(await parseAll(BODY, [1])).toEqual(EXPECTED);
    expect(await parseAll(BODY, [2, 3, 5, 7])).toEqual(EXPECTED);
    for (let at = 1; at < BODY.length; at++) {
      const reader = new MultipartReader(
        (() => {
          const chunks = [BODY.slice(0, at), BODY.slice(at)];
          return async () => chunks.shift() ?? null;
        })(),
        B,
      );
      const parts: ParsedPart[] = [];
      for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
        const chunks: Uint8Array[] = [];
        for (let c = await part.read(); c; c = await part.read()) chunks.push(c.slice());
        parts.push({ headers: part.headers, body: join(...chunks) });
      }
      expect(parts, `split at ${at}`).toEqual(EXPECTED);
    }
  });

  it('skips a preamble and transport padding, and the rest of a part nobody read', async () => {
    const body = join(
      'This is the preamble.\r\n',
      `--${B}  \t\r\n`,
      'Content-Disposition: form-data; name="files"; filename="skipped.bin"\r\n\r\n',
      'x'.repeat(10_000),
      `\r\n--${B}\r\n`,
      'Content-Disposition: form-data; name="note"\r\n\r\nhi',
      `\r\n--${B}--`,
    );
    const reader = new MultipartReader(source(body, [97]), B);
    const first = await reader.nextPart();
    expect(first?.headers.filename).toBe('skipped.bin');
    const second = await reader.nextPart();
    expect(second?.headers).toEqual({ name: 'note', filename: undefined, contentType: undefined });
    expect(new TextDecoder().decode((await second?.read()) ?? undefined)).toBe('hi');
    expect(await second?.read()).toBeNull();
    expect(await reader.nextPart()).toBeNull();
    // A part that was skipped reads as ended.
    expect(await first?.read()).toBeNull();
  });

  it('hands large content on without holding it back (only a possible delimiter start is kept)', async () => {
    const big = new Uint8Array(200_000).fill(0x61);
    const body = join(
      `--${B}\r\nContent-Disposition: form-data; name="files"; filename="big"\r\n\r\n`,
      big,
      `\r\n--${B}--`,
    );
    const reader = new MultipartReader(source(body, [65_536]), B);
    const part = await reader.nextPart();
    const sizes: number[] = [];
    for (let c = await part?.read(); c; c = await part?.read()) sizes.push(c.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(200_000);
    // Every chunk is handed on as it comes: none is larger than what the network delivered.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(65_536);
  });

  it('prefers filename* (RFC 5987) and keeps backslashes of Windows paths', async () => {
    const body = join(
      `--${B}\r\n`,
      `Content-Disposition: form-data; name="files"; filename="fallback.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\nx`,
      `\r\n--${B}\r\n`,
      'Content-Disposition: form-data; name="files"; filename="C:\\Users\\me\\a \\"q\\".txt"\r\n\r\ny',
      `\r\n--${B}\r\n`,
      // Raw UTF-8 in the header, as browsers send it (TextEncoder writes é as C3 A9).
      'Content-Disposition: form-data; name="files"; filename="café.txt"\r\n\r\nz',
      `\r\n--${B}--`,
    );
    const parts = await parseAll(body);
    expect(parts.map((p) => p.headers.filename)).toEqual(['€ rates.txt', 'C:\\Users\\me\\a "q".txt', 'café.txt']);
  });

  it('refuses malformed bodies with a 400, never anything else', async () => {
    const cases: [string, Uint8Array][] = [
      ['no boundary at all', bytes('just some text')],
      ['no closing delimiter', bytes(`--${B}\r\nContent-Disposition: form-data; name="files"\r\n\r\nabc`)],
      ['ends inside headers', bytes(`--${B}\r\nContent-Disposition: form-da`)],
      ['ends after a delimiter', bytes(`--${B}`)],
      ['junk after a delimiter', bytes(`--${B}junk\r\n\r\n--${B}--`)],
      ['no Content-Disposition', bytes(`--${B}\r\nContent-Type: text/plain\r\n\r\nabc\r\n--${B}--`)],
      ['not form-data', bytes(`--${B}\r\nContent-Disposition: attachment; name="f"\r\n\r\nabc\r\n--${B}--`)],
      ['no field name', bytes(`--${B}\r\nContent-Disposition: form-data; filename="a"\r\n\r\nabc\r\n--${B}--`)],
      ['header without a colon', bytes(`--${B}\r\nContent-Disposition form-data\r\n\r\nabc\r\n--${B}--`)],
      ['no headers', bytes(`--${B}\r\n\r\nabc\r\n--${B}--`)],
      ['unterminated quote', bytes(`--${B}\r\nContent-Disposition: form-data; name="files\r\n\r\nabc\r\n--${B}--`)],
      ['huge headers', bytes(`--${B}\r\nContent-Disposition: form-data; name="f"\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`)],
      ['endless preamble', bytes('p'.repeat(40_000))],
      ['empty body', new Uint8Array(0)],
    ];
    for (const [what, body] of cases) {
      for (const sizes of [[body.length || 1], [1], [5]]) {
        const err = await failure(parseAll(body, sizes));
        expect(err.status, what).toBe(400);
        expect(err.code, what).toBe('VALIDATION_ERROR');
      }
    }
  });
});

describe('boundaryOf', () => {
  it('reads the boundary of multipart/form-data, quoted or not', () => {
    expect(boundaryOf(`multipart/form-data; boundary=${B}`)).toBe(B);
    expect(boundaryOf('Multipart/Form-Data; charset=utf-8; boundary="a b:c"')).toBe('a b:c');
    expect(boundaryOf('multipart/form-data;boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW')).toBe(
      '----WebKitFormBoundary7MA4YWxkTrZu0gW',
    );
  });

  it('refuses other types and missing or invalid boundaries with a 400', () => {
    for (const ct of [
      undefined,
      'application/json',
      'multipart/mixed; boundary=abc',
      'multipart/form-data',
      'multipart/form-data; boundary=',
      `multipart/form-data; boundary=${'a'.repeat(71)}`,
      'multipart/form-data; boundary="ends with space "',
      'multipart/form-data; boundary=semi"quote',
    ]) {
      let thrown: unknown;
      try {
        boundaryOf(ct);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, String(ct)).toBeInstanceOf(ApiError);
      expect((thrown as ApiError).status).toBe(400);
    }
  });
});

describe('parseParams', () => {
  it('reads tokens and quoted strings, first occurrence wins', () => {
    expect([...parseParams('; name="files"; filename=a.txt; name="other"')]).toEqual([
      ['name', 'files'],
      ['filename', 'a.txt'],
    ]);
  });
});
