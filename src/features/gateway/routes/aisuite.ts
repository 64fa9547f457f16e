import { createRouter } from '../../../lib/router';
import { chatEndpoint } from '../chat-endpoint';
import { aisuiteDialect } from '../dialects/aisuite';

// The multi-provider chat, mounted at /api/v1.
export const aisuiteRoutes = createRouter();

chatEndpoint(aisuiteRoutes, aisuiteDialect, {
  path: '/aisuite/chat',
  operationId: 'createAisuiteChatCompletion',
  tags: ['chat'],
  summary:
    'Chat completion with any configured provider (seed 004); OpenAI-format answer, SSE chunks when stream is true',
});
