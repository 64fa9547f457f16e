import type { ChatMessage } from './types';

// Index of the last user message, or -1: the caller's own words of this turn (the rest is context).
export function lastUserIndex(messages: readonly ChatMessage[]): number {
  return messages.map((m) => m.role).lastIndexOf('user');
}

// The last user message's text, '' when there is none.
export function lastUserText(messages: readonly ChatMessage[]): string {
  return messages[lastUserIndex(messages)]?.content ?? '';
}
