import { sha256Hex } from '../../lib/crypto';
import type { ChatMessage, ChatRequest } from '../providers';

export type CacheKeyInput = Pick<
  ChatRequest,
  'model' | 'messages' | 'temperature' | 'maxTokens' | 'topP' | 'stop' | 'tools' | 'toolChoice' | 'responseFormat'
> & {
  // The tenant: an organization, or the anonymous scope. Keys never cross tenants.
  tenant: string;
  provider: string;
};

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

// A message with content parts: its texts as they are, each image as its type and the SHA-256 of its
// base64 (one encoding per byte string), so two different images never share a key and megabytes of
// base64 are hashed once, not copied into the canonical JSON. A string stays a string: text-only keys
// are what they always were, and a JSON string never equals a JSON array.
async function canonicalMessage(m: ChatMessage): Promise<unknown[]> {
  const content =
    typeof m.content === 'string'
      ? m.content
      : await Promise.all(
          m.content.map(async (p) =>
            p.type === 'text' ? ['text', p.text] : ['image', p.mediaType, await sha256Hex(p.data)],
          ),
        );
  return withTools(m, [m.role, content]);
}

// A tool turn's call id, and an assistant turn's calls, belong to the message: two histories whose
// calls differ are different conversations. Plain messages keep the two-element form they always had.
function withTools(m: ChatMessage, canonical: unknown[]): unknown[] {
  if ((m.toolCalls === undefined || m.toolCalls.length === 0) && m.toolCallId === undefined) return canonical;
  return [...canonical, (m.toolCalls ?? []).map((c) => [c.id, c.name, c.arguments]), m.toolCallId ?? null];
}

const hasToolFields = (m: ChatMessage) =>
  (m.toolCalls !== undefined && m.toolCalls.length > 0) || m.toolCallId !== undefined;

// SHA-256 over a canonical JSON array (fixed field order), so equal requests get equal keys.
export async function cacheKey(input: CacheKeyInput): Promise<string> {
  const withParts = input.messages.some((m) => typeof m.content !== 'string' || hasToolFields(m));
  // Tools, tool choice and response format change the answer, so they are part of the key; a call
  // without them keeps the key it always had.
  const tooling =
    input.tools !== undefined || input.toolChoice !== undefined || input.responseFormat !== undefined
      ? [[input.tools ?? null, input.toolChoice ?? null, input.responseFormat ?? null]]
      : [];
  const canonical = JSON.stringify([
    input.tenant,
    input.provider,
    input.model,
    withParts
      ? await Promise.all(input.messages.map(canonicalMessage))
      : input.messages.map((m) => [m.role, m.content]),
    input.temperature ?? null,
    input.maxTokens ?? null,
    input.topP ?? null,
    input.stop ?? null,
    ...tooling,
  ]);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  return `ck_${hex(digest)}`;
}
