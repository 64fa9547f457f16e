import type { Config, EmbeddingProvider } from '../../config';
import { ApiError } from '../../lib/errors';
import { providerFailure, providerTimeout } from '../providers';
import { getProvider } from '../providers';
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

// The semantic index scores by dot product, which is the cosine only for unit vectors; providers
// do not promise unit length (self-hosted models often return raw vectors).
export function normalize(values: readonly number[]): Float32Array | undefined {
  const v = Float32Array.from(values);
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (!Number.isFinite(norm) || norm === 0) return undefined;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
  return v;
}

// A hung body read may not notice its signal on its own; the deadline must hold regardless.
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function providerEmbedder(config: Config, provider: EmbeddingProvider, model: string): Embedder {
  const upstream = getProvider(provider);
  return {
    id: `${provider}:${model}`,
    async embed(text, signal) {
      if (!upstream.embed) throw new ApiError('SERVICE_UNAVAILABLE', `Provider '${provider}' cannot embed`);
      // On the critical path of every cache miss: its own short deadline, and the client's signal.
      const deadline = AbortSignal.timeout(config.SEMANTIC_CACHE_EMBEDDING_TIMEOUT_MS);
      const combined = AbortSignal.any([signal, deadline]);
      let vectors: number[][];
      try {
        vectors = await untilAborted(upstream.embed([text], model, { config, signal: combined }), combined);
      } catch (err) {
        if (deadline.aborted) throw providerTimeout(provider);
        throw err instanceof ApiError ? err : providerFailure(provider, 'unexpected');
      }
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
