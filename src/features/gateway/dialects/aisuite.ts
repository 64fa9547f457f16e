import { z } from '@hono/zod-openapi';
import type { Dialect } from '../dialect';
import { OpenAIChatResponse, openaiCompletionBody, openaiStreamEncoder } from './openai';
import { platformError } from './platform';
import { Fallbacks, MAX_MESSAGES, MaxTokens, ModelSpec, NoTools, Temperature } from './shared';

// The multi-provider chat (aisuite): `model` is "provider:model"; the answer is an OpenAI
// chat.completion object, as aisuite returns, and errors are the platform's.
export const AisuiteChatRequest = z
  .object({
    messages: z
      .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }))
      .min(1)
      .max(MAX_MESSAGES),
    model: ModelSpec.openapi({ example: 'anthropic:claude-3-sonnet' }),
    temperature: Temperature.openapi({ example: 0.7 }),
    max_tokens: MaxTokens,
    stream: z.boolean().optional(),
    tools: NoTools,
    fallbacks: Fallbacks,
  })
  .openapi('AisuiteChatRequest');

export type AisuiteChatRequest = z.infer<typeof AisuiteChatRequest>;

export const aisuiteDialect: Dialect<AisuiteChatRequest, OpenAIChatResponse> = {
  name: 'aisuite',
  request: AisuiteChatRequest,
  answer: OpenAIChatResponse,
  toCall: (body) => ({
    model: body.model,
    fallbacks: body.fallbacks,
    messages: body.messages,
    temperature: body.temperature,
    maxTokens: body.max_tokens,
  }),
  wantsStream: (body) => body.stream === true,
  body: openaiCompletionBody,
  encoder: (_body, requestId) => openaiStreamEncoder(requestId, true),
  error: platformError,
};
