import { createRoute, z } from '@hono/zod-openapi';
import { getDb } from '../../db/client';
import { ApiError } from '../../lib/errors';
import { createRouter, errorResponses } from '../../lib/router';
import { AI_READ, caller, protect } from '../accounts';
import { chatFor } from '../chats';
import { clientKeyOf, rateLimitError, takeWebSocketSlot } from '../rate-limits';
import { CHAT_HEADER, MEMBER_HEADER } from './chat-room';
import type { Member } from './room-turn';

// GET /ws/chat: seed 002's WebSocket chat. Credentials are checked before the upgrade (Bearer, cookie, or
// ?token=); `?chat_id=` joins the live room of a persistent chat the caller can read, else the connection
// gets a room of its own. Why: docs/design/rooms.md
export const roomRoutes = createRouter();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

roomRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/ws/chat',
    operationId: 'chatWebSocket',
    tags: ['realtime'],
    summary: 'WebSocket chat (seed 002 protocol): chat → stream → complete, ping → pong, cancel',
    // Viewers may join a shared chat's room to read it; what they may not do (ask the model) is refused per
    // frame by the room.
    middleware: [protect(AI_READ)],
    request: {
      query: z.object({
        chat_id: z.string().max(64).optional(),
        token: z.string().max(4096).optional(),
      }),
    },
    responses: {
      101: { description: 'Switching to the WebSocket protocol' },
      ...errorResponses(400, 401, 404, 409, 429),
    },
  }),
  async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new ApiError('VALIDATION_ERROR', 'This endpoint takes a WebSocket upgrade (Upgrade: websocket)');
    }
    const who = await caller(c);
    const { chat_id: chatId } = c.req.valid('query');
    let roomName = `solo:${crypto.randomUUID()}`;
    if (chatId !== undefined) {
      if (!who) throw new ApiError('AUTHENTICATION_REQUIRED', 'A chat room needs an account');
      if (!UUID.test(chatId)) throw new ApiError('RESOURCE_NOT_FOUND', 'Chat not found');
      const chat = await chatFor(getDb(c.env.DB), who, chatId, 'read');
      roomName = `chat:${chat.id}`;
    }
    const clientKey = clientKeyOf(who, c.req.raw.headers);
    const slot = await takeWebSocketSlot(c.env, clientKey, c.var.config, c.var.log);
    if (slot && !slot.allowed) throw rateLimitError(slot, 'Too many new connections; retry later');
    const member: Member = { identity: who, clientKey };
    const headers = new Headers({ upgrade: 'websocket', [MEMBER_HEADER]: JSON.stringify(member) });
    if (chatId !== undefined) headers.set(CHAT_HEADER, chatId);
    const room = c.env.CHAT_ROOM.get(c.env.CHAT_ROOM.idFromName(roomName));
    const res = await room.fetch('https://room/ws', { headers });
    if (res.status === 409) throw new ApiError('CONFLICT', 'This room is full');
    return res;
  },
);
