import type { Config } from '../../config';

// 'tool' carries a tool's result back to the model (OpenAI's role 'tool', Anthropic's tool_result block).
export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

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
  // Assistant turns only: the tool calls the model asked for (content may then be '').
  toolCalls?: ToolCall[];
  // Tool turns only: which call this result answers.
  toolCallId?: string;
}

// A tool the model may call: a JSON Schema for its arguments (an object schema), in every vendor's terms.
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

// 'auto' (the model decides), 'none', 'required' (some tool), or one named tool.
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

// One call the model asked for; `arguments` is the JSON text exactly as the model wrote it (it may be
// invalid: whoever runs the tool validates it).
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

// Structured output: the answer's text is one JSON document. 'json_schema' asks the vendor to follow the
// schema (OpenAI response_format json_schema; Anthropic a forced tool whose input_schema is the schema);
// the caller still validates, since no vendor guarantees it.
export type ResponseFormat =
  { type: 'json_object' } | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean };

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
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
  // Present (non-empty) when the model asked for tools; finishReason is then 'tool_calls'.
  toolCalls?: ToolCall[];
}

// A streamed tool call arrives in pieces, as OpenAI sends it: the first piece of call `index` carries its
// id and name, every piece may carry a fragment of its arguments' JSON text.
export interface ToolCallDelta {
  type: 'tool_call';
  index: number;
  id?: string;
  name?: string;
  argumentsDelta: string;
}

export type StreamEvent =
  | { type: 'delta'; text: string }
  | ToolCallDelta
  | { type: 'done'; model: string; finishReason: FinishReason; usage: Usage };

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
  // Only vendors with the OpenAI audio wire (POST /audio/transcriptions, POST /audio/speech) have these.
  transcribe?(audio: AudioInput, model: string, ctx: ProviderContext): Promise<Transcript>;
  speak?(request: SpeechRequest, ctx: ProviderContext): Promise<SpeechResult>;
}

export interface AudioInput {
  bytes: Uint8Array;
  // e.g. audio/wav, audio/mpeg; checked against the bytes by the caller.
  mediaType: string;
  filename: string;
}

export interface Transcript {
  text: string;
  // Seconds of audio, when the vendor says.
  durationSeconds?: number;
}

export interface SpeechRequest {
  model: string;
  input: string;
  voice: string;
  // 'wav' | 'mp3' | ...: the vendor's response_format.
  format: string;
}

export interface SpeechResult {
  contentType: string;
  // Streamed as the vendor sends it.
  body: ReadableStream<Uint8Array>;
}

export const PROVIDER_IDS = ['local', 'openai', 'groq', 'openai-compatible', 'anthropic', 'bedrock'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];
