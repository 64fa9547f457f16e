import type { Config, EmbeddingProvider } from '../../config';
import { embedTexts, normalize } from '../embeddings';
import { getProvider, providerFailure } from '../providers';
import { EMBEDDING_DIMENSIONS, embed as embedLocally } from './embedder';

// Turns a prompt into a unit vector for the semantic cache. The id names the vector space: it is part
// of the semantic index's name, so vectors of different embedders are never compared.
export interface Embedder {
  readonly id: string;
  embed(text: string, signal: AbortSignal): Promise<Float32Array>;
}

export const LOCAL_EMBEDDER_ID = `local-hash-${EMBEDDING_DIMENSIONS}`;

export const localEmbedder: Embedder = {
  id: LOCAL_EMBEDDER_ID,
  embed: async (text) => embedLocally(text),
};

// The same path as POST /v1/embeddings (embedTexts), under the cache's own short deadline: it is on the
// critical path of every cache miss. Errors are the gateway's provider errors; the cache logs and skips.
function providerEmbedder(config: Config, provider: EmbeddingProvider, model: string): Embedder {
  const target = { provider: getProvider(provider), model };
  return {
    id: `${provider}:${model}`,
    async embed(text, signal) {
      const { vectors } = await embedTexts(target, [text], {
        config,
        signal,
        timeoutMs: config.SEMANTIC_CACHE_EMBEDDING_TIMEOUT_MS,
      });
      // The semantic index scores by dot product: unit vectors only (providers do not promise them).
      const vector = vectors[0] === undefined ? undefined : normalize(vectors[0]);
      if (!vector) throw providerFailure(provider, 'zero-vector');
      return vector;
    },
  };
}

// SEMANTIC_CACHE_EMBEDDING_MODEL names a provider model; unset, the local embedder needs nothing.
export function embedderFor(config: Config): Embedder {
  const spec = config.SEMANTIC_CACHE_EMBEDDING_MODEL;
  return spec === undefined ? localEmbedder : providerEmbedder(config, spec.provider, spec.model);
}
