// A vendor-neutral estimate (about four characters a token for English) for providers that report
// no usage of their own; real providers' counts always win.
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

// FNV-1a: a cheap, stable 32-bit digest for deterministic choices (not for security).
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
