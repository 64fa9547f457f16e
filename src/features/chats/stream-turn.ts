import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import type { CallSlot } from '../../lib/call-slot';
import { ApiError, toEnvelope } from '../../lib/errors';
import { sseData, sseResponse, type SseEncoder } from '../../lib/sse';
import { isoNow } from '../../lib/time';
import type { ChatCall } from '../gateway';
import type { ChatRow } from './access';
import type { MessageRow } from './queries';
import { messageView } from './views';

// A streamed turn is run by the chat's room (a Durable Object every isolate reaches), not by the request
// that asked for it: the request relays the room's numbered SSE events, and when its client goes away the
// generation goes on and is stored `complete`. A client that lost the stream resumes with
// `GET /chat/{id}/messages/stream` and `Last-Event-ID`. Why: docs/design/resumable-streams.md

export function chatRoom(env: Env, chatId: string) {
  return env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`chat:${chatId}`));
}

// An SSE event id: `<turn id>:<n>`, the turn being the member's message id and n the event's number (1 is
// the `user_message` event).
const LastEventId = z.string().regex(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(\d{1,9})$/i);

export function parseLastEventId(raw: string | undefined): { turnId: string; after: number } | null {
  if (raw === undefined || raw.trim() === '') return null;
  const parsed = LastEventId.safeParse(raw.trim());
  if (!parsed.success) {
    throw new ApiError('VALIDATION_ERROR', undefined, {
      details: [{ field: 'Last-Event-ID', message: 'Must be an event id of this API, `<turn id>:<number>`' }],
    });
  }
  const [turnId = '', n = '0'] = parsed.data.split(':');
  return { turnId: turnId.toLowerCase(), after: Number(n) };
}

// Relays the room's SSE bytes, whole events at a time (so a keep-alive never lands inside one), with
// keep-alives while the generation is quiet.
async function* events(reader: ReadableStreamDefaultReader<Uint8Array>, left: AbortSignal): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (left.aborted) return; // Our own cancel, the client having gone: nothing is waiting for more.
      throw err;
    }
    const { done, value } = chunk;
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    const cut = buffered.lastIndexOf('\n\n');
    if (cut >= 0) {
      yield buffered.slice(0, cut + 2);
      buffered = buffered.slice(cut + 2);
    }
  }
  buffered += decoder.decode();
  if (buffered !== '') yield buffered;
}

function relay(
  c: Context<AppEnv>,
  stream: ReadableStream<Uint8Array>,
  headers: Record<string, string>,
  onLeave: () => void,
): Promise<Response> {
  const reader = stream.getReader();
  const left = new AbortController();
  const requestId = c.var.requestId;
  const encoder: SseEncoder<string> = {
    event: (text) => text,
    // The room went away mid-generation (it is reset, say): the stream ends with an error the client can
    // resume from (or not, if the room lost the generation with it).
    error: (err) => sseData({ finished: true, ...toEnvelope(err, requestId, isoNow()) }),
    end: () => '',
  };
  return sseResponse(events(reader, left.signal), encoder, {
    holdMs: c.var.config.STREAM_HOLD_MS,
    keepAliveMs: c.var.config.SSE_KEEPALIVE_MS,
    // The client went away: the room ends this follower's stream (`leave`), which ends the pending read.
    // The generation is not aborted.
    onCancel: () => {
      left.abort();
      onLeave();
    },
    headers,
  });
}

// The call's request-log entry: this request's event carries it when the call settles while the request
// is still here; when the client left first, the room logs the call and this request's event goes without
// it (a request that waited for a call it will never see would be cut off by the platform, event and all).
function releaseSlot(slot: CallSlot): void {
  slot.started = false;
  slot.close();
}

export async function streamTurn(
  c: Context<AppEnv>,
  chat: ChatRow,
  userMessage: MessageRow,
  call: ChatCall & { abort: AbortController },
  apiKeyId: string | null,
): Promise<Response> {
  const room = chatRoom(c.env, chat.id);
  const { signal: _signal, abort: _abort, ...rest } = call;
  const started = await room.startTurn({
    chatId: chat.id,
    userMessage: messageView(userMessage),
    apiKeyId,
    call: rest,
  });
  if (!started.ok) {
    const { code, message, details, headers } = started.error;
    throw new ApiError(code, message, { ...(details ? { details } : {}), ...(headers ? { headers } : {}) });
  }
  const { turnId } = started;
  const slot = c.var.aiCall;
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  waitUntil(
    room.settled(turnId).then(
      (summary) => {
        if (summary) slot.settle(summary);
      },
      () => undefined,
    ),
  );
  return relay(c, started.stream, started.headers, () =>
    waitUntil(
      room.leave(turnId, started.followerId).then(
        (roomLogs) => {
          if (roomLogs) releaseSlot(slot);
        },
        () => undefined,
      ),
    ),
  );
}

// GET /chat/{id}/messages/stream: the events after Last-Event-ID of that turn, then the live tail; without
// one, the chat's generation in flight from its start. Nothing to send → 204 (an EventSource stops there);
// a turn no longer kept → 404.
export async function resumeTurn(c: Context<AppEnv>, chat: ChatRow, lastEventId: string | undefined) {
  const from = parseLastEventId(lastEventId);
  const room = chatRoom(c.env, chat.id);
  const followed = await room.follow(from);
  if (followed.ok) {
    const { turnId, followerId } = followed;
    return relay(c, followed.stream, {}, () =>
      c.executionCtx.waitUntil(room.leave(turnId, followerId).catch(() => undefined)),
    );
  }
  switch (followed.reason) {
    case 'none':
    case 'ended':
      return c.body(null, 204);
    case 'ahead':
      throw new ApiError('VALIDATION_ERROR', undefined, {
        details: [{ field: 'Last-Event-ID', message: 'No such event yet in this turn' }],
      });
    case 'gone':
      throw new ApiError(
        'RESOURCE_NOT_FOUND',
        'This turn can no longer be resumed; its stored answer is in GET /api/v1/chat/{chat_id}/messages',
      );
  }
}
