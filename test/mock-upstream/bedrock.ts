import type { ServerResponse } from 'node:http';
import zlib from 'node:zlib';
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
  toolCallId,
  type MockTool,
  type MockToolCall,
  type MockToolChoice,
  redirect,
  sleep,
  SLOW_FIRST_TOKEN_MS,
  tokenCounts,
  type VendorHandler,
} from './common';

interface ConverseBody {
  messages?: unknown;
  system?: unknown;
  inferenceConfig?: { maxTokens?: unknown };
  toolConfig?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function toolsOf(body: ConverseBody): MockTool[] {
  const tc = body.toolConfig;
  if (!isObject(tc) || !Array.isArray(tc.tools)) return [];
  return tc.tools.flatMap((t: unknown) => {
    const spec = isObject(t) && isObject(t.toolSpec) ? t.toolSpec : undefined;
    if (!spec || typeof spec.name !== 'string') return [];
    return [{ name: spec.name, schema: isObject(spec.inputSchema) ? (spec.inputSchema.json ?? {}) : {} }];
  });
}

function choiceOf(body: ConverseBody): MockToolChoice {
  const c = isObject(body.toolConfig) ? body.toolConfig.toolChoice : undefined;
  if (!isObject(c)) return undefined;
  if (c.auto !== undefined) return 'auto';
  if (c.any !== undefined) return 'required';
  if (isObject(c.tool) && typeof c.tool.name === 'string') return { name: c.tool.name };
  return undefined;
}

function trailingToolResults(messages: unknown): string[] | undefined {
  if (!Array.isArray(messages)) return undefined;
  const last: unknown = messages[messages.length - 1];
  if (!isObject(last) || last.role !== 'user' || !Array.isArray(last.content)) return undefined;
  const results = (last.content as unknown[]).flatMap((b) =>
    isObject(b) && isObject(b.toolResult) ? [resultText(b.toolResult.content)] : [],
  );
  return results.length > 0 ? results : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

// zlib.crc32 arrived in Node 22.2; the fallback keeps the mock working on older Nodes.
function crc32Fallback(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const crc32: (bytes: Uint8Array) => number =
  typeof zlib.crc32 === 'function' ? (b) => zlib.crc32(b) >>> 0 : crc32Fallback;

// One AWS event-stream message with string headers (type 7), as Bedrock sends them.
export function encodeEventStreamMessage(headers: Record<string, string>, payload: Uint8Array): Buffer {
  const headerParts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(7, 1 + n.length);
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    headerParts.push(h);
  }
  const headerBytes = Buffer.concat(headerParts);
  const total = 12 + headerBytes.length + payload.length + 4;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, 12);
  Buffer.from(payload).copy(message, 12 + headerBytes.length);
  message.writeUInt32BE(crc32(message.subarray(0, total - 4)), total - 4);
  return message;
}

// Real Bedrock pads every event with a random-length `p` field to hide the token lengths.
function event(eventType: string, body: Record<string, unknown>): Buffer {
  const p = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123'.slice(0, 1 + Math.floor(Math.random() * 50));
  const payload = Buffer.from(JSON.stringify({ ...body, p }));
  return encodeEventStreamMessage(
    { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' },
    payload,
  );
}

function exception(exceptionType: string, message: string): Buffer {
  return encodeEventStreamMessage(
    { ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' },
    Buffer.from(JSON.stringify({ message })),
  );
}

function bedrockError(res: ServerResponse, status: number, type: string, message: string, extra = {}) {
  json(
    res,
    status,
    { message },
    { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, ...extra },
  );
}

function usage(prompt: string, answer: string) {
  const t = tokenCounts(prompt, answer);
  return { inputTokens: t.input, outputTokens: t.output, totalTokens: t.input + t.output };
}

// Like the local provider, a "token" is a word, so maxTokens can truncate the answer.
function answerFor(prompt: string, body: ConverseBody, text?: string): { words: string[]; stopReason: string } {
  const words = (text ?? mockAnswer(prompt)).split(' ');
  const max = body.inferenceConfig?.maxTokens;
  if (typeof max === 'number' && max > 0 && max < words.length) {
    return { words: words.slice(0, max), stopReason: 'max_tokens' };
  }
  return { words, stopReason: 'end_turn' };
}

// Bedrock runtime's Converse (JSON) and ConverseStream (AWS event stream), with SigV4 required.
export const bedrockConverse: VendorHandler = async (req, url, raw, res) => {
  const streaming = url.pathname.endsWith('/converse-stream');
  const auth = req.headers.authorization;
  if (typeof auth !== 'string' || !auth.startsWith('AWS4-HMAC-SHA256 Credential=') || !req.headers['x-amz-date']) {
    return bedrockError(
      res,
      403,
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
  let body: ConverseBody;
  try {
    body = JSON.parse(raw) as ConverseBody;
  } catch {
    return bedrockError(
      res,
      400,
      'ValidationException',
      'Malformed input request, please reformat your input and try again.',
    );
  }
  const prompt = lastUserText(body.messages);
  switch (faultOf(prompt)) {
    case '400':
      return bedrockError(res, 400, 'ValidationException', 'Malformed input request');
    case '429':
      return bedrockError(res, 429, 'ThrottlingException', 'Too many requests, please wait before trying again.', {
        'retry-after': '1',
      });
    case '500':
      return bedrockError(res, 500, 'InternalServerException', 'The server encountered an internal error.');
    case 'hang':
      return hang();
    case 'redirect':
      return redirect(res, url.pathname);
    case 'malformed':
      if (streaming) break;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"output": {"message": {"role": "assistant", "content": [');
      return;
  }

  const tools = toolsOf(body);
  const choice = choiceOf(body);
  const results = trailingToolResults(body.messages);
  let calls: MockToolCall[] | undefined;
  let structured: string | undefined;
  if (typeof choice === 'object' && hasJsonMarker(prompt) && faultOf(prompt) !== 'toolloop') {
    // Structured output through a forced tool (as the Anthropic mock): an object is the tool's input,
    // anything else is answered as text.
    const x = structuredText(prompt, tools.find((t) => t.name === choice.name)?.schema);
    if (parseObject(x)) calls = [{ id: toolCallId('tooluse'), name: choice.name, arguments: x }];
    else structured = x;
  } else {
    calls = planToolCalls(prompt, tools, choice, results, 'tooluse');
  }
  if (calls || (faultOf(prompt) === 'badtool' && tools.length > 0)) {
    return bedrockToolAnswer(res, calls ?? [], faultOf(prompt) === 'badtool', streaming, prompt);
  }
  const { words, stopReason } = answerFor(
    prompt,
    body,
    structured ?? (results ? afterToolsAnswer(results) : undefined),
  );
  const answer = words.join(' ');
  if (!streaming) {
    return json(res, 200, {
      output: { message: { role: 'assistant', content: [{ text: answer }] } },
      stopReason,
      usage: usage(prompt, answer),
      metrics: { latencyMs: 1 },
    });
  }

  const fault = faultOf(prompt);
  // Nothing, not even the headers, before the first token (as the OpenAI mock, whose headers Node
  // holds back until the first write).
  if (fault === 'slow') await sleep(SLOW_FIRST_TOKEN_MS);
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'mock' });
  // Each write is flushed before the next, so frames arrive as separate chunks (and `cut` really
  // delivers half an answer before the socket dies). False once the client has gone away.
  const send = (bytes: Uint8Array) =>
    new Promise<boolean>((resolve) => {
      if (res.destroyed) return resolve(false);
      res.write(bytes, (err) => resolve(!err));
    });
  if (!(await send(event('messageStart', { role: 'assistant' })))) return;
  // Bedrock-only fault: an exception message inside a stream that had already started.
  if (fault === 'exception') {
    res.end(exception('throttlingException', 'Too many tokens, please wait before trying again.'));
    return;
  }
  for (let i = 0; i < words.length; i++) {
    if (fault === 'cut' && i === Math.floor(words.length / 2)) {
      res.destroy();
      return;
    }
    const frame = event('contentBlockDelta', {
      contentBlockIndex: 0,
      delta: { text: i === 0 ? words[i] : ` ${words[i]}` },
    });
    if (fault === 'malformed' && i === 1) {
      frame.writeUInt32BE((frame.readUInt32BE(frame.length - 4) ^ 1) >>> 0, frame.length - 4);
    }
    // Frames split across writes (and so, often, across chunks) as TCP is free to do.
    const cut = Math.floor(frame.length / 2);
    if (!(await send(frame.subarray(0, cut))) || !(await send(frame.subarray(cut)))) return;
  }
  if (!(await send(event('contentBlockStop', { contentBlockIndex: 0 })))) return;
  if (!(await send(event('messageStop', { stopReason })))) return;
  res.end(event('metadata', { usage: usage(prompt, answer), metrics: { latencyMs: 1 } }));
};

// A toolUse answer, Converse JSON or ConverseStream. `bad`: toolUse blocks without a name, input a number.
async function bedrockToolAnswer(
  res: ServerResponse,
  calls: MockToolCall[],
  bad: boolean,
  streaming: boolean,
  prompt: string,
) {
  const answerUsage = usage(prompt, calls.map((c) => c.arguments).join(''));
  if (!streaming) {
    const content = bad
      ? [{ toolUse: { toolUseId: 9, input: 3 } }]
      : calls.map((c) => ({ toolUse: { toolUseId: c.id, name: c.name, input: parseObject(c.arguments) ?? {} } }));
    return json(res, 200, {
      output: { message: { role: 'assistant', content } },
      stopReason: 'tool_use',
      usage: answerUsage,
      metrics: { latencyMs: 1 },
    });
  }
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'mock' });
  const frames: Buffer[] = [event('messageStart', { role: 'assistant' })];
  if (bad) {
    frames.push(event('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 9 } } }));
  } else {
    calls.forEach((c, contentBlockIndex) => {
      frames.push(
        event('contentBlockStart', {
          contentBlockIndex,
          start: { toolUse: { toolUseId: c.id, name: c.name } },
        }),
      );
      for (const piece of argumentPieces(c.arguments)) {
        frames.push(event('contentBlockDelta', { contentBlockIndex, delta: { toolUse: { input: piece } } }));
      }
      frames.push(event('contentBlockStop', { contentBlockIndex }));
    });
  }
  frames.push(event('messageStop', { stopReason: 'tool_use' }));
  frames.push(event('metadata', { usage: answerUsage, metrics: { latencyMs: 1 } }));
  for (const frame of frames) {
    if (res.destroyed) return;
    await new Promise<void>((resolve) => res.write(frame, () => resolve()));
  }
  res.end();
}
