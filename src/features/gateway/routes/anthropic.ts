import { createRouter } from '../../../lib/router';
import { chatEndpoint } from '../chat-endpoint';
import { anthropicDialect } from '../dialects/anthropic';

// The Anthropic-compatible surface: the official @anthropic-ai/sdk with baseURL = <host>.
export const anthropicRoutes = createRouter();

chatEndpoint(anthropicRoutes, anthropicDialect, {
  path: '/messages',
  operationId: 'createMessage',
  tags: ['anthropic'],
  summary: 'Anthropic-compatible Messages API (stream and non-stream)',
});
