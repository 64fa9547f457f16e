import { z } from 'zod';
import { SEARCH_MAX_RESULTS, searchChats } from '../chats';
import { defineTool } from './types';

// The caller's own chats (and those shared with their organization): message text and file names.
// Whose chats is decided by the loop's caller, never by the model's arguments.
export const searchChatsTool = defineTool({
  name: 'search_chats',
  description:
    "Searches the user's chats: the text of their messages and the names of their files. Returns the newest " +
    'matches with the chat they are in.',
  parameters: {
    type: 'object',
    properties: {
      query: { type: 'string', description: 'Text to find (a literal substring, case-insensitive)', maxLength: 200 },
      limit: { type: 'integer', minimum: 1, maximum: SEARCH_MAX_RESULTS, description: 'At most this many results' },
    },
    required: ['query'],
    additionalProperties: false,
  },
  args: z.object({
    query: z.string().trim().min(1).max(200),
    limit: z.number().int().min(1).max(SEARCH_MAX_RESULTS).optional(),
  }),
  enabled: () => true,
  run: async ({ query, limit }, ctx) => {
    const hits = await searchChats(
      ctx.db,
      { userId: ctx.userId, organizationId: ctx.organizationId },
      query,
      limit ?? 10,
      ctx.env.FILES,
    );
    return { query, count: hits.length, results: hits };
  },
});
