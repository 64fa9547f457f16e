import type { Config } from '../../../config';
import { localSpeak, localTranscribe } from './audio';
import { estimateTokens, fnv1a } from '../../../lib/tokens';
import { jsonSchemaInstance } from '../../../lib/json-schema-instance';
import { textOnly } from '../messages';
import type { ChatRequest, ChatResult, FinishReason, Provider, StreamEvent, ToolCall, Usage } from '../types';

export const LOCAL_MODEL = 'edgeway-local';

const CLOSINGS = [
  'Configure a provider key to get answers from a hosted model.',
  'This answer was computed on the edge without calling any provider.',
  'The same input always yields this same answer.',
  'Set OPENAI_API_KEY or another provider key to route to a real model.',
];

type TextMessage = ReturnType<typeof textOnly>[number];

function lastUserText(messages: TextMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === 'user') return m.content;
  }
  return '';
}

// Deterministic: the answer depends only on the conversation, so tests and offline demos are stable.
function answerWords(messages: TextMessage[]): string[] {
  const input = lastUserText(messages).replace(/\s+/g, ' ').trim();
  const words = input === '' ? 0 : input.split(' ').length;
  const excerpt = input.length > 80 ? `${input.slice(0, 77)}...` : input;
  const digest = fnv1a(messages.map((m) => `${m.role}:${m.content}`).join('\n'));
  const closing = CLOSINGS[digest % CLOSINGS.length] ?? '';
  const text = `You said "${excerpt}" (${words} ${words === 1 ? 'word' : 'words'}, ${input.length} characters, digest ${digest.toString(16).padStart(8, '0')}). ${closing}`;
  return text.split(' ');
}

// The same markers as the mock upstream (test/mock-upstream/common.ts): `[[tool:NAME {json}]]` asks
// for a call, `[[json:X]]` gives a structured answer's raw text.
const TOOL_MARKER = /\[\[tool:([a-zA-Z0-9_-]+)\s*(\{[\s\S]*?\})?\]\]/g;
const JSON_MARKER = /\[\[json:([\s\S]*?)\]\]/;

const wordIn = (text: string, word: string) =>
  new RegExp(`(^|[^a-zA-Z0-9_-])${word.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}($|[^a-zA-Z0-9_-])`).test(text);

function callId(i: number, name: string, args: string): string {
  return `call_${fnv1a(`${i}:${name}:${args}`).toString(16).padStart(8, '0')}`;
}

// The calls the local model makes: markers first; else a forced choice (the named tool, or the first,
// with a minimal instance of its schema); else every tool named as a word in the last user text whose
// schema requires nothing. None after tool results, none with toolChoice 'none'.
function toolCalls(request: ChatRequest, messages: TextMessage[], lastText: string): ToolCall[] {
  const tools = request.tools ?? [];
  if (tools.length === 0 || request.toolChoice === 'none' || messages.at(-1)?.role === 'tool') return [];
  const marked = [...lastText.matchAll(TOOL_MARKER)].map((m) => ({ name: m[1] ?? '', arguments: m[2] ?? '{}' }));
  let calls = marked;
  const choice = request.toolChoice;
  if (calls.length === 0 && (choice === 'required' || typeof choice === 'object')) {
    const tool = (typeof choice === 'object' ? tools.find((t) => t.name === choice.name) : undefined) ?? tools[0];
    if (tool) calls = [{ name: tool.name, arguments: JSON.stringify(jsonSchemaInstance(tool.parameters)) }];
  }
  if (calls.length === 0) {
    calls = tools
      .filter((t) => {
        const required = t.parameters.required;
        return (!Array.isArray(required) || required.length === 0) && wordIn(lastText, t.name);
      })
      .map((t) => ({ name: t.name, arguments: '{}' }));
  }
  return calls.map((c, i) => ({ id: callId(i, c.name, c.arguments), ...c }));
}

// After tool results: a text answer that quotes each one, in order.
function afterTools(messages: TextMessage[]): string | undefined {
  const results: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]?.role === 'tool'; i--) {
    results.unshift(messages[i]?.content ?? '');
  }
  if (results.length === 0) return undefined;
  return `Local answer after tools: ${results.map((r) => JSON.stringify(r)).join(' | ')}`;
}

function structured(request: ChatRequest, lastText: string): string | undefined {
  const format = request.responseFormat;
  if (format === undefined) return undefined;
  const fixed = JSON_MARKER.exec(lastText)?.[1];
  if (fixed !== undefined) return fixed;
  return JSON.stringify(jsonSchemaInstance(format.type === 'json_schema' ? format.schema : { type: 'object' }));
}

interface Plan {
  words: string[];
  finishReason: FinishReason;
  usage: Usage;
  toolCalls: ToolCall[];
}

// No vision model here: a message with an image is refused (400), never answered as if it had none.
function plan(request: ChatRequest): Plan {
  const messages = textOnly(request.messages, 'local');
  const lastText = lastUserText(messages);
  const calls = toolCalls(request, messages, lastText);
  const promptTokens = messages.reduce((sum, m) => sum + estimateTokens(m.content) + 3, 0);
  if (calls.length > 0) {
    const completionTokens = estimateTokens(calls.map((c) => c.name + c.arguments).join(' '));
    return {
      words: [],
      finishReason: 'tool_calls',
      usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
      toolCalls: calls,
    };
  }
  const fixed = afterTools(messages) ?? structured(request, lastText);
  const all = fixed !== undefined ? fixed.split(' ') : answerWords(messages);
  const limit = request.maxTokens;
  const words = limit !== undefined && limit < all.length ? all.slice(0, Math.max(1, limit)) : all;
  const finishReason: FinishReason = words.length < all.length ? 'length' : 'stop';
  const completionTokens = estimateTokens(words.join(' '));
  return {
    words,
    finishReason,
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    toolCalls: [],
  };
}

// LOCAL_STREAM_DELAY_MS between streamed words; an abort ends the pause at once (the loop then stops).
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => (clearTimeout(timer), signal.removeEventListener('abort', done), resolve());
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export const localProvider: Provider = {
  id: 'local',
  defaultModel: (_config: Config) => LOCAL_MODEL,
  isConfigured: () => true,
  // Deterministic audio from a WAV's embedded text chunk (./audio.ts).
  transcribe: (audio) => localTranscribe(audio),
  speak: (request) => localSpeak(request),

  async complete(request: ChatRequest): Promise<ChatResult> {
    const { words, finishReason, usage, toolCalls } = plan(request);
    return {
      text: words.join(' '),
      model: request.model,
      finishReason,
      usage,
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    };
  },

  async *stream(request: ChatRequest, ctx): AsyncIterable<StreamEvent> {
    const { words, finishReason, usage, toolCalls } = plan(request);
    for (const [index, call] of toolCalls.entries()) {
      if (ctx.signal.aborted) return;
      // In two pieces, as vendors stream arguments: the first names the call.
      const half = Math.ceil(call.arguments.length / 2);
      yield { type: 'tool_call', index, id: call.id, name: call.name, argumentsDelta: call.arguments.slice(0, half) };
      if (half < call.arguments.length) yield { type: 'tool_call', index, argumentsDelta: call.arguments.slice(half) };
    }
    const delayMs = ctx.config.LOCAL_STREAM_DELAY_MS;
    for (let i = 0; i < words.length; i++) {
      if (i > 0) await pause(delayMs, ctx.signal);
      if (ctx.signal.aborted) return;
      yield { type: 'delta', text: i === 0 ? (words[i] ?? '') : ` ${words[i] ?? ''}` };
    }
    yield { type: 'done', model: request.model, finishReason, usage };
  },
};
