import { z } from 'zod';

// Seed 002's WebSocket protocol on /ws/chat: `chat` → `stream` frames → `complete`; `error` with a code;
// `ping` → `pong`; `cancel` stops a generation. Every inbound frame is validated; a bad one is answered with
// an `error` frame, never a dropped connection. Why: docs/design/rooms.md

const Id = z.string().min(1).max(128);
const Role = z.enum(['user', 'assistant', 'system']);

export const ChatFrame = z
  .object({
    type: z.literal('chat'),
    id: Id,
    data: z
      .object({
        message: z.string().min(1),
        model: z.string().min(1).max(200).optional(),
        stream: z.boolean().optional(),
        temperature: z.number().min(0).max(2).optional(),
        max_tokens: z.number().int().min(1).max(1_000_000).optional(),
        system_prompt: z.string().max(100_000).optional(),
        conversation_history: z
          .array(z.object({ role: Role, content: z.string() }))
          .max(200)
          .optional(),
      })
      .strict(),
  })
  .strict();
export type ChatFrame = z.infer<typeof ChatFrame>;

const PingFrame = z
  .object({ type: z.literal('ping'), id: Id.optional(), timestamp: z.string().max(64).optional() })
  .strict();
const CancelFrame = z.object({ type: z.literal('cancel'), id: Id }).strict();
// A member started or stopped typing in a chat's room (the web app's "X is typing…"): relayed to the others.
const TypingFrame = z.object({ type: z.literal('typing'), typing: z.boolean() }).strict();

export const InboundFrame = z.discriminatedUnion('type', [ChatFrame, PingFrame, CancelFrame, TypingFrame]);
export type InboundFrame = z.infer<typeof InboundFrame>;

// Seed 002's error codes, with the platform's for what the seed has no name for.
export type FrameErrorCode =
  | 'INVALID_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'FRAME_TOO_LARGE'
  | 'PROVIDER_ERROR'
  | 'PROVIDER_TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'CANCELLED'
  | 'INTERNAL_ERROR';

export type Parsed =
  { ok: true; frame: InboundFrame } | { ok: false; id: string | null; code: FrameErrorCode; error: string };

const byteLength = (s: string) => new TextEncoder().encode(s).byteLength;

// The frame's `id` when there is one to answer to, even if the rest is invalid.
function idOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : null;
}

export function parseFrame(raw: string | ArrayBuffer, maxBytes: number): Parsed {
  if (typeof raw !== 'string') return { ok: false, id: null, code: 'INVALID_REQUEST', error: 'Frames are JSON text' };
  if (raw.length > maxBytes || byteLength(raw) > maxBytes) {
    return { ok: false, id: null, code: 'FRAME_TOO_LARGE', error: `Frames are at most ${maxBytes} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, id: null, code: 'INVALID_REQUEST', error: 'Frame is not valid JSON' };
  }
  const parsed = InboundFrame.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return {
      ok: false,
      id: idOf(value),
      code: 'INVALID_REQUEST',
      error: `${where}${issue?.message ?? 'invalid frame'}`,
    };
  }
  return { ok: true, frame: parsed.data };
}

export const frames = {
  pong: (id: string | undefined) =>
    JSON.stringify({ type: 'pong', ...(id ? { id } : {}), timestamp: new Date().toISOString() }),
  stream: (id: string, chunk: string, index: number) =>
    JSON.stringify({ type: 'stream', id, data: { chunk, index, finished: false } }),
  complete: (
    id: string,
    data: {
      response: string;
      model: string;
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
      cached: boolean;
      message_id?: string;
    },
  ) => JSON.stringify({ type: 'complete', id, data }),
  error: (id: string | null, code: FrameErrorCode, error: string) =>
    JSON.stringify({ type: 'error', ...(id ? { id } : {}), data: { error, code } }),
  // Rooms of a persistent chat: another member's message, and the recent history a member gets on joining.
  message: (message: unknown) => JSON.stringify({ type: 'message', data: message }),
  history: (messages: unknown[]) => JSON.stringify({ type: 'history', data: { messages } }),
  // Someone joined or left the room (seed 004's user_joined / user_left); `members` is the count of sockets
  // after it and `users` the distinct accounts here after it (a person with two tabs is one user), so a
  // client can show who is here without keeping count itself.
  presence: (event: 'joined' | 'left', userId: string | null, members: number, users: string[]) =>
    JSON.stringify({ type: 'presence', data: { event, user_id: userId, members, users } }),
  // Who is here, for a member who has just joined a chat's room (sent after its `history`).
  members: (members: number, users: string[]) => JSON.stringify({ type: 'members', data: { members, users } }),
  // Another member started or stopped typing.
  typing: (userId: string, typing: boolean) => JSON.stringify({ type: 'typing', data: { user_id: userId, typing } }),
  // Rooms of a persistent chat: a generation began (asked in the room or over HTTP). Its `id` is the one its
  // `stream`, `complete` and `error` frames carry and a `cancel` names; a member joining mid-generation gets
  // it first, then the frames so far. Why: docs/design/resumable-streams.md
  start: (id: string, message: { message_id: string; user_id: string | null }) =>
    JSON.stringify({ type: 'start', id, data: { message_id: message.message_id, user_id: message.user_id } }),
};

// A platform error code as the seed's frame code.
export function frameCode(code: string): FrameErrorCode {
  switch (code) {
    case 'VALIDATION_ERROR':
      return 'INVALID_REQUEST';
    case 'AUTHENTICATION_REQUIRED':
      return 'UNAUTHORIZED';
    case 'INSUFFICIENT_PERMISSIONS':
      return 'FORBIDDEN';
    case 'RESOURCE_NOT_FOUND':
      return 'NOT_FOUND';
    case 'RATE_LIMIT_EXCEEDED':
      return 'RATE_LIMITED';
    case 'QUOTA_EXCEEDED':
    case 'PROVIDER_ERROR':
    case 'PROVIDER_TIMEOUT':
    case 'SERVICE_UNAVAILABLE':
      return code;
    default:
      return 'INTERNAL_ERROR';
  }
}
