import { createOpenAICompatibleProvider } from '../openai-compatible/base';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export const openaiProvider = createOpenAICompatibleProvider({
  id: 'openai',
  baseUrl: (config) => config.OPENAI_BASE_URL ?? OPENAI_DEFAULT_BASE_URL,
  apiKey: (config) => config.OPENAI_API_KEY,
  defaultModel: (config) => config.OPENAI_MODEL,
  keyRequired: true,
  embeddings: true,
});
