import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  faultOf,
  hang,
  json,
  afterToolsAnswer,
  argumentPieces,
  hasJsonMarker,
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

// Besides the faults of common.ts: 529 (overloaded_error), and midstream (an `error` event after a
// few deltas of a 200 stream, as Anthropic sends when it becomes overloaded mid-answer).

interface MessagesBody {
  model?: unknown;
  max_tokens?: unknown;
  stream?: unknown;
  messages?: unknown;
  stop_sequences?: unknown;
  tools?: unknown;
  tool_choice?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function toolsOf(body: MessagesBody): MockTool[] {
  if (!Array.isArray(body.tools)) return [];
  return body.tools.flatMap((t: unknown) =>
    isObject(t) && typeof t.name === 'string' ? [{ name: t.name, schema: t.input_schema ?? {} }] : [],
  );
}

function choiceOf(body: MessagesBody): MockToolChoice {
  const c = body.tool_choice;
  if (!isObject(c)) return undefined;
  if (c.type === 'auto' || c.type === 'none') return c.type;
  if (c.type === 'any') return 'required';
  if (c.type === 'tool' && typeof c.name === 'string') return { name: c.name };
  return undefined;
}

// The tool_result blocks of the last message when it is a user turn of them, else undefined.
function trailingToolResults(messages: unknown): string[] | undefined {
  if (!Array.isArray(messages)) return undefined;
  const last: unknown = messages[messages.length - 1];
  if (!isObject(last) || last.role !== 'user' || !Array.isArray(last.content)) return undefined;
  const results = (last.content as unknown[]).filter((b) => isObject(b) && b.type === 'tool_result');
  return results.length > 0 ? results.map((b) => resultText((b as { content?: unknown }).content)) : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

const randomId = (prefix: string) => `${prefix}_${Math.random().toString(36).slice(2, 14)}`;

function anthropicError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
) {
  json(res, status, { type: 'error', error: { type, message } }, { 'request-id': randomId('req'), ...headers });
}

// The key arrives as `x-api-key` (API versions up to 2023-06-01) or as a Bearer token (SDK 1.x).
function hasKey(req: IncomingMessage): boolean {
  const key = req.headers['x-api-key'];
  const auth = req.headers.authorization;
  return (typeof key === 'string' && key !== '') || (typeof auth === 'string' && /^Bearer \S+$/.test(auth));
}

// Mock tokens are words: max_tokens cuts the answer after that many, a stop sequence right before it.
function shape(answer: string, body: MessagesBody, maxTokens: number) {
  const stops = Array.isArray(body.stop_sequences)
    ? body.stop_sequences.filter((s): s is string => typeof s === 'string')
    : [];
  for (const s of stops) {
    const at = s === '' ? -1 : answer.indexOf(s);
    if (at >= 0) return { text: answer.slice(0, at), stopReason: 'stop_sequence', stopSequence: s };
  }
  const words = answer.split(' ');
  if (words.length > maxTokens) {
    return { text: words.slice(0, maxTokens).join(' '), stopReason: 'max_tokens', stopSequence: null };
  }
  return { text: answer, stopReason: 'end_turn', stopSequence: null };
}

// Anthropic's POST /v1/messages, JSON and SSE.
export const anthropicMessages: VendorHandler = async (req, _url, raw, res) => {
  if (!hasKey(req)) return anthropicError(res, 401, 'authentication_error', 'invalid x-api-key');
  if (!req.headers['anthropic-version']) {
    return anthropicError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
  }
  let body: MessagesBody;
  try {
    body = JSON.parse(raw) as MessagesBody;
  } catch {
    return anthropicError(res, 400, 'invalid_request_error', 'There was an issue with the format of your request');
  }
  if (typeof body.max_tokens !== 'number') {
    return anthropicError(res, 400, 'invalid_request_error', 'max_tokens: Field required');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return anthropicError(res, 400, 'invalid_request_error', 'messages: at least one message is required');
  }
  const prompt = lastUserText(body.messages);
  const fault = faultOf(prompt);
  const model = typeof body.model === 'string' ? body.model : 'claude-3-5-haiku-latest';
  const stream = body.stream === true;

  switch (fault) {
    case '400':
      return anthropicError(res, 400, 'invalid_request_error', 'Invalid request');
    case '500':
      return anthropicError(res, 500, 'api_error', 'Internal server error');
    case '429':
      return anthropicError(res, 429, 'rate_limit_error', 'Number of request tokens has exceeded your rate limit', {
        'retry-after': '1',
      });
    case '529':
      return anthropicError(res, 529, 'overloaded_error', 'Overloaded');
    case 'hang':
      return hang();
    case 'redirect':
      return redirect(res, '/v1/messages');
  }

  const tools = toolsOf(body);
  const choice = choiceOf(body);
  const results = trailingToolResults(body.messages);
  let calls: MockToolCall[] | undefined;
  let structured: string | undefined;
  if (typeof choice === 'object' && hasJsonMarker(prompt) && faultOf(prompt) !== 'toolloop') {
    // Structured output through a forced tool: an object is the tool's input; anything else (invalid
    // JSON, an array) is answered as text, as a model that ignores the tool would.
    const x = structuredText(prompt, tools.find((t) => t.name === choice.name)?.schema);
    if (parseObject(x)) calls = [{ id: randomId('toolu'), name: choice.name, arguments: x }];
    else structured = x;
  } else {
    calls = planToolCalls(prompt, tools, choice, results, 'toolu');
  }
  if (calls || (fault === 'badtool' && tools.length > 0)) {
    return anthropicToolAnswer(res, calls ?? [], fault === 'badtool', stream, model, prompt);
  }
  const base = structured ?? (results ? afterToolsAnswer(results) : mockAnswer(prompt));
  const { text, stopReason, stopSequence } = shape(base, body, body.max_tokens);
  const tokens = tokenCounts(prompt, text);
  const id = randomId('msg');
  const message = (content: unknown[], stop: string | null, outputTokens: number) => ({
    id,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stop,
    stop_sequence: stop === null ? null : stopSequence,
    stop_details: null,
    container: null,
    usage: {
      input_tokens: tokens.input,
      output_tokens: outputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      service_tier: 'standard',
    },
  });

  if (!stream) {
    if (fault === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "msg_broken", "type": "message", "content": [ {"type": "text", "text": ');
      return;
    }
    if (fault === 'slow') await sleep(SLOW_FIRST_TOKEN_MS);
    const full = JSON.stringify(message([{ type: 'text', text, citations: null }], stopReason, tokens.output));
    if (fault === 'cut') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(full)) });
      res.write(full.slice(0, Math.floor(full.length / 2)));
      res.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': randomId('req') });
    res.end(full);
    return;
  }

  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': randomId('req'),
  });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('message_start', { type: 'message_start', message: message([], null, 1) });
  send('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '', citations: null },
  });
  send('ping', { type: 'ping' });
  if (fault === 'slow') await sleep(SLOW_FIRST_TOKEN_MS);
  if (fault === 'malformed') {
    res.write('event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {\n\n');
    res.end();
    return;
  }
  const words = text === '' ? [] : text.split(' ');
  const half = Math.floor(words.length / 2);
  for (let i = 0; i < words.length; i++) {
    if (fault === 'cut' && i === half) {
      // Let what was sent reach the client first: a cut arrives mid-answer, not with the headers.
      await sleep(50);
      res.destroy();
      return;
    }
    if (fault === 'midstream' && i === half) {
      send('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
      res.end();
      return;
    }
    const word = i === 0 ? words[i] : ` ${words[i]}`;
    send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } });
  }
  send('content_block_stop', { type: 'content_block_stop', index: 0 });
  send('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: stopSequence, stop_details: null, container: null },
    usage: { output_tokens: tokens.output },
  });
  send('message_stop', { type: 'message_stop' });
  res.end();
};

// A tool_use answer, JSON or SSE. `bad`: tool_use blocks without id or name, input not an object.
function anthropicToolAnswer(
  res: ServerResponse,
  calls: MockToolCall[],
  bad: boolean,
  stream: boolean,
  model: string,
  prompt: string,
) {
  const id = randomId('msg');
  const tokens = tokenCounts(prompt, calls.map((c) => c.arguments).join(''));
  const usage = {
    input_tokens: tokens.input,
    output_tokens: tokens.output,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    service_tier: 'standard',
  };
  const blocks = bad
    ? [{ type: 'tool_use', id: 5, input: 'not an object' }]
    : calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: parseObject(c.arguments) ?? {} }));
  const message = (content: unknown[], stop: string | null) => ({
    id,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stop,
    stop_sequence: null,
    stop_details: null,
    container: null,
    usage,
  });
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': randomId('req') });
    res.end(JSON.stringify(message(blocks, 'tool_use')));
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': randomId('req'),
  });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('message_start', {
    type: 'message_start',
    message: { ...message([], null), usage: { ...usage, output_tokens: 1 } },
  });
  if (bad) {
    send('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', input: 3 },
    });
  } else {
    calls.forEach((c, index) => {
      send('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} },
      });
      send('content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: '' },
      });
      for (const piece of argumentPieces(c.arguments)) {
        send('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: piece },
        });
      }
      send('content_block_stop', { type: 'content_block_stop', index });
    });
  }
  send('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null, stop_details: null, container: null },
    usage: { output_tokens: tokens.output },
  });
  send('message_stop', { type: 'message_stop' });
  res.end();
}
