import { createRouter } from '../../../lib/router';
import { chatEndpoint } from '../chat-endpoint';
import { platformDialect } from '../dialects/platform';

// The platform's chat completion and SSE stream, mounted at /api/v1.
export const chatRoutes = createRouter();

chatEndpoint(chatRoutes, platformDialect, {
  path: '/chat/completion',
  operationId: 'createChatCompletion',
  tags: ['chat'],
  summary: 'Chat completion (seed 002); with "stream": true it answers as /chat/stream does',
});

chatEndpoint(chatRoutes, platformDialect, {
  path: '/chat/stream',
  operationId: 'streamChatCompletion',
  tags: ['chat'],
  summary: 'Streaming chat (seed 002): SSE frames {"chunk","index"} then {"finished": true, "usage"}',
  stream: 'always',
});
