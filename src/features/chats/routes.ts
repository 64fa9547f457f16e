import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { eq } from 'drizzle-orm';
import { getDb } from '../../db/client';
import { CHAT_VISIBILITIES, chats } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { PaginationQuery, PaginationSchema, paginate, window } from '../../lib/pagination';
import { createRouter, errorResponses } from '../../lib/router';
import { isoNow } from '../../lib/time';
import { atLeast, protect, SIGNED_IN } from '../accounts';
import { beginCall, cacheHeaders, pipelineDeps, runChat } from '../gateway';
import { parseTarget } from '../models';
import { createChat } from './create';
import { chatFor, type ChatRow, signedIn } from './access';
import { deleteChatFiles } from './files/cleanup';
import { filesOf, listChats, listMessages, type MessageRow } from './queries';
import { beginTurn, finishTurn, messageFiles, modelSpec, type TurnResult } from './turn';
import { chatRoom, resumeTurn, streamTurn } from './stream-turn';
import { ChatSchema, chatView, MessageSchema, messageView } from './views';

// Chats and their messages (seed 004), under /api/v1/chat. A chat is private to its owner until shared
// with the owner's organization. Why: docs/design/chats.md
export const chatsRoutes = createRouter();

const ChatIdParam = z.object({
  chat_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'chat_id', in: 'path' } }),
});

const ModelId = z.string().trim().min(1).max(200);
const ModelSource = z.string().trim().min(1).max(50);

const CreateChatBody = z
  .object({
    model_id: ModelId.openapi({ example: 'gpt-4' }),
    model_api_source: ModelSource.openapi({ example: 'openai' }),
    title: z.string().trim().max(200).optional(),
    visibility: z.enum(CHAT_VISIBILITIES).optional(),
  })
  .strict();

const UpdateChatBody = z
  .object({
    model_id: ModelId.optional(),
    model_api_source: ModelSource.optional(),
    title: z.string().trim().max(200).nullable().optional(),
    visibility: z.enum(CHAT_VISIBILITIES).optional(),
  })
  .strict();

const SendMessageBody = z
  .object({
    content: z.string().min(1).optional().openapi({ example: 'Summarise the attached notes' }),
    // Seed 002's name for the same thing.
    message: z.string().min(1).optional(),
    files: z.array(z.string().max(64)).max(20).optional(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().min(1).max(1_000_000).optional(),
    system_prompt: z.string().max(100_000).optional(),
  })
  .strict();

const Turn = z.object({ user_message: MessageSchema, assistant_message: MessageSchema }).openapi('ChatTurn');

// A model the chat can use: a provider the catalogue knows (any model id of it; an unknown provider is a 400).
function checkModel(c: Context<AppEnv>, source: string, model: string): void {
  parseTarget(`${source}:${model}`, c.var.config, 'model_api_source');
}

async function oneChat(c: Context<AppEnv>, chat: ChatRow) {
  const byChat = await filesOf(getDb(c.env.DB), [chat.id]);
  return chatView(chat, byChat.get(chat.id) ?? []);
}

chatsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/chat',
    operationId: 'listChats',
    tags: ['chats'],
    summary: "The caller's chats and those shared with their organization, newest first",
    middleware: [protect(SIGNED_IN)],
    request: { query: PaginationQuery },
    responses: {
      200: {
        description: 'Chats',
        content: {
          'application/json': { schema: z.object({ data: z.array(ChatSchema), pagination: PaginationSchema }) },
        },
      },
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const { limit, offset } = window(c.req.valid('query'));
    const db = getDb(c.env.DB);
    const { rows, total } = await listChats(db, who, limit, offset);
    const byChat = await filesOf(
      db,
      rows.map((r) => r.id),
    );
    return c.json(
      { data: rows.map((r) => chatView(r, byChat.get(r.id) ?? [])), pagination: paginate(total, limit, offset) },
      200,
    );
  },
);

chatsRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/chat',
    operationId: 'createChat',
    tags: ['chats'],
    summary: 'Create a chat',
    middleware: [protect(atLeast('member'))],
    request: { body: { required: true, content: { 'application/json': { schema: CreateChatBody } } } },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: ChatSchema } } },
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const body = c.req.valid('json');
    checkModel(c, body.model_api_source, body.model_id);
    const chat = await createChat(getDb(c.env.DB), who, {
      modelId: body.model_id,
      modelApiSource: body.model_api_source,
      title: body.title ?? null,
      visibility: body.visibility ?? 'private',
    });
    return c.json(chatView(chat, []), 201);
  },
);

chatsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/chat/{chat_id}',
    operationId: 'getChat',
    tags: ['chats'],
    summary: 'A chat with its files',
    middleware: [protect(SIGNED_IN)],
    request: { params: ChatIdParam },
    responses: {
      200: { description: 'The chat', content: { 'application/json': { schema: ChatSchema } } },
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const chat = await chatFor(getDb(c.env.DB), who, c.req.valid('param').chat_id, 'read');
    return c.json(await oneChat(c, chat), 200);
  },
);

chatsRoutes.openapi(
  createRoute({
    method: 'patch',
    path: '/chat/{chat_id}',
    operationId: 'updateChat',
    tags: ['chats'],
    summary: "Rename a chat, change its model, or share it with the owner's organization (owner only)",
    middleware: [protect(SIGNED_IN)],
    request: {
      params: ChatIdParam,
      body: { required: true, content: { 'application/json': { schema: UpdateChatBody } } },
    },
    responses: {
      200: { description: 'The chat', content: { 'application/json': { schema: ChatSchema } } },
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const db = getDb(c.env.DB);
    const chat = await chatFor(db, who, c.req.valid('param').chat_id, 'own');
    const body = c.req.valid('json');
    const source = body.model_api_source ?? chat.currentModelApiSource;
    const model = body.model_id ?? chat.currentModelId;
    if (body.model_api_source !== undefined || body.model_id !== undefined) checkModel(c, source, model);
    const updated = await db
      .update(chats)
      .set({
        currentModelApiSource: source,
        currentModelId: model,
        ...(body.title !== undefined ? { title: body.title } : {}),
        ...(body.visibility !== undefined ? { visibility: body.visibility } : {}),
        updatedAt: isoNow(),
      })
      .where(eq(chats.id, chat.id))
      .returning()
      .get();
    return c.json(await oneChat(c, updated ?? chat), 200);
  },
);

chatsRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/chat/{chat_id}',
    operationId: 'deleteChat',
    tags: ['chats'],
    summary: 'Delete a chat, its messages and every stored file (owner only)',
    middleware: [protect(SIGNED_IN)],
    request: { params: ChatIdParam },
    responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const who = await signedIn(c);
    const db = getDb(c.env.DB);
    const chat = await chatFor(db, who, c.req.valid('param').chat_id, 'own');
    // The objects first: if that fails the chat is still there to delete again, never a row-less orphan.
    await deleteChatFiles(c.env, db, chat.id);
    await db.delete(chats).where(eq(chats.id, chat.id)).run();
    // Once more after the row is gone: an upload that committed in between left objects a listing finds (an
    // upload that commits later is refused by the foreign key and cleans up after itself).
    await deleteChatFiles(c.env, db, chat.id);
    return c.body(null, 204);
  },
);

chatsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/chat/{chat_id}/messages',
    operationId: 'listChatMessages',
    tags: ['chats'],
    summary: 'Messages of a chat, oldest first',
    middleware: [protect(SIGNED_IN)],
    request: { params: ChatIdParam, query: PaginationQuery },
    responses: {
      200: {
        description: 'Messages',
        content: {
          'application/json': { schema: z.object({ data: z.array(MessageSchema), pagination: PaginationSchema }) },
        },
      },
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const db = getDb(c.env.DB);
    const chat = await chatFor(db, who, c.req.valid('param').chat_id, 'read');
    const { limit, offset } = window(c.req.valid('query'));
    const { rows, total } = await listMessages(db, chat.id, limit, offset);
    return c.json({ data: rows.map(messageView), pagination: paginate(total, limit, offset) }, 200);
  },
);

chatsRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/chat/{chat_id}/messages',
    operationId: 'sendChatMessage',
    tags: ['chats'],
    summary: "Send a message and get the assistant's answer (JSON, or SSE with stream: true)",
    middleware: [protect(atLeast('member'))],
    request: {
      params: ChatIdParam,
      body: { required: true, content: { 'application/json': { schema: SendMessageBody } } },
    },
    responses: {
      201: {
        description: 'The stored user message and the assistant answer',
        content: { 'application/json': { schema: Turn }, 'text/event-stream': { schema: { type: 'string' } } },
      },
      ...errorResponses(400, 401, 403, 404, 429, 502, 503, 504),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const db = getDb(c.env.DB);
    const chat = await chatFor(db, who, c.req.valid('param').chat_id, 'write');
    const body = c.req.valid('json');
    const content = body.content ?? body.message;
    if (content === undefined) {
      throw new ApiError('VALIDATION_ERROR', undefined, { details: [{ field: 'content', message: 'Required' }] });
    }
    if (content.length > c.var.config.MAX_TEXT_CHARS) {
      throw new ApiError('VALIDATION_ERROR', undefined, {
        details: [{ field: 'content', message: `Must be at most ${c.var.config.MAX_TEXT_CHARS} characters` }],
      });
    }
    const attached = await messageFiles(db, chat, body.files ?? []);
    // Quota and admission before anything is stored: a refused turn leaves the chat as it was.
    const base = await beginCall(c, 'chat');
    const { message, conversation } = await beginTurn(
      db,
      c.env.FILES,
      chat,
      who.userId,
      {
        content,
        files: attached.map((f) => f.id),
        ...(body.system_prompt !== undefined ? { systemPrompt: body.system_prompt } : {}),
      },
      attached,
    );
    const call = {
      ...base,
      model: modelSpec(chat),
      messages: conversation,
      temperature: body.temperature,
      maxTokens: body.max_tokens,
      text: content,
    };
    // Streamed: the chat's room runs the generation (it outlives this request, numbers its events for
    // resuming, and shows the turn live to the room's members). docs/design/resumable-streams.md
    if (body.stream === true) return await streamTurn(c, chat, message, call, who.apiKeyId ?? null);
    // The chat's live room shows the turn too (its members get the stored messages). Best effort, after the
    // answer: nothing waits for the room.
    const announce = (m: MessageRow) =>
      c.executionCtx.waitUntil(
        chatRoom(c.env, chat.id)
          .announce(JSON.stringify({ type: 'message', data: messageView(m) }))
          .catch(() => undefined),
      );
    announce(message);
    const store = async (r: TurnResult) => {
      const stored = await finishTurn(db, chat, r);
      announce(stored);
      return stored;
    };
    let outcome;
    try {
      outcome = await runChat(pipelineDeps(c), call);
    } catch (err) {
      c.executionCtx.waitUntil(store({ text: '', model: null, status: 'failed' }).catch(() => undefined));
      throw err;
    }
    const answer = await store({
      text: outcome.result.text,
      model: outcome.result.model || outcome.target.model,
      status: 'complete',
      promptTokens: outcome.result.usage.promptTokens,
      completionTokens: outcome.result.usage.completionTokens,
    });
    return c.json(
      { user_message: messageView(message), assistant_message: messageView(answer) },
      201,
      cacheHeaders(outcome.cache),
    );
  },
);

chatsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/chat/{chat_id}/messages/stream',
    operationId: 'resumeChatStream',
    tags: ['chats'],
    summary:
      'Resume a streamed turn: the SSE events after Last-Event-ID, then the live tail (without one, the turn in flight)',
    middleware: [protect(SIGNED_IN)],
    request: {
      params: ChatIdParam,
      headers: z.object({ 'last-event-id': z.string().max(200).optional() }),
      query: z.object({ last_event_id: z.string().max(200).optional() }),
    },
    responses: {
      200: { description: 'The events', content: { 'text/event-stream': { schema: { type: 'string' } } } },
      204: { description: 'Nothing to resume: no turn in flight, or the stream had already ended' },
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const chat = await chatFor(getDb(c.env.DB), who, c.req.valid('param').chat_id, 'read');
    // The header, as an EventSource sends it when it reconnects; the query for clients that cannot set it.
    const lastEventId = c.req.valid('header')['last-event-id'] ?? c.req.valid('query').last_event_id;
    return await resumeTurn(c, chat, lastEventId);
  },
);
