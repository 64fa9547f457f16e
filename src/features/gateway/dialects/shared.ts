import { z } from '@hono/zod-openapi';
import type { ApiError } from '../../../lib/errors';
import { type Usage, UsageSchema as ProviderUsage } from '../../providers';

export const MAX_MESSAGES = 500;

// A provider:model or a catalogue id; unknown values are rejected by the resolver with a
// 400 naming them.
export const ModelSpec = z.string().min(1).max(200);
export const Fallbacks = z
  .array(ModelSpec)
  .max(5)
  .optional()
  .openapi({ description: 'Extension: models to try, in order, when the primary fails before its first token' });

export const Temperature = z.number().min(0).max(2).optional();
export const MaxTokens = z.number().int().min(1).max(1_000_000).optional();

export function usageBody(u: Usage) {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.totalTokens };
}

// One usage object for every OpenAI-shaped answer: the wire shape the providers validate.
export const UsageSchema = ProviderUsage;

export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

// SDK error shapes have no `details`; fold them into the message so callers still see each field.
export function messageWithDetails(err: ApiError): string {
  return err.details?.length
    ? `${err.message}: ${err.details.map((d) => `${d.field}: ${d.message}`).join('; ')}`
    : err.message;
}

// Tool calling is not relayed yet: refusing is honest, silently dropping the tools would not be (and a
// cached answer must never meet a request with tools).
export const NoTools = z.array(z.unknown()).max(0, 'Tool calling is not supported').optional();
