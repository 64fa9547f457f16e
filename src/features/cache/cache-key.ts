import type { ChatRequest } from '../providers';

export type CacheKeyInput = Pick<ChatRequest, 'model' | 'messages' | 'temperature' | 'maxTokens' | 'topP' | 'stop'> & {
  // The tenant: an organization, or the anonymous scope. Keys never cross tenants.
  tenant: string;
  provider: string;
};

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

// SHA-256 over a canonical JSON array (fixed field order), so equal requests get equal keys.
export async function cacheKey(input: CacheKeyInput): Promise<string> {
  const canonical = JSON.stringify([
    input.tenant,
    input.provider,
    input.model,
    input.messages.map((m) => [m.role, m.content]),
    input.temperature ?? null,
    input.maxTokens ?? null,
    input.topP ?? null,
    input.stop ?? null,
  ]);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  return `ck_${hex(digest)}`;
}
