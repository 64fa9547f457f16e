import { DurableObject } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { loadConfig, type Config } from '../../config';
import { getDb } from '../../db/client';
import { chats } from '../../db/schema';
import { createLogger, type Logger } from '../../lib/log';
import type { Identity } from '../accounts';
import { canRead, canWrite, history, messageView, type ChatRow } from '../chats';
import { type Member, runRoomTurn } from './room-turn';
import { frames, parseFrame } from './ws-protocol';

// One room: a persistent chat's (`chat:<id>`) or one plain /ws/chat connection's (`solo:<uuid>`). Sockets
// are accepted on the Hibernation API: who each member is lives in the socket's attachment, so a room woken
// from hibernation still knows its members. Why: docs/design/rooms.md

export const MEMBER_HEADER = 'x-edgeway-room-member';
export const CHAT_HEADER = 'x-edgeway-room-chat';

// What a socket carries through hibernation (well under the attachment limit).
interface Attachment {
  member: Member;
  joinedAt: number;
}

const HISTORY_ON_JOIN = 50;

export class ChatRoom extends DurableObject<Env> {
  // Generations in flight, by the asking frame's id: a `cancel` aborts one. Memory only: a room with a
  // generation in flight has a request in flight and is not hibernated.
  private readonly generations = new Map<string, AbortController>();
  private config: Config | null = null;
  private readonly log: Logger = createLogger({ component: 'chat-room' });

  private settings(): Config {
    this.config ??= loadConfig(this.env);
    return this.config;
  }

  // Called by the worker's /ws/chat route only, after it authenticated the caller and checked the chat.
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket')
      return new Response('Expected a WebSocket upgrade', { status: 426 });
    const member = JSON.parse(request.headers.get(MEMBER_HEADER) ?? 'null') as Member | null;
    if (!member) return new Response('Missing member', { status: 400 });
    const chatId = request.headers.get(CHAT_HEADER);
    if (chatId) this.ctx.storage.kv.put('chat', chatId);
    if (this.ctx.getWebSockets().length >= this.settings().ROOM_MAX_MEMBERS) {
      return new Response('Room is full', { status: 409 });
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ member, joinedAt: Date.now() } satisfies Attachment);
    const chat = await this.chat();
    if (chat) {
      const recent = await history(getDb(this.env.DB), chat.id, HISTORY_ON_JOIN);
      server.send(frames.history(recent.map(messageView)));
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  // The chat of this room, read fresh: sharing, unsharing or deleting it applies to the next frame.
  private async chat(): Promise<ChatRow | null> {
    const id = this.ctx.storage.kv.get<string>('chat');
    if (!id) return null;
    return (await getDb(this.env.DB).select().from(chats).where(eq(chats.id, id)).get()) ?? null;
  }

  // Frames from outside the room (a turn sent over HTTP), for every member.
  announce(frame: string): void {
    this.broadcast(frame);
  }

  private broadcast(frame: string): void {
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // A socket closing meanwhile; its close event removes it.
      }
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const config = this.settings();
    const parsed = parseFrame(message, config.WS_MAX_FRAME_BYTES);
    if (!parsed.ok) {
      ws.send(frames.error(parsed.id, parsed.code, parsed.error));
      return;
    }
    const frame = parsed.frame;
    if (frame.type === 'ping') {
      ws.send(frames.pong(frame.id));
      return;
    }
    if (frame.type === 'cancel') {
      const generation = this.generations.get(frame.id);
      if (generation) generation.abort(new Error('cancelled by a member'));
      else ws.send(frames.error(frame.id, 'NOT_FOUND', 'No generation in progress with this id'));
      return;
    }
    const { member } = ws.deserializeAttachment() as Attachment;
    const chat = await this.chat();
    if (this.ctx.storage.kv.get<string>('chat') !== undefined) {
      // A chat room whose chat is gone, or no longer the member's to read or write.
      if (!chat || !member.identity || !canRead(chat, member.identity)) {
        ws.send(frames.error(frame.id, 'NOT_FOUND', 'Chat not found'));
        ws.close(1008, 'chat not found');
        return;
      }
      if (!canWrite(chat, member.identity) || !writerRole(member.identity)) {
        ws.send(frames.error(frame.id, 'FORBIDDEN', 'Viewers can read a shared chat but not write to it'));
        return;
      }
    }
    if (member.identity && !writerRole(member.identity)) {
      ws.send(frames.error(frame.id, 'FORBIDDEN', 'Viewers cannot make AI calls'));
      return;
    }
    if (this.generations.has(frame.id)) {
      ws.send(frames.error(frame.id, 'INVALID_REQUEST', 'A generation with this id is already in progress'));
      return;
    }
    const abort = new AbortController();
    this.generations.set(frame.id, abort);
    const turn = runRoomTurn(
      {
        env: this.env,
        config,
        log: this.log,
        waitUntil: (p) => this.ctx.waitUntil(p),
        broadcast: (f) => (chat ? this.broadcast(f) : ws.send(f)),
        reply: (f) => ws.send(f),
      },
      member,
      chat,
      frame,
      abort.signal,
    ).finally(() => this.generations.delete(frame.id));
    // The generation belongs to the room, not to the socket that asked: it goes on if the asker leaves.
    this.ctx.waitUntil(turn);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
    // A plain /ws/chat room belongs to its one connection: its generations end with it.
    if (this.ctx.storage.kv.get<string>('chat') === undefined && this.ctx.getWebSockets().length === 0) {
      for (const g of this.generations.values()) g.abort(new Error('connection closed'));
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1011, 'error');
  }
}

function writerRole(who: Identity): boolean {
  return who.role === 'admin' || who.role === 'manager' || who.role === 'member';
}
