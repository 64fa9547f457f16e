import { z } from 'zod';
import type { JsonValue } from './socket-io/result';

// Seed 004's `/assistant/realtime` events over Socket.IO, as the SocketSession object speaks them: what a
// client may send (validated here, every field bounded) and how a room's seed-002 frames become seed 004's
// server events. Pure, so the mapping is tested without a socket. Why: docs/design/socket-io.md#rooms

export const ASSISTANT_NSP = '/assistant/realtime';
export const SIO_NAMESPACES = ['/', ASSISTANT_NSP] as const;

// Seed 004's two room types: `openai_realtime` streams an OpenAI model; `aisuite` takes any `provider:model`.
export const ROOM_TYPES = ['openai_realtime', 'aisuite'] as const;
export type RoomType = (typeof ROOM_TYPES)[number];
export const DEFAULT_REALTIME_MODEL = 'openai:gpt-4o-mini';

const RoomId = z.string().min(1).max(64);

export const CreateRoom = z
  .object({
    type: z.enum(ROOM_TYPES).default('aisuite'),
    // "provider:model" (aisuite's form); an openai_realtime room takes an OpenAI model only.
    model: z.string().min(3).max(200).optional(),
    title: z.string().max(500).optional(),
    visibility: z.enum(['private', 'organization']).optional(),
  })
  .strict();
export const JoinRoom = z.object({ room_id: RoomId }).strict();
export const LeaveRoom = JoinRoom;
export const SendMessage = z
  .object({
    room_id: RoomId,
    message: z.string().min(1),
    // Client-chosen id of the generation (a `cancel_message` names it); one is made when absent.
    request_id: z.string().min(1).max(128).optional(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().min(1).max(1_000_000).optional(),
    system_prompt: z.string().max(100_000).optional(),
  })
  .strict();
export const CancelMessage = z.object({ room_id: RoomId, request_id: z.string().min(1).max(128) }).strict();

export const CLIENT_EVENTS = ['create_room', 'join_room', 'leave_room', 'send_message', 'cancel_message'] as const;
export type ClientEventName = (typeof CLIENT_EVENTS)[number];

export type SioErrorCode =
  'INVALID_REQUEST' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'RATE_LIMITED' | 'INTERNAL_ERROR';

export interface SioError {
  code: SioErrorCode | string;
  message: string;
  room_id?: string;
  request_id?: string;
  event?: string;
}

// The first problem of a zod failure, as one line a client can act on.
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue?.message ?? 'invalid payload'}`;
}

// A room's type, read from its chat: seed 004 names the type at creation; the chat keeps its model, and
// an OpenAI model's room is the `openai_realtime` kind.
export function roomTypeOf(modelApiSource: string): RoomType {
  return modelApiSource === 'openai' ? 'openai_realtime' : 'aisuite';
}

const RoomFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('history'), data: z.object({ messages: z.array(z.unknown()) }) }),
  z.object({ type: z.literal('message'), data: z.unknown() }),
  z.object({
    type: z.literal('stream'),
    id: z.string(),
    data: z.object({ chunk: z.string(), index: z.number(), finished: z.boolean() }),
  }),
  z.object({ type: z.literal('complete'), id: z.string(), data: z.record(z.string(), z.unknown()) }),
  z.object({
    type: z.literal('error'),
    id: z.string().optional(),
    data: z.object({ error: z.string(), code: z.string() }),
  }),
  z.object({
    type: z.literal('presence'),
    data: z.object({ event: z.enum(['joined', 'left']), user_id: z.string().nullable(), members: z.number() }),
  }),
  z.object({ type: z.literal('pong') }).passthrough(),
]);

export type RoomOutput =
  { kind: 'history'; messages: JsonValue[] } | { kind: 'emit'; name: string; payload: JsonValue } | { kind: 'ignore' };

// One frame of a ChatRoom as what its Socket.IO members receive.
export function translateRoomFrame(roomId: string, raw: string): RoomOutput {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { kind: 'ignore' };
  }
  const parsed = RoomFrame.safeParse(value);
  if (!parsed.success) return { kind: 'ignore' };
  const frame = parsed.data;
  switch (frame.type) {
    case 'history':
      return { kind: 'history', messages: frame.data.messages as JsonValue[] };
    case 'message':
      return {
        kind: 'emit',
        name: 'message_received',
        payload: { room_id: roomId, role: 'user', message: frame.data as JsonValue },
      };
    case 'stream':
      return {
        kind: 'emit',
        name: 'message_received',
        payload: {
          room_id: roomId,
          role: 'assistant',
          request_id: frame.id,
          chunk: frame.data.chunk,
          index: frame.data.index,
          finished: false,
        },
      };
    case 'complete': {
      const { response, ...rest } = frame.data;
      return {
        kind: 'emit',
        name: 'message_received',
        payload: {
          room_id: roomId,
          role: 'assistant',
          request_id: frame.id,
          content: (response ?? '') as JsonValue,
          finished: true,
          ...(rest as Record<string, JsonValue>),
        },
      };
    }
    case 'error':
      return {
        kind: 'emit',
        name: 'error',
        payload: {
          room_id: roomId,
          ...(frame.id !== undefined ? { request_id: frame.id } : {}),
          code: frame.data.code,
          message: frame.data.error,
        },
      };
    case 'presence':
      return {
        kind: 'emit',
        name: frame.data.event === 'joined' ? 'user_joined' : 'user_left',
        payload: { room_id: roomId, user_id: frame.data.user_id, members: frame.data.members },
      };
    case 'pong':
      return { kind: 'ignore' };
  }
}
