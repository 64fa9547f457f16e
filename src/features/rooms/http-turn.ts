import type { Config } from '../../config';
import { getDb } from '../../db/client';
import type { CallSummary } from '../../lib/call-slot';
import { ApiError, type ErrorCode, type ErrorDetail, toEnvelope } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { sseData } from '../../lib/sse';
import { isoNow } from '../../lib/time';
import { finishTurn, messageView, type ChatRow, type TurnResult } from '../chats';
import { cacheHeaders, type ChatCall, openStream, realtimeDeps } from '../gateway';
import type { Generation } from './generation-log';
import { frameCode, frames } from './ws-protocol';

// A streamed `POST /chat/{id}/messages` turn, run by the chat's room rather than by the request that asked
// it: the worker admits the call and stores the member's message, then hands the model call here, so the
// answer is generated, numbered, kept and stored whether or not its asker is still reading. The asker (and
// anyone resuming with Last-Event-ID) follows the generation's SSE events; the room's members get the same
// turn as `stream`/`complete` frames. Why: docs/design/resumable-streams.md

type MessageView = ReturnType<typeof messageView>;

// What the worker hands over: everything of the call but its abort signal (the room owns the generation).
export interface HttpTurnSpec {
  chatId: string;
  userMessage: MessageView;
  apiKeyId: string | null;
  call: Omit<ChatCall, 'signal'>;
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[];
  headers?: Record<string, string>;
}

export type StartedTurn =
  | {
      ok: true;
      turnId: string;
      followerId: string;
      headers: Record<string, string>;
      stream: ReadableStream<Uint8Array>;
    }
  | { ok: false; error: SerializedError };

export interface HttpTurnEnv {
  env: Env;
  config: Config;
  log: Logger;
  waitUntil(p: Promise<unknown>): void;
  // Frames for the room's members.
  broadcast(frame: string): void;
}

// How the generation ended, for the request log.
export interface TurnOutcome {
  summary: CallSummary | undefined;
  errorCode: string | null;
}

export function serializeError(err: unknown): SerializedError {
  const e = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
  return {
    code: e.code,
    message: e.message,
    ...(e.details ? { details: e.details } : {}),
    ...(e.headers ? { headers: e.headers } : {}),
  };
}

// The SSE body of a streamed turn (unchanged from before it was resumable): the stored user message,
// {"chunk","index"} per piece, then {"finished": true, "message": <the stored assistant message>, "usage"};
// a failure after the start ends with {"finished": true, "error": {...}}.
const finishedFrame = (message: MessageView) => sseData({ finished: true, message, usage: message.usage });

// Opens the model call (a refusal before the stream starts is thrown, for the worker to answer with its
// status); `run` then drives the stream to its end, whoever is following.
export async function openHttpTurn(
  t: HttpTurnEnv,
  chat: ChatRow,
  spec: HttpTurnSpec,
  generation: Generation,
  signal: AbortSignal,
): Promise<{ headers: Record<string, string>; run: () => Promise<TurnOutcome> }> {
  const db = getDb(t.env.DB);
  let summary: CallSummary | undefined;
  const deps = realtimeDeps(
    { env: t.env, config: t.config, db, log: t.log, waitUntil: t.waitUntil },
    (s) => (summary = s),
  );
  const call: ChatCall = { ...spec.call, signal };
  const { cache, events } = await openStream(deps, call);
  const turnId = generation.id;
  // Every event goes to the SSE followers and, as a frame, to the room's members; both are kept.
  const emit = (sse: string, frame: string) => {
    generation.push(sse, frame);
    t.broadcast(frame);
  };
  emit(sseData({ type: 'user_message', message: spec.userMessage }), frames.start(turnId, spec.userMessage));
  const run = async (): Promise<TurnOutcome> => {
    let text = '';
    let index = 0;
    let model: string | null = null;
    const store = async (r: TurnResult) => {
      const stored = messageView(await finishTurn(db, chat, r));
      t.broadcast(frames.message(stored));
      return stored;
    };
    try {
      for await (const e of events) {
        if (e.type === 'start') model = e.target.model;
        else if (e.type === 'delta') {
          text += e.text;
          emit(sseData({ chunk: e.text, index }), frames.stream(turnId, e.text, index));
          index += 1;
        } else if (e.type === 'tool_call') {
          // Chat turns define no tools: nothing to tell.
          continue;
        } else {
          const final = e.model || model || '';
          const stored = await store({
            text,
            model: final,
            status: 'complete',
            promptTokens: e.usage.promptTokens,
            completionTokens: e.usage.completionTokens,
          });
          emit(
            finishedFrame(stored),
            frames.complete(turnId, {
              response: text,
              model: final,
              usage: {
                prompt_tokens: e.usage.promptTokens,
                completion_tokens: e.usage.completionTokens,
                total_tokens: e.usage.totalTokens,
              },
              cached: cache.status === 'HIT',
              message_id: stored.message_id,
            }),
          );
        }
      }
      return { summary, errorCode: null };
    } catch (err) {
      if (signal.aborted) {
        // Cancelled by a member (the room's `cancel` frame): the partial answer is stored as such.
        const stored = await store({ text, model, status: 'cancelled' }).catch(() => null);
        emit(
          stored ? finishedFrame(stored) : sseData({ finished: true, cancelled: true }),
          frames.error(turnId, 'CANCELLED', 'Generation cancelled'),
        );
        return { summary, errorCode: 'CLIENT_CLOSED' };
      }
      const apiError = err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
      if (!(err instanceof ApiError)) t.log.error('chat turn failed', { error: String(err) });
      await store({ text, model, status: 'failed' }).catch(() => undefined);
      emit(
        sseData({ finished: true, ...toEnvelope(apiError, spec.call.requestId, isoNow()) }),
        frames.error(turnId, frameCode(apiError.code), apiError.message),
      );
      return { summary, errorCode: apiError.code };
    }
  };
  return { headers: cacheHeaders(cache), run };
}
