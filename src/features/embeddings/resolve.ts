import type { Config } from '../../config';
import { ApiError } from '../../lib/errors';
import { parseTarget, requireConfigured, type Target } from '../models';
import { LOCAL_MAX_DIMENSIONS } from './hashing';

// The local embedder's catalogue id (`local:edgeway-embed` names it too).
export const LOCAL_EMBEDDING_MODEL = 'edgeway-embed';

// Catalogue capabilities: 'embedding' marks an embedding model; 'dimensions' one whose vectors may be
// shortened (OpenAI's text-embedding-3 family, and the local embedder, which hashes into any size).
export const EMBEDDING = 'embedding';
export const SHORTENS = 'dimensions';

// Native sizes of the hosted models that take `dimensions`: asking for more cannot be served.
const NATIVE_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1_536,
  'text-embedding-3-large': 3_072,
};

const invalid = (field: string, message: string) =>
  new ApiError('VALIDATION_ERROR', message, { details: [{ field, message }] });

/**
 * The embedding model a request names: a catalogue id or `provider:model`, routed as chat routes (openai,
 * openai-compatible, the local embedder). A chat model, or a vendor without an embeddings API, is the
 * caller's mistake (400); an unconfigured provider is the deployment's (503).
 */
export function resolveEmbeddingTarget(spec: string, config: Config, dimensions?: number): Target {
  const target = parseTarget(spec, config, 'model');
  const { provider, model, entry } = target;
  if (entry && !entry.capabilities.includes(EMBEDDING)) {
    throw invalid(
      'model',
      `'${entry.id}' is a chat model, not an embedding model; use one such as text-embedding-3-small or ${LOCAL_EMBEDDING_MODEL}`,
    );
  }
  if (provider.id === 'local' ? model !== LOCAL_EMBEDDING_MODEL : provider.embed === undefined) {
    throw invalid(
      'model',
      provider.id === 'local'
        ? `The local provider embeds only with '${LOCAL_EMBEDDING_MODEL}'`
        : `Provider '${provider.id}' has no embeddings API; use openai, openai-compatible or ${LOCAL_EMBEDDING_MODEL}`,
    );
  }
  if (dimensions !== undefined) {
    if (!entry?.capabilities.includes(SHORTENS)) {
      throw invalid('dimensions', `'${model}' does not take dimensions; leave it out for the model's own size`);
    }
    const most = provider.id === 'local' ? LOCAL_MAX_DIMENSIONS : NATIVE_DIMENSIONS[model];
    if (most !== undefined && dimensions > most) {
      throw invalid('dimensions', `'${model}' gives at most ${most} dimensions`);
    }
  }
  requireConfigured(target, config);
  return target;
}
