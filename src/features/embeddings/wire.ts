import { z } from '@hono/zod-openapi';
import type { Config } from '../../config';
import { ApiError } from '../../lib/errors';
import { estimateTokens } from '../../lib/tokens';

// OpenAI's hard caps: 2,048 inputs a request, and no model here has more than 16,384 dimensions.
const MAX_INPUTS = 2_048;
const MAX_DIMENSIONS = 16_384;

// Token arrays are part of the wire (the SDK's types allow them) so that they are refused with a clear
// message rather than a generic schema error: no embedder here has the tokenizer they were made with.
const TokenArray = z.array(z.number());

export const EmbeddingsRequest = z
  .object({
    model: z.string().min(1).max(200).openapi({ example: 'text-embedding-3-small' }),
    input: z
      .union([z.string(), z.array(z.string()).max(MAX_INPUTS), TokenArray, z.array(TokenArray).max(MAX_INPUTS)])
      .openapi({
        description: 'A string or an array of strings (not empty). Token arrays are refused (400): send the text.',
        example: 'The food was delicious and the waiter was friendly.',
      }),
    dimensions: z
      .number()
      .int()
      .min(1)
      .max(MAX_DIMENSIONS)
      .optional()
      .openapi({ description: 'Shorter vectors, for models that take it (text-embedding-3-*, edgeway-embed)' }),
    encoding_format: z.enum(['float', 'base64']).optional().openapi({
      description: "'float' (default) or 'base64': little-endian float32, as the openai SDK asks by default",
    }),
    user: z.string().max(256).optional(),
  })
  .openapi('OpenAIEmbeddingsRequest');

export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequest>;

export const EmbeddingsResponse = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.number().int(),
        embedding: z.union([z.array(z.number()), z.string()]),
      }),
    ),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .openapi('OpenAIEmbeddings');

export type EmbeddingsResponse = z.infer<typeof EmbeddingsResponse>;

const invalid = (field: string, message: string) =>
  new ApiError('VALIDATION_ERROR', message, { details: [{ field, message }] });

const isTokens = (input: EmbeddingsRequest['input']) =>
  Array.isArray(input) && input.some((item) => typeof item === 'number' || Array.isArray(item));

/**
 * The texts a request embeds, within the deployment's limits: inputs a request (400 beyond), estimated
 * tokens an input (400 beyond, as OpenAI answers an input over the model's context) and a request (413).
 */
export function inputTexts(input: EmbeddingsRequest['input'], config: Config): string[] {
  if (isTokens(input)) {
    throw invalid('input', 'Token arrays are not supported: send the text as a string or an array of strings');
  }
  const texts = typeof input === 'string' ? [input] : (input as string[]);
  if (texts.length === 0) throw invalid('input', 'input must not be empty');
  if (texts.length > config.EMBEDDINGS_MAX_INPUTS) {
    throw invalid('input', `At most ${config.EMBEDDINGS_MAX_INPUTS} inputs a request`);
  }
  let total = 0;
  for (const [i, text] of texts.entries()) {
    const field = typeof input === 'string' ? 'input' : `input.${i}`;
    if (text.trim() === '') throw invalid(field, 'An input must not be empty');
    const tokens = estimateTokens(text);
    if (tokens > config.EMBEDDINGS_MAX_INPUT_TOKENS) {
      throw invalid(field, `An input may have at most ${config.EMBEDDINGS_MAX_INPUT_TOKENS} tokens (about ${tokens})`);
    }
    total += tokens;
  }
  if (total > config.EMBEDDINGS_MAX_TOTAL_TOKENS) {
    throw new ApiError(
      'PAYLOAD_TOO_LARGE',
      `The inputs have about ${total} tokens; a request may have at most ${config.EMBEDDINGS_MAX_TOTAL_TOKENS}`,
    );
  }
  return texts;
}

// What the OpenAI SDK decodes by default: the vector's float32 values, little-endian, in base64.
export function base64Floats(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i] ?? 0, true);
  let binary = '';
  // In slices: String.fromCharCode takes its bytes as arguments, and argument counts are bounded.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function embeddingsBody(
  vectors: Float32Array[],
  model: string,
  promptTokens: number,
  format: EmbeddingsRequest['encoding_format'],
): EmbeddingsResponse {
  return {
    object: 'list',
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: format === 'base64' ? base64Floats(v) : Array.from(v),
    })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
