import { z } from 'zod';
import type { ChatMessage } from './types';

// Index of the last user message, or -1: the caller's own words of this turn (the rest is context).
export function lastUserIndex(messages: readonly ChatMessage[]): number {
  return messages.map((m) => m.role).lastIndexOf('user');
}

// The last user message's text, '' when there is none.
export function lastUserText(messages: readonly ChatMessage[]): string {
  return messages[lastUserIndex(messages)]?.content ?? '';
}

// Token usage in the OpenAI wire shape: what OpenAI-compatible upstreams send, and what the OpenAI-shaped
// answers of every dialect carry.
export const UsageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
