// A mock upstream that speaks OpenAI's wire format (JSON and SSE) and injects faults on demand.
// A fault is chosen by a marker in the last user message, e.g. "hello [[fault:500]]":
//   400 | 500 | 429 (with Retry-After) | hang | slow (slow first token) | malformed (bad JSON) |
//   cut (stream stops mid-answer without [DONE]) | redirect (302 to another host)
// Every request is recorded; GET /__mock/requests?contains=TEXT lists those whose body has TEXT.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

export interface MockUpstream {
  url: string;
  server: Server;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

interface ChatBody {
  model?: string;
  stream?: boolean;
  messages?: { role: string; content: unknown }[];
}

function lastUserText(body: ChatBody): string {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === 'user') return typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
  }
  return '';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// The mock's answer is derived from the prompt so tests can tell answers apart.
export function mockAnswer(prompt: string): string {
  return `Mock answer to: ${prompt.replace(/\[\[fault:[a-z0-9]+\]\]/g, '').trim()}`;
}

function usage(prompt: string, answer: string) {
  const p = Math.max(1, Math.ceil(prompt.length / 4));
  const c = Math.max(1, Math.ceil(answer.length / 4));
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function chatCompletions(body: ChatBody, res: ServerResponse): Promise<void> {
  const prompt = lastUserText(body);
  const fault = /\[\[fault:([a-z0-9]+)\]\]/.exec(prompt)?.[1];
  const model = body.model ?? 'gpt-4o-mini';
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 10)}`;
  const created = Math.floor(Date.now() / 1000);

  switch (fault) {
    case '400':
      return json(res, 400, { error: { message: 'Invalid request', type: 'invalid_request_error', param: 'messages', code: null } });
    case '500':
      return json(res, 500, { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } });
    case '429':
      return json(res, 429, { error: { message: 'Rate limit reached', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } }, { 'retry-after': '1' });
    case 'hang':
      return new Promise(() => undefined);
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "chatcmpl-broken", "choices": [ {"message": ');
      return;
    case 'redirect':
      res.writeHead(302, { location: 'http://evil.example/v1/chat/completions' });
      res.end();
      return;
  }

  const answer = mockAnswer(prompt);
  if (!body.stream) {
    return json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: usage(prompt, answer),
    });
  }

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  if (fault === 'slow') await sleep(1500);
  send(chunk({ role: 'assistant', content: '' }, null));
  const words = answer.split(' ');
  for (let i = 0; i < words.length; i++) {
    if (fault === 'cut' && i === Math.floor(words.length / 2)) {
      res.destroy();
      return;
    }
    send(chunk({ content: i === 0 ? words[i] : ` ${words[i]}` }, null));
  }
  send(chunk({}, 'stop'));
  send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(prompt, answer) });
  res.write('data: [DONE]\n\n');
  res.end();
}

export async function startMockUpstream(port = 0): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/__mock/requests') {
      const contains = url.searchParams.get('contains');
      return json(res, 200, contains ? requests.filter((r) => r.body.includes(contains)) : requests);
    }
    const body = await readBody(req);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body, at: Date.now() });
    if (req.method === 'POST' && url.pathname.endsWith('/chat/completions')) {
      let parsed: ChatBody;
      try {
        parsed = JSON.parse(body) as ChatBody;
      } catch {
        return json(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error', param: null, code: null } });
      }
      return chatCompletions(parsed, res);
    }
    if (req.method === 'GET' && url.pathname.endsWith('/models')) {
      return json(res, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'mock' }] });
    }
    return json(res, 404, { error: { message: `no mock for ${req.method} ${url.pathname}`, type: 'invalid_request_error', param: null, code: null } });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    server,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
