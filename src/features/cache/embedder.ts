import { fnv1a } from '../../lib/tokens';

export const EMBEDDING_DIMENSIONS = 512;

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

// A local, deterministic embedder: feature hashing into 512 signed buckets, L2-normalized, of content
// words (weight 1) with their character trigrams (0.4), and function words (0.25). No model to
// download. Measured scores: docs/design/cache.md#embedders
export function embed(text: string): Float32Array {
  const v = new Float32Array(EMBEDDING_DIMENSIONS);
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    const i = h % EMBEDDING_DIMENSIONS;
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

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] ?? 0) * (b[i] ?? 0);
  return dot;
}
