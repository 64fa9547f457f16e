import { fnv1a } from '../../lib/tokens';

// The local embedder's native size: the semantic cache's vectors (its index id `local-hash-512`).
export const LOCAL_DIMENSIONS = 512;
// Larger than any hosted model here (text-embedding-3-large: 3,072) buys nothing for hashed features.
export const LOCAL_MAX_DIMENSIONS = 3_072;

function words(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize('NFKD')
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

// Function words carry little of what a prompt asks; content words (and their spellings) carry most.
const STOP_WORDS = new Set(
  'a an the is are was were be been am do does did can could would should will shall may might must i me my you your we our it its this that these those what whats which who whom how why when where s please tell of to in on for with and or at by from about as into than then there here just'.split(
    ' ',
  ),
);

// A local, deterministic embedder: feature hashing into `dimensions` signed buckets, L2-normalized, of
// content words (weight 1) with their character trigrams (0.4), and function words (0.25). No model to
// download, no network. At 512 dimensions these are exactly the semantic cache's vectors (measured
// scores: docs/design/cache.md#embedders); another size is another vector space, never compared with it.
// A text with no word at all is the zero vector (nothing to point at).
export function hashEmbed(text: string, dimensions = LOCAL_DIMENSIONS): Float32Array {
  const v = new Float32Array(dimensions);
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    const i = h % dimensions;
    v[i] = (v[i] ?? 0) + (h & 0x80000000 ? -1 : 1) * weight;
  };
  for (const w of words(text)) {
    if (STOP_WORDS.has(w)) {
      add(`w:${w}`, 0.25);
      continue;
    }
    add(`w:${w}`, 1);
    const padded = `^${w}$`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 0.4);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
  return v;
}
