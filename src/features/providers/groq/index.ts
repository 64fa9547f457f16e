import { createOpenAICompatibleProvider } from '../openai-compatible/base';

export const GROQ_DEFAULT_BASE_URL = 'https://api.groq.com/openai/v1';

export const groqProvider = createOpenAICompatibleProvider({
  id: 'groq',
  baseUrl: (config) => config.GROQ_BASE_URL ?? GROQ_DEFAULT_BASE_URL,
  apiKey: (config) => config.GROQ_API_KEY,
  defaultModel: () => 'llama-3.1-8b-instant',
  keyRequired: true,
  embeddings: false,
});
