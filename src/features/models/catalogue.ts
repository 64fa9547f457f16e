import type { ProviderId } from '../providers';

export interface CatalogueEntry {
  id: string;
  name: string;
  provider: ProviderId;
  context_length: number;
  description: string;
  capabilities: string[];
  // USD per 1,000 tokens, the unit the platform's model list uses (gpt-4: 0.03 in, 0.06 out).
  cost_per_token: { input: number; output: number };
}

const e = (
  provider: ProviderId,
  id: string,
  name: string,
  context_length: number,
  input: number,
  output: number,
  description: string,
  capabilities: string[] = ['chat', 'code', 'analysis'],
): CatalogueEntry => ({
  id,
  name,
  provider,
  context_length,
  description,
  capabilities,
  cost_per_token: { input, output },
});

export const CATALOGUE: readonly CatalogueEntry[] = [
  e('openai', 'gpt-4o', 'GPT-4o', 128_000, 0.0025, 0.01, 'OpenAI flagship multimodal model', [
    'chat',
    'code',
    'analysis',
    'vision',
  ]),
  e('openai', 'gpt-4o-mini', 'GPT-4o mini', 128_000, 0.00015, 0.0006, 'Small, fast and cheap GPT-4o', [
    'chat',
    'code',
    'analysis',
    'vision',
  ]),
  e('openai', 'gpt-4-turbo', 'GPT-4 Turbo', 128_000, 0.01, 0.03, 'GPT-4 Turbo with vision'),
  e('openai', 'gpt-4', 'GPT-4', 8_192, 0.03, 0.06, 'Most capable GPT-4 model'),
  e('openai', 'gpt-3.5-turbo', 'GPT-3.5 Turbo', 16_385, 0.0005, 0.0015, 'Fast, inexpensive chat model', [
    'chat',
    'code',
  ]),
  e('anthropic', 'claude-3-5-sonnet-latest', 'Claude 3.5 Sonnet', 200_000, 0.003, 0.015, 'Anthropic balanced model', [
    'chat',
    'code',
    'analysis',
    'vision',
  ]),
  e('anthropic', 'claude-3-5-haiku-latest', 'Claude 3.5 Haiku', 200_000, 0.0008, 0.004, 'Anthropic fastest model'),
  e(
    'anthropic',
    'claude-3-opus-latest',
    'Claude 3 Opus',
    200_000,
    0.015,
    0.075,
    'Anthropic most capable Claude 3 model',
  ),
  e(
    'anthropic',
    'claude-3-sonnet-20240229',
    'Claude 3 Sonnet',
    200_000,
    0.003,
    0.015,
    'Claude 3 Sonnet (seed 004 "claude-3-sonnet")',
  ),
  e(
    'groq',
    'llama-3.1-8b-instant',
    'Llama 3.1 8B Instant (Groq)',
    131_072,
    0.00005,
    0.00008,
    'Low-latency Llama on Groq',
    ['chat', 'code'],
  ),
  e('groq', 'llama-3.3-70b-versatile', 'Llama 3.3 70B (Groq)', 131_072, 0.00059, 0.00079, 'Large Llama on Groq'),
  e(
    'bedrock',
    'anthropic.claude-3-haiku-20240307-v1:0',
    'Claude 3 Haiku (Bedrock)',
    200_000,
    0.00025,
    0.00125,
    'Claude 3 Haiku on AWS Bedrock',
  ),
  e(
    'bedrock',
    'meta.llama3-8b-instruct-v1:0',
    'Llama 3 8B Instruct (Bedrock)',
    8_192,
    0.0003,
    0.0006,
    'Llama 3 on AWS Bedrock',
    ['chat', 'code'],
  ),
  e('openai-compatible', 'llama3.1', 'Llama 3.1 (self-hosted)', 131_072, 0, 0, 'Served by Ollama, vLLM or llama.cpp', [
    'chat',
    'code',
  ]),
  e('local', 'edgeway-local', 'Edgeway local', 8_192, 0, 0, 'Built-in deterministic model: works offline, no key', [
    'chat',
  ]),
  // Embedding models (POST /v1/embeddings): 'embedding' marks them (chat refuses them), 'dimensions' those
  // whose vectors may be asked shorter. Prices are per 1,000 input tokens; they have no output.
  e(
    'openai',
    'text-embedding-3-small',
    'text-embedding-3-small',
    8_191,
    0.00002,
    0,
    'OpenAI small embedding model (1,536 dimensions)',
    ['embedding', 'dimensions'],
  ),
  e(
    'openai',
    'text-embedding-3-large',
    'text-embedding-3-large',
    8_191,
    0.00013,
    0,
    'OpenAI large embedding model (3,072 dimensions)',
    ['embedding', 'dimensions'],
  ),
  e(
    'local',
    'edgeway-embed',
    'Edgeway local embedder',
    8_192,
    0,
    0,
    'Built-in hashing embedder (512 dimensions by default, any up to 3,072): works offline, no key',
    ['embedding', 'dimensions'],
  ),
];

const BY_ID = new Map(CATALOGUE.map((m) => [m.id, m]));
// aisuite callers write "anthropic:claude-3-sonnet"; map the short names people use to catalogue ids.
const ALIASES: Record<string, string> = {
  'claude-3-sonnet': 'claude-3-sonnet-20240229',
  'claude-3-haiku': 'claude-3-5-haiku-latest',
  'claude-3-opus': 'claude-3-opus-latest',
};

export function findModel(id: string): CatalogueEntry | undefined {
  return BY_ID.get(id) ?? BY_ID.get(ALIASES[id] ?? '');
}

export function costUsd(entry: CatalogueEntry | undefined, promptTokens: number, completionTokens: number): number {
  if (!entry) return 0;
  return (promptTokens * entry.cost_per_token.input + completionTokens * entry.cost_per_token.output) / 1000;
}
