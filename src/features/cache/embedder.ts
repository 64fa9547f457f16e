import { hashEmbed, LOCAL_DIMENSIONS } from '../embeddings';

export const EMBEDDING_DIMENSIONS = LOCAL_DIMENSIONS;

// The local embedder at the semantic cache's size: the hashing embedder of the embeddings feature (the
// same vectors POST /v1/embeddings answers for edgeway-embed), 512 signed buckets, L2-normalized.
// Measured scores: docs/design/cache.md#embedders
export function embed(text: string): Float32Array {
  return hashEmbed(text, EMBEDDING_DIMENSIONS);
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] ?? 0) * (b[i] ?? 0);
  return dot;
}
