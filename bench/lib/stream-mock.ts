// The bench's own streaming upstream: an OpenAI chat.completion.chunk stream whose content chunks
// are spaced in time (default 20 chunks, 5 ms apart). Each content chunk carries the moment it was
// written, on CLOCK_MONOTONIC (process.hrtime, shared by every process on the machine), as
// `[t:<index>:<ns>]`, so a client can tell how long each chunk took to reach it through a gateway.
// The first content chunk is written together with the headers and the role chunk, so time to
// first byte through a gateway is pure gateway overhead.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StreamMockOptions {
  chunks: number;
  gapMs: number;
}

export interface StreamMock {
  url: string;
  close(): Promise<void>;
}

export const STAMP = /\[t:(\d+):(\d+)\]/g;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, body: { model?: string; stream?: boolean }, opts: StreamMockOptions): void {
  const id = `chatcmpl-bench${Math.random().toString(36).slice(2, 10)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model ?? 'gpt-4o-mini';
  const usage = { prompt_tokens: 8, completion_tokens: opts.chunks, total_tokens: 8 + opts.chunks };
  if (!body.stream) {
    const text = 'bench answer';
    const payload = JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
    return;
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  res.on('close', () => clearTimeout(timer));
  const tick = (prefix: string) => {
    if (res.destroyed) return;
    const stamp = `[t:${i}:${process.hrtime.bigint()}]`;
    res.write(prefix + chunk({ content: i === 0 ? stamp : ` ${stamp}` }, null));
    i++;
    if (i < opts.chunks) {
      timer = setTimeout(() => tick(''), opts.gapMs);
      return;
    }
    res.write(chunk({}, 'stop'));
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
  };
  tick(chunk({ role: 'assistant', content: '' }, null));
}

export async function startStreamMock(opts: StreamMockOptions): Promise<StreamMock> {
  const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    void (async () => {
      const raw = await readBody(req);
      if (req.method !== 'POST' || !(req.url ?? '').endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"not found","type":"not_found"}}');
        return;
      }
      let body: { model?: string; stream?: boolean };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"invalid JSON","type":"invalid_request_error"}}');
        return;
      }
      answer(res, body, opts);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
