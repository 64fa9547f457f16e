import type { Config } from '../../config';
import { getDb } from '../../db/client';
import { ApiError, ERROR_CATALOGUE } from '../../lib/errors';
import type { CallSummary } from '../../lib/call-slot';
import type { Logger } from '../../lib/log';
import type { Identity } from '../accounts';
import { cachePolicy } from '../cache';
import { beginTurn, finishTurn, messageView, modelSpec, type ChatRow } from '../chats';
import { type ChatCall, openStream, realtimeDeps, runChat } from '../gateway';
import { admit, chargeOrganizationQuota } from '../rate-limits';
import { logRealtimeCall } from '../request-log';
import { type ChatFrame, frameCode, frames } from './ws-protocol';

// One `chat` frame of a room: admitted like an HTTP AI call (client and organization limits, the monthly
// quota), run through the same gateway pipeline (cache, single-flight, router), recorded in the request log,
// and — in a persistent chat's room — stored as the chat's messages. Every frame goes to every member.

export interface Member {
  identity: Identity | null;
  clientKey: string;
  // A Socket.IO session's membership (its connection is counted by the session, not the room).
  via?: 'socket.io';
}

export interface TurnEnv {
  env: Env;
  config: Config;
  log: Logger;
  waitUntil(p: Promise<unknown>): void;
  broadcast(frame: string): void;
  // A frame of the generation itself (start, stream, complete, error): to every member, and kept by the
  // room so a member joining mid-generation gets it too.
  emit(frame: string): void;
  // The asker only (errors about their own frame).
  reply(frame: string): void;
}

export async function runRoomTurn(
  t: TurnEnv,
  member: Member,
  chat: ChatRow | null,
  frame: ChatFrame,
  signal: AbortSignal,
): Promise<void> {
  const arrivedAt = Date.now();
  const startedAt = performance.now();
  const who = member.identity;
  const requestId = `req_${crypto.randomUUID().replaceAll('-', '')}`;
  let summary: CallSummary | undefined;
  let errorCode: string | null = null;
  try {
    const decision = await admit(t, member.clientKey, who);
    if (decision && !decision.allowed)
      throw new ApiError('RATE_LIMIT_EXCEEDED', `Rate limit exceeded; retry in ${decision.retryAfterSeconds} s`);
    if (
      who &&
      !(await chargeOrganizationQuota(t.env, t.config, t.log, who.organizationId, who.organization?.quotaLimit))
    ) {
      throw new ApiError('QUOTA_EXCEEDED', 'The organization has used its API quota for this month');
    }
    const db = getDb(t.env.DB);
    const data = frame.data;
    let messages: ChatCall['messages'];
    if (chat && who) {
      const turn = await beginTurn(
        db,
        t.env.FILES,
        chat,
        who.userId,
        {
          content: data.message,
          files: [],
          ...(data.system_prompt !== undefined ? { systemPrompt: data.system_prompt } : {}),
        },
        [],
      );
      const asked = messageView(turn.message);
      t.broadcast(frames.message(asked));
      t.emit(frames.start(frame.id, asked));
      messages = turn.conversation;
    } else {
      messages = [
        ...(data.system_prompt ? [{ role: 'system' as const, content: data.system_prompt }] : []),
        ...(data.conversation_history ?? []),
        { role: 'user' as const, content: data.message },
      ];
    }
    const call: ChatCall = {
      dialect: 'ws-chat',
      requestId,
      userId: who?.userId ?? null,
      organizationId: who?.organizationId ?? null,
      tenant: who ? `org:${who.organizationId}` : 'anonymous',
      cachePolicy: cachePolicy(new Headers(), t.config),
      model: data.model ?? (chat ? modelSpec(chat) : undefined),
      messages,
      temperature: data.temperature,
      maxTokens: data.max_tokens,
      text: data.message,
      signal,
    };
    const deps = realtimeDeps(
      { env: t.env, config: t.config, db, log: t.log, waitUntil: t.waitUntil },
      (s) => (summary = s),
    );
    const store = async (
      text: string,
      model: string | null,
      status: 'complete' | 'cancelled' | 'failed',
      usage?: { promptTokens: number; completionTokens: number },
    ) =>
      chat
        ? finishTurn(db, chat, {
            text,
            model,
            status,
            ...(usage ? { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens } : {}),
          })
        : null;
    if (data.stream === false) {
      const outcome = await runChat(deps, call);
      const model = outcome.result.model || outcome.target.model;
      const stored = await store(outcome.result.text, model, 'complete', outcome.result.usage);
      t.emit(
        frames.complete(frame.id, {
          response: outcome.result.text,
          model,
          usage: usageBody(outcome.result.usage),
          cached: outcome.cache.status === 'HIT',
          ...(stored ? { message_id: stored.id } : {}),
        }),
      );
      return;
    }
    const { cache, events } = await openStream(deps, call);
    let text = '';
    let index = 0;
    let model: string | null = null;
    try {
      for await (const e of events) {
        if (e.type === 'start') model = e.target.model;
        else if (e.type === 'delta') {
          text += e.text;
          t.emit(frames.stream(frame.id, e.text, index++));
        } else if (e.type === 'tool_call') {
          // Room turns define no tools: nothing to tell.
          continue;
        } else {
          const final = e.model || model || '';
          const stored = await store(text, final, 'complete', e.usage);
          t.emit(
            frames.complete(frame.id, {
              response: text,
              model: final,
              usage: usageBody(e.usage),
              cached: cache.status === 'HIT',
              ...(stored ? { message_id: stored.id } : {}),
            }),
          );
        }
      }
    } catch (err) {
      t.waitUntil(store(text, model, signal.aborted ? 'cancelled' : 'failed').catch(() => undefined));
      throw err;
    }
  } catch (err) {
    const apiError = signal.aborted ? null : err instanceof ApiError ? err : new ApiError('INTERNAL_ERROR');
    errorCode = signal.aborted ? 'CLIENT_CLOSED' : (apiError?.code ?? 'INTERNAL_ERROR');
    if (signal.aborted) t.emit(frames.error(frame.id, 'CANCELLED', 'Generation cancelled'));
    else if (apiError) {
      if (!(err instanceof ApiError)) t.log.error('room turn failed', { error: String(err) });
      t.emit(frames.error(frame.id, frameCode(apiError.code), apiError.message));
    }
  } finally {
    t.waitUntil(
      logRealtimeCall(
        t.env,
        t.log,
        {
          requestId,
          route: '/ws/chat',
          arrivedAt,
          startedAt,
          organizationId: who?.organizationId ?? null,
          userId: who?.userId ?? null,
          apiKeyId: who?.apiKeyId ?? null,
          errorCode,
          status: errorCode === null ? 200 : errorCode === 'CLIENT_CLOSED' ? 499 : statusOf(errorCode),
        },
        summary,
      ),
    );
  }
}

function usageBody(u: { promptTokens: number; completionTokens: number; totalTokens: number }) {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.totalTokens };
}

function statusOf(code: string): number {
  const known: Partial<Record<string, { status: number }>> = ERROR_CATALOGUE;
  return known[code]?.status ?? 500;
}
