import type { ServerResponse } from 'node:http';
import {
  DELAY_MS,
  faultOf,
  hang,
  json,
  afterToolsAnswer,
  argumentPieces,
  lastUserText,
  mockAnswer,
  planToolCalls,
  resultText,
  structuredText,
  type MockTool,
  type MockToolCall,
  type MockToolChoice,
  redirect,
  sleep,
  SLOW_FIRST_TOKEN_MS,
  tokenCounts,
  type VendorHandler,
} from './common';

interface ChatBody {
  model?: string;
  stream?: boolean;
  messages?: unknown;
  tools?: unknown;
  tool_choice?: unknown;
  response_format?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function toolsOf(body: ChatBody): MockTool[] {
  if (!Array.isArray(body.tools)) return [];
  return body.tools.flatMap((t: unknown) => {
    const fn = isObject(t) && isObject(t.function) ? t.function : undefined;
    return fn && typeof fn.name === 'string' ? [{ name: fn.name, schema: fn.parameters ?? {} }] : [];
  });
}

function choiceOf(body: ChatBody): MockToolChoice {
  const c = body.tool_choice;
  if (c === 'auto' || c === 'none' || c === 'required') return c;
  if (isObject(c) && isObject(c.function) && typeof c.function.name === 'string') return { name: c.function.name };
  return undefined;
}

// The contents of the tool messages that end the conversation, or undefined when it does not end so.
function trailingToolResults(messages: unknown): string[] | undefined {
  if (!Array.isArray(messages)) return undefined;
  const out: string[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m: unknown = messages[i];
    if (!isObject(m) || m.role !== 'tool') break;
    out.unshift(resultText(m.content));
  }
  return out.length > 0 ? out : undefined;
}

// The schema the answer follows: json_schema's schema, any object for json_object, none otherwise.
function structuredSchema(body: ChatBody): unknown {
  const rf = body.response_format;
  if (!isObject(rf)) return undefined;
  if (rf.type === 'json_object') return { type: 'object' };
  if (rf.type === 'json_schema' && isObject(rf.json_schema)) return rf.json_schema.schema ?? { type: 'object' };
  return undefined;
}

const flakyCalls = new Map<string, number>();

function openaiError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
) {
  json(res, status, { error: { message, type, param: null, code: null } }, headers);
}

function usage(prompt: string, answer: string) {
  const t = tokenCounts(prompt, answer);
  return { prompt_tokens: t.input, completion_tokens: t.output, total_tokens: t.input + t.output };
}

// OpenAI's /v1/chat/completions, JSON and SSE (the format Groq and OpenAI-compatible servers share).
export const openaiChat: VendorHandler = async (_req, _url, raw, res) => {
  let body: ChatBody;
  try {
    body = JSON.parse(raw) as ChatBody;
  } catch {
    return openaiError(res, 400, 'invalid_request_error', 'invalid JSON');
  }
  const prompt = lastUserText(body.messages);
  const fault = faultOf(prompt);
  const model = body.model ?? 'gpt-4o-mini';
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 10)}`;
  const created = Math.floor(Date.now() / 1000);

  // flaky: the first two calls with this prompt fail with 503, the third succeeds (retry tests).
  if (fault === 'flaky') {
    const seen = (flakyCalls.get(prompt) ?? 0) + 1;
    flakyCalls.set(prompt, seen);
    if (seen <= 2) return openaiError(res, 503, 'server_error', 'Temporarily unavailable');
  }

  switch (fault) {
    case '400':
      return openaiError(res, 400, 'invalid_request_error', 'Invalid request');
    case '500':
      return openaiError(res, 500, 'server_error', 'The server had an error');
    case '429':
      return openaiError(res, 429, 'rate_limit_error', 'Rate limit reached', { 'retry-after': '1' });
    case 'hang':
      return hang();
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "chatcmpl-broken", "choices": [ {"message": ');
      return;
    case 'redirect':
      return redirect(res, '/v1/chat/completions');
  }

  const tools = toolsOf(body);
  const results = trailingToolResults(body.messages);
  const schema = structuredSchema(body);
  const calls = planToolCalls(prompt, tools, choiceOf(body), results);
  if (calls || (fault === 'badtool' && tools.length > 0)) {
    if (fault === 'delay') await sleep(DELAY_MS);
    return openaiToolAnswer(res, body, calls ?? [], fault === 'badtool', { id, created, model, prompt });
  }
  const answer = results
    ? afterToolsAnswer(results)
    : schema !== undefined
      ? structuredText(prompt, schema)
      : mockAnswer(prompt);
  // delay: the whole answer after DELAY_MS, streamed or not (a call that is in flight long enough to be
  // interrupted — e.g. by a restart — and then completes).
  if (fault === 'delay') await sleep(DELAY_MS);
  if (!body.stream) {
    return json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: answer, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
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
  if (fault === 'slow') await sleep(SLOW_FIRST_TOKEN_MS);
  send(chunk({ role: 'assistant', content: '' }, null));
  const words = answer.split(' ');
  for (let i = 0; i < words.length; i++) {
    if (fault === 'cut' && i === Math.floor(words.length / 2)) {
      // Let the first half reach the client before the connection drops, as a real cut would.
      await sleep(50);
      res.destroy();
      return;
    }
    send(chunk({ content: i === 0 ? words[i] : ` ${words[i]}` }, null));
  }
  send(chunk({}, 'stop'));
  send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(prompt, answer) });
  res.write('data: [DONE]\n\n');
  res.end();
};

export const openaiModels: VendorHandler = async (_req, _url, _raw, res) =>
  json(res, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'mock' }] });

// Deterministic embeddings that know a few synonyms, unlike the gateway's local hashing embedder, so
// a test can tell which embedder matched: stop words dropped, each word mapped to its canonical
// synonym (weight 1) plus the word as written (weight 0.1), so synonyms score high but below 1.
// Feature-hashed into 64 signed buckets and deliberately not unit length, as self-hosted models
// may answer: the gateway must normalise.
export const MOCK_EMBEDDING_DIMENSIONS = 64;
const EMBED_STOP_WORDS = new Set(
  'a an the is are was be of to for in on at by with and or me my i you your we our it this that please can could would some any'.split(
    ' ',
  ),
);
const SYNONYMS: Record<string, string> = {
  automobile: 'car',
  vehicle: 'car',
  auto: 'car',
  large: 'big',
  huge: 'big',
  giant: 'big',
  recommend: 'suggest',
  propose: 'suggest',
  price: 'cost',
  expense: 'cost',
  quick: 'fast',
  rapid: 'fast',
  small: 'little',
  tiny: 'little',
};

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function mockEmbedding(text: string, dimensions = MOCK_EMBEDDING_DIMENSIONS): number[] {
  const v = new Array<number>(dimensions).fill(0);
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    v[h % dimensions] = (v[h % dimensions] ?? 0) + (h & 0x80000000 ? -1 : 1) * weight;
  };
  const words =
    text
      .replace(/\[\[fault:[a-z0-9]+\]\]/g, ' ')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const w of words) {
    if (EMBED_STOP_WORDS.has(w)) continue;
    add(`c:${SYNONYMS[w] ?? w}`, 1);
    add(`r:${w}`, 0.1);
  }
  return v.map((x) => x * 3);
}

// Little-endian float32, as OpenAI sends `encoding_format: 'base64'`.
function base64Floats(values: number[]): string {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((x, i) => view.setFloat32(i * 4, x, true));
  return Buffer.from(view.buffer).toString('base64');
}

interface EmbeddingsBody {
  model?: unknown;
  input?: unknown;
  encoding_format?: unknown;
}

// OpenAI's /v1/embeddings (also what Ollama and vLLM serve). Faults, by marker in any input:
//   500 / embed500, hang / embedhang, malformed / embedmalformed (bad JSON), embeddims (an extra
//   vector of another length), embedinf (a number JSON reads as Infinity). The embed* names leave the
//   chat mock alone, so a chat request with that prompt still succeeds.
export const openaiEmbeddings: VendorHandler = async (_req, _url, raw, res) => {
  let body: EmbeddingsBody;
  try {
    body = JSON.parse(raw) as EmbeddingsBody;
  } catch {
    return openaiError(res, 400, 'invalid_request_error', 'invalid JSON');
  }
  const inputs = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((s) => typeof s === 'string' && s !== '')) {
    return openaiError(res, 400, 'invalid_request_error', "'input' must be a non-empty string or array of strings");
  }
  if (typeof body.model !== 'string' || body.model === '') {
    return openaiError(res, 400, 'invalid_request_error', "'model' is required");
  }
  const texts = inputs as string[];
  const fault = texts.map((t) => faultOf(t)).find((f) => f !== undefined);
  switch (fault) {
    case '500':
    case 'embed500':
      return openaiError(res, 500, 'server_error', 'The server had an error');
    case 'hang':
    case 'embedhang':
      return hang();
    case 'malformed':
    case 'embedmalformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"object": "list", "data": [ {"embedding": [0.1, ');
      return;
    case 'embedinf': {
      res.writeHead(200, { 'content-type': 'application/json' });
      const data = texts.map((_, index) => `{"object":"embedding","index":${index},"embedding":[1e999,0.5]}`);
      res.end(
        `{"object":"list","model":"${body.model}","data":[${data.join(',')}],"usage":{"prompt_tokens":1,"total_tokens":1}}`,
      );
      return;
    }
  }
  const vectors = texts.map((t) => mockEmbedding(t));
  if (fault === 'embeddims') vectors.push(mockEmbedding(texts[0] ?? '', MOCK_EMBEDDING_DIMENSIONS / 2));
  const tokens = texts.reduce((n, t) => n + tokenCounts(t, '').input, 0);
  json(res, 200, {
    object: 'list',
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: body.encoding_format === 'base64' ? base64Floats(v) : v,
    })),
    model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
};

// A tool-call answer, JSON or SSE. `bad`: the calls in a shape no OpenAI server sends (no name, a
// numeric id, arguments that are not a string).
function openaiToolAnswer(
  res: ServerResponse,
  body: ChatBody,
  calls: MockToolCall[],
  bad: boolean,
  meta: { id: string; created: number; model: string; prompt: string },
) {
  const { id, created, model, prompt } = meta;
  const argsText = calls.map((c) => c.arguments).join('');
  const wireCalls = bad
    ? [{ id: 7, type: 'function', function: { arguments: { not: 'a string' } } }]
    : calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  if (!body.stream) {
    return json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, tool_calls: wireCalls, refusal: null },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: usage(prompt, argsText),
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
  send(chunk({ role: 'assistant', content: null }, null));
  if (bad) {
    send(chunk({ tool_calls: [{ index: 'zero', id: 7, function: { name: 5 } }] }, null));
  } else {
    calls.forEach((c, index) => {
      send(
        chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }, null),
      );
      for (const piece of argumentPieces(c.arguments)) {
        send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
      }
    });
  }
  send(chunk({}, 'tool_calls'));
  send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(prompt, argsText) });
  res.write('data: [DONE]\n\n');
  res.end();
}
