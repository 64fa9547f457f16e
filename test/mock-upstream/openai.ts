import type { ServerResponse } from 'node:http';
import {
  faultOf,
  hang,
  json,
  lastUserText,
  mockAnswer,
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

  const answer = mockAnswer(prompt);
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
