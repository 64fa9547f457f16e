import { z } from '@hono/zod-openapi';
import type { ApiError } from '../../../lib/errors';
import type { Usage } from '../../providers';

export const MAX_MESSAGES = 500;

// A provider:model (seed 004) or a catalogue id; unknown values are rejected by the resolver with a
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

export const UsageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

// SDK error shapes have no `details`; fold them into the message so callers still see each field.
export function messageWithDetails(err: ApiError): string {
  return err.details?.length
    ? `${err.message}: ${err.details.map((d) => `${d.field}: ${d.message}`).join('; ')}`
    : err.message;
}
