import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../lib/errors';
import { FileSink, PART_BYTES } from './store';

// The sink against the real (local) R2 binding, through a wrapper that records what reached R2.
interface Seen {
  puts: number[];
  parts: number[];
  completed: number;
  aborted: number;
}

function byteLength(v: unknown): number {
  return ArrayBuffer.isView(v) ? v.byteLength : v instanceof ArrayBuffer ? v.byteLength : -1;
}

function watched(inner: R2Bucket): { bucket: R2Bucket; seen: Seen } {
  const seen: Seen = { puts: [], parts: [], completed: 0, aborted: 0 };
  const bucket = {
    put: (key: string, value: ArrayBufferView, options?: R2PutOptions) => {
      seen.puts.push(byteLength(value));
      return inner.put(key, value, options);
    },
    createMultipartUpload: async (key: string, options?: R2MultipartOptions) => {
      const upload = await inner.createMultipartUpload(key, options);
      return {
        key: upload.key,
        uploadId: upload.uploadId,
        uploadPart: (n: number, value: ArrayBufferView) => {
          seen.parts.push(byteLength(value));
          return upload.uploadPart(n, value);
        },
        abort: () => {
          seen.aborted++;
          return upload.abort();
        },
        complete: (parts: R2UploadedPart[]) => {
          seen.completed++;
          return upload.complete(parts);
        },
      };
    },
  };
  return { bucket: bucket as unknown as R2Bucket, seen };
}

// Deterministic, incompressible-looking bytes behind a PDF signature.
function pdfBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    out[i] = x >>> 24;
  }
  out.set(new TextEncoder().encode('%PDF-1.7\n'));
  return out;
}

// Where two byte arrays first differ ('same' if they do not): a toEqual diff of megabytes would not fit in memory.
function firstDifference(a: Uint8Array | undefined, b: Uint8Array): string {
  if (!a) return 'missing';
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} != ${b[i]}`;
  return 'same';
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function sink(bucket: R2Bucket, key: string, declaredType: string | undefined, maxBytes = 30 * 1_048_576) {
  return new FileSink({ bucket, key, name: 'x', field: 'files[0]', declaredType, maxBytes });
}

async function feed(s: FileSink, bytes: Uint8Array, chunk: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += chunk) await s.write(bytes.subarray(at, at + chunk));
}

async function stored(key: string): Promise<Uint8Array | undefined> {
  const o = await env.FILES.get(key);
  return o ? new Uint8Array(await o.arrayBuffer()) : undefined;
}

const key = () => `test/store/${crypto.randomUUID()}`;

describe('FileSink', () => {
  it('streams a 20 MiB file to R2 in 5 MiB parts, never holding more than one part', async () => {
    const { bucket, seen } = watched(env.FILES);
    const bytes = pdfBytes(20 * 1_048_576 + 12_345);
    const k = key();
    const s = sink(bucket, k, 'application/pdf');
    await feed(s, bytes, 65_536);
    const file = await s.finish();
    expect(file).toEqual({ size: bytes.length, sha256: await sha256(bytes), contentType: 'application/pdf' });
    expect(seen).toEqual({
      puts: [],
      parts: [PART_BYTES, PART_BYTES, PART_BYTES, PART_BYTES, 12_345],
      completed: 1,
      aborted: 0,
    });
    // The measurement: the sink's own buffer never exceeded one part (the file is 4 parts and more).
    expect(s.peakHeld).toBeLessThanOrEqual(PART_BYTES);
    expect(firstDifference(await stored(k), bytes)).toBe('same');
    expect((await env.FILES.head(k))?.httpMetadata?.contentType).toBe('application/pdf');
  });

  it('stores a small file with one put of the bytes it holds, and holds little for it', async () => {
    const { bucket, seen } = watched(env.FILES);
    const bytes = new TextEncoder().encode('a,b\n1,2\n'.repeat(5_000));
    const k = key();
    const s = sink(bucket, k, 'text/csv');
    await feed(s, bytes, 1_000);
    expect(await s.finish()).toEqual({ size: bytes.length, sha256: await sha256(bytes), contentType: 'text/csv' });
    expect(seen.puts).toEqual([bytes.length]);
    expect(seen.parts).toEqual([]);
    expect(s.peakHeld).toBeLessThanOrEqual(2 * 65_536);
    expect(firstDifference(await stored(k), bytes)).toBe('same');
  });

  it('sends no empty last part for a file of exactly two parts, and slices big chunks without copying', async () => {
    const { bucket, seen } = watched(env.FILES);
    const bytes = pdfBytes(2 * PART_BYTES);
    const k = key();
    const s = sink(bucket, k, undefined);
    // One chunk larger than a part, then the rest.
    await s.write(bytes.subarray(0, PART_BYTES + 10));
    await s.write(bytes.subarray(PART_BYTES + 10));
    expect((await s.finish()).contentType).toBe('application/pdf');
    expect(seen.parts).toEqual([PART_BYTES, PART_BYTES]);
    expect(firstDifference(await stored(k), bytes)).toBe('same');
  });

  it('refuses a spoofed type on its first bytes, before anything is stored', async () => {
    const { bucket, seen } = watched(env.FILES);
    const k = key();
    const s = sink(bucket, k, 'image/png');
    const err = await feed(s, new TextEncoder().encode('<html><script>alert(1)</script></html>'), 4).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toMatch(/declared image\/png but its content is text/);
    await s.abort();
    expect(seen).toEqual({ puts: [], parts: [], completed: 0, aborted: 0 });
    expect(await env.FILES.head(k)).toBeNull();
  });

  it('stops at the byte that crosses the file limit (413) and aborts the multipart upload', async () => {
    const { bucket, seen } = watched(env.FILES);
    const k = key();
    const s = sink(bucket, k, 'application/pdf', 6 * 1_048_576);
    const err = await feed(s, pdfBytes(7 * 1_048_576), 65_536).catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(413);
    await s.abort();
    expect(seen.parts).toEqual([PART_BYTES]);
    expect(seen).toMatchObject({ completed: 0, aborted: 1 });
    expect(await env.FILES.head(k)).toBeNull();
  });

  it('refuses a text file with a NUL after its first part, and commits nothing', async () => {
    const { bucket, seen } = watched(env.FILES);
    const k = key();
    const bytes = new TextEncoder().encode('x'.repeat(6 * 1_048_576));
    bytes[6 * 1_048_576 - 3] = 0;
    const s = sink(bucket, k, 'text/plain');
    const err = await feed(s, bytes, 65_536).catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(400);
    await s.abort();
    expect(seen).toMatchObject({ parts: [PART_BYTES], completed: 0, aborted: 1 });
    expect(await env.FILES.head(k)).toBeNull();
  });

  it('refuses text cut in the middle of a character at the very end', async () => {
    const { bucket, seen } = watched(env.FILES);
    const s = sink(bucket, key(), 'text/plain');
    await s.write(new Uint8Array([0x63, 0x61, 0x66, 0xc3]));
    const err = await s.finish().catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(400);
    expect(seen.puts).toEqual([]);
  });
});
