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

// For a dialect that does not relay tool calling (aisuite; the OpenAI and Anthropic dialects do): refusing
// is honest, silently dropping the tools would not be (and a cached answer must never meet a request with
// tools).
export const NoTools = z.array(z.unknown()).max(0, 'Tool calling is not supported').optional();

// Tool names as OpenAI and Anthropic both accept them; a cap on how many and how big, so a request's
// tools cannot grow without bound (the body limit applies too).
export const MAX_TOOLS = 128;
export const MAX_TOOL_SCHEMA_BYTES = 64 * 1024;
export const ToolName = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, underscores or dashes');
export const ToolDescription = z.string().max(8192).optional();

// A tool's JSON Schema: an object schema (its arguments are an object), of bounded size.
export const ToolSchema = z
  .record(z.string(), z.unknown())
  .refine((s) => s.type === undefined || s.type === 'object', { message: "must be a schema of type 'object'" })
  .refine((s) => JSON.stringify(s).length <= MAX_TOOL_SCHEMA_BYTES, {
    message: `must be at most ${MAX_TOOL_SCHEMA_BYTES} bytes as JSON`,
  });

// A structured-output schema: any JSON Schema object, of bounded size.
export const OutputSchema = z
  .record(z.string(), z.unknown())
  .refine((s) => JSON.stringify(s).length <= MAX_TOOL_SCHEMA_BYTES, {
    message: `must be at most ${MAX_TOOL_SCHEMA_BYTES} bytes as JSON`,
  });

// Tool names must be unique, and a forced tool must be one of them.
export function checkToolNames(names: string[], forced: string | undefined, ctx: z.RefinementCtx, path: string): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (seen.has(name)) {
      ctx.addIssue({ code: 'custom', path: [path, i, 'name'], message: `duplicate tool name '${name}'` });
    }
    seen.add(name);
  });
  if (forced !== undefined && !seen.has(forced)) {
    ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: `no tool named '${forced}' is defined` });
  }
}
