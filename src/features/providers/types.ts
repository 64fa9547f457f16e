import type { Config } from '../../config';

export type ChatRole = 'system' | 'user' | 'assistant';

// The image types vision models take (every vendor served here accepts these four).
export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type ImageMediaType = (typeof IMAGE_MEDIA_TYPES)[number];

export interface TextPart {
  type: 'text';
  text: string;
}

// An image inline, base64 without a `data:` prefix; each provider writes it in its vendor's wire shape.
export interface ImagePart {
  type: 'image';
  mediaType: ImageMediaType;
  data: string;
}

export type ContentPart = TextPart | ImagePart;

// A plain string in every text-only call (all dialects); parts only when a user message carries images
// (a chat message with image files), so text-only calls look exactly as they always did. Vendors take
// images in user turns only: providers refuse them in any other role (messages.ts, `plainText`).
export interface ChatMessage {
  role: ChatRole;
  content: string | ContentPart[];
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'error';

export interface ChatResult {
  text: string;
  model: string;
  finishReason: FinishReason;
  usage: Usage;
}

export type StreamEvent =
  { type: 'delta'; text: string } | { type: 'done'; model: string; finishReason: FinishReason; usage: Usage };

export interface ProviderContext {
  config: Config;
  signal: AbortSignal;
}

// A provider knows one vendor's wire protocol and nothing about dialects, storage or callers.
export interface Provider {
  readonly id: ProviderId;
  readonly defaultModel: (config: Config) => string;
  isConfigured(config: Config): boolean;
  complete(request: ChatRequest, ctx: ProviderContext): Promise<ChatResult>;
  stream(request: ChatRequest, ctx: ProviderContext): AsyncIterable<StreamEvent>;
  // Only vendors with an embeddings API have it: one vector per text, in input order, all one length.
  embed?(texts: string[], model: string, ctx: ProviderContext): Promise<number[][]>;
}

export const PROVIDER_IDS = ['local', 'openai', 'groq', 'openai-compatible', 'anthropic', 'bedrock'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];
