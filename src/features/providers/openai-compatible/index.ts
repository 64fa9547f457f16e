import { createOpenAICompatibleProvider } from './base';

// Ollama, vLLM, llama.cpp and other self-hosted OpenAI-wire servers; a key is optional.
export const openaiCompatibleProvider = createOpenAICompatibleProvider({
  id: 'openai-compatible',
  baseUrl: (config) => config.OPENAI_COMPATIBLE_BASE_URL,
  apiKey: (config) => config.OPENAI_COMPATIBLE_API_KEY,
  defaultModel: (config) => config.OPENAI_COMPATIBLE_MODEL,
  keyRequired: false,
  embeddings: true,
});
