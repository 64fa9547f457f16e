import { z } from 'zod';
import { ApiError } from '../../lib/errors';
import type { ChatMessage, ChatRole, ImagePart } from './types';

// Index of the last user message, or -1: the caller's own words of this turn (the rest is context).
export function lastUserIndex(messages: readonly ChatMessage[]): number {
  return messages.map((m) => m.role).lastIndexOf('user');
}

// A message's words: its string, or its text parts joined (images have none).
export function contentText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

export function imagesOf(content: ChatMessage['content']): ImagePart[] {
  return typeof content === 'string' ? [] : content.filter((p): p is ImagePart => p.type === 'image');
}

export function hasImages(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => imagesOf(m.content).length > 0);
}

const noImages = (provider: string, i: number, why: string) =>
  new ApiError('VALIDATION_ERROR', `Provider '${provider}' ${why}`, {
    details: [{ field: `messages[${i}].content`, message: `Provider '${provider}' ${why}` }],
  });

// A message as plain text, for where a vendor takes no image: a 400 when it carries one, never a silent
// drop. The router sends images only to models the catalogue marks 'vision' (router.ts), so this
// guards paths that skipped it.
export function plainText(m: ChatMessage, i: number, provider: string): string {
  if (typeof m.content === 'string') return m.content;
  if (m.content.some((p) => p.type === 'image')) {
    throw noImages(provider, i, m.role === 'user' ? 'takes no image input' : `takes images in user messages only`);
  }
  return contentText(m.content);
}

// For providers that serve no vision model: every message as plain text.
export function textOnly(messages: readonly ChatMessage[], provider: string): { role: ChatRole; content: string }[] {
  return messages.map((m, i) => ({ role: m.role, content: plainText(m, i, provider) }));
}

// The last user message's text, '' when there is none.
export function lastUserText(messages: readonly ChatMessage[]): string {
  return contentText(messages[lastUserIndex(messages)]?.content ?? '');
}

// Token usage in the OpenAI wire shape: what OpenAI-compatible upstreams send, and what the OpenAI-shaped
// answers of every dialect carry.
export const UsageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
