import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../../db/client';
import { ApiError } from '../../../lib/errors';
import type { Logger } from '../../../lib/log';
import { PART_BYTES } from './store';
import { receiveUpload } from './upload';

// What receiveUpload does to R2 when an upload fails halfway: seen through a bucket that records every
// call (R2 itself cannot list unfinished multipart uploads, so an integration test cannot see an abort).

interface Calls {
  puts: string[];
  created: string[];
  parts: number;
  aborted: string[];
  completed: string[];
  deleted: string[][];
}

function recording(failPart?: number): { bucket: R2Bucket; calls: Calls } {
  const calls: Calls = { puts: [], created: [], parts: 0, aborted: [], completed: [], deleted: [] };
  const bucket = {
    put: (key: string, value: ArrayBufferView, options?: R2PutOptions) => {
      calls.puts.push(key);
      return env.FILES.put(key, value, options);
    },
    createMultipartUpload: async (key: string, options?: R2MultipartOptions) => {
      calls.created.push(key);
      const upload = await env.FILES.createMultipartUpload(key, options);
      return {
        uploadPart: (n: number, value: ArrayBufferView) => {
          calls.parts++;
          if (calls.parts === failPart) return Promise.reject(new Error('R2 part failed'));
          return upload.uploadPart(n, value);
        },
        abort: () => {
          calls.aborted.push(key);
          return upload.abort();
        },
        complete: (parts: R2UploadedPart[]) => {
          calls.completed.push(key);
          return upload.complete(parts);
        },
      };
    },
    delete: (keys: string | string[]) => {
      calls.deleted.push(Array.isArray(keys) ? keys : [keys]);
      return env.FILES.delete(keys);
    },
  };
  return { bucket: bucket as unknown as R2Bucket, calls };
}

const B = 'unit-boundary';
const enc = new TextEncoder();
const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
// Never reached: every upload here fails before its rows are written.
const noDb = {} as Database;

function pdf(size: number): Uint8Array {
  const out = new Uint8Array(size).fill(0x41);
  out.set(enc.encode('%PDF-1.7\n'));
  return out;
}

// A first complete file, then `secondBytes` of a second one, then (if `breaks`) the stream fails.
function body(secondBytes: number, breaks: boolean): ReadableStream<Uint8Array> {
  const chunks = [
    enc.encode(`--${B}\r\nContent-Disposition: form-data; name="files"; filename="one.txt"\r\n`),
    enc.encode(`Content-Type: text/plain\r\n\r\nfirst file\r\n`),
    enc.encode(`--${B}\r\nContent-Disposition: form-data; name="files"; filename="two.pdf"\r\n\r\n`),
  ];
  const second = pdf(secondBytes);
  for (let at = 0; at < second.length; at += 65_536) chunks.push(second.slice(at, at + 65_536));
  if (!breaks) chunks.push(enc.encode(`\r\n--${B}--\r\n`));
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else if (breaks) controller.error(new Error('connection reset'));
      else controller.close();
    },
  });
}

async function run(stream: ReadableStream<Uint8Array>, bucket: R2Bucket, chatId: string) {
  return receiveUpload({
    body: stream,
    boundary: B,
    bucket,
    db: noDb,
    chatId,
    userId: 'u',
    limits: { maxFileBytes: 30 * 1_048_576, maxRequestBytes: 100 * 1_048_576, maxFiles: 10 },
    log: silent,
  }).catch((e: unknown) => e);
}

describe('receiveUpload failing halfway', () => {
  it('a body that breaks off aborts the unfinished multipart upload and deletes the finished file', async () => {
    const { bucket, calls } = recording();
    const chatId = crypto.randomUUID();
    const err = await run(body(PART_BYTES + 1_048_576, true), bucket, chatId);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect(calls.puts).toHaveLength(1);
    expect(calls.created).toHaveLength(1);
    expect(calls.parts).toBe(1);
    expect(calls.aborted).toEqual(calls.created);
    expect(calls.completed).toEqual([]);
    expect(calls.deleted).toEqual([calls.puts]);
    expect((await env.FILES.list({ prefix: `chats/${chatId}/` })).objects).toEqual([]);
  });

  it('R2 failing on a part is a 502; the same cleanup follows', async () => {
    const { bucket, calls } = recording(2);
    const chatId = crypto.randomUUID();
    const err = await run(body(2 * PART_BYTES + 10, false), bucket, chatId);
    expect((err as ApiError).status).toBe(502);
    expect((err as ApiError).code).toBe('INTEGRATION_ERROR');
    expect(calls.aborted).toEqual(calls.created);
    expect(calls.deleted).toEqual([calls.puts]);
    expect((await env.FILES.list({ prefix: `chats/${chatId}/` })).objects).toEqual([]);
  });
});
