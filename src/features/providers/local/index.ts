import type { Config } from '../../../config';
import { estimateTokens, fnv1a } from '../../../lib/tokens';
import { textOnly } from '../messages';
import type { ChatRequest, ChatResult, FinishReason, Provider, StreamEvent, Usage } from '../types';

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

// No vision model here: a message with an image is refused (400), never answered as if it had none.
function plan(request: ChatRequest): { words: string[]; finishReason: FinishReason; usage: Usage } {
  const messages = textOnly(request.messages, 'local');
  const all = answerWords(messages);
  const limit = request.maxTokens;
  const words = limit !== undefined && limit < all.length ? all.slice(0, Math.max(1, limit)) : all;
  const finishReason: FinishReason = words.length < all.length ? 'length' : 'stop';
  const promptTokens = messages.reduce((sum, m) => sum + estimateTokens(m.content) + 3, 0);
  const completionTokens = estimateTokens(words.join(' '));
  return {
    words,
    finishReason,
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
  };
}

export const localProvider: Provider = {
  id: 'local',
  defaultModel: (_config: Config) => LOCAL_MODEL,
  isConfigured: () => true,

  async complete(request: ChatRequest): Promise<ChatResult> {
    const { words, finishReason, usage } = plan(request);
    return { text: words.join(' '), model: request.model, finishReason, usage };
  },

  async *stream(request: ChatRequest, ctx): AsyncIterable<StreamEvent> {
    const { words, finishReason, usage } = plan(request);
    for (let i = 0; i < words.length; i++) {
      if (ctx.signal.aborted) return;
      yield { type: 'delta', text: i === 0 ? (words[i] ?? '') : ` ${words[i] ?? ''}` };
    }
    yield { type: 'done', model: request.model, finishReason, usage };
  },
};
