import { DurableObject } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { loadConfig, type Config } from '../../config';
import { getDb } from '../../db/client';
import { chats } from '../../db/schema';
import type { CallSummary } from '../../lib/call-slot';
import { ERROR_CATALOGUE } from '../../lib/errors';
import { createLogger, type Logger } from '../../lib/log';
import type { Identity } from '../accounts';
import { canRead, canWrite, history, messageView, type ChatRow } from '../chats';
import { adjustLiveGauge, logRealtimeCall, type RealtimeCall } from '../request-log';
import { type FollowRefusal, type Generation, GenerationLog } from './generation-log';
import { type HttpTurnSpec, openHttpTurn, serializeError, type StartedTurn, type TurnOutcome } from './http-turn';
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

// The route pattern an HTTP turn's call is logged under when the room logs it (its asker left).
const HTTP_TURN_ROUTE = '/api/v1/chat/{chat_id}/messages';
const UNCOLLECTED_CALL_MS = 60_000;

// Who records an HTTP turn's call: the asker's request (its request-log event carries the call, as for any
// HTTP AI call), unless the asker left before the call settled — then the room logs it, since the request
// that asked may be gone by the time the call settles.
interface HttpCall {
  state: 'running' | 'detached' | 'settled';
  // The asker's follower of the generation's events.
  askerId: string;
  outcome: Promise<TurnOutcome>;
  settledAt: number | null;
  log: Omit<RealtimeCall, 'route' | 'errorCode' | 'status'>;
}

export type FollowResult =
  | { ok: true; turnId: string; followerId: string; stream: ReadableStream<Uint8Array> }
  | { ok: false; reason: FollowRefusal };

export class ChatRoom extends DurableObject<Env> {
  // Generations in flight, by the asking frame's id (an HTTP turn's: its user message id): a `cancel` aborts
  // one. Memory only: a generation in flight keeps the room from hibernating (its upstream fetch is pending
  // I/O; see docs/design/resumable-streams.md for the compatibility flag that makes that hold with no
  // client connected).
  private readonly generations = new Map<string, AbortController>();
  // Every generation's numbered events, kept a while after it ends (bounds in generation-log.ts).
  private readonly turns = new GenerationLog();
  // HTTP turns run here, by turn id (the user message's id), until their call is logged.
  private readonly httpCalls = new Map<string, HttpCall>();
  // Members who joined but have not yet been sent their history and the generations in flight: what is
  // broadcast meanwhile waits, so they get every frame once and in order.
  private readonly joining = new Map<WebSocket, string[]>();
  private readonly countedOut = new WeakSet<WebSocket>();
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
    // Who is already here hears of the newcomer (seed 004's user_joined); the newcomer is not told of itself.
    const here = this.ctx.getWebSockets();
    const before = here.length;
    const users = usersOf([...here.map(memberOf), member]);
    this.broadcast(frames.presence('joined', member.identity?.userId ?? null, before + 1, users));
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ member, joinedAt: Date.now() } satisfies Attachment);
    this.gauges(member, before === 0 && chatId !== null, +1);
    if (this.ctx.storage.kv.get<string>('chat') !== undefined) await this.catchUp(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  // A member joining a chat's room gets its recent history, then every generation in flight so far (its
  // `start` frame and what followed), then the live tail. The frames so far are taken before the history
  // is read, and what is broadcast while it is read is queued, so no frame is lost or sent twice. (A
  // `message` frame may repeat one the history already has; its message_id tells.)
  private async catchUp(ws: WebSocket): Promise<void> {
    const sofar = this.turns.inFlight().flatMap((g) => g.roomFrames());
    const queued: string[] = [];
    this.joining.set(ws, queued);
    try {
      const chat = await this.chat();
      if (chat) {
        const recent = await history(getDb(this.env.DB), chat.id, HISTORY_ON_JOIN);
        ws.send(frames.history(recent.map(messageView)));
        const here = this.ctx.getWebSockets();
        ws.send(frames.members(here.length, usersOf(here.map(memberOf))));
      }
      for (const frame of [...sofar, ...queued]) ws.send(frame);
    } catch (err) {
      this.log.warn('room join catch-up failed', { error: String(err) });
    } finally {
      this.joining.delete(ws);
    }
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

  // A streamed HTTP turn of this chat (the worker has admitted it and stored the member's message): the
  // room runs the model call, so the generation outlives its asker's request, and answers with the SSE
  // events to relay (from the first) and the cache headers. A refusal before the stream starts is returned,
  // not thrown, so its error code survives the RPC boundary.
  async startTurn(spec: HttpTurnSpec): Promise<StartedTurn> {
    const arrivedAt = Date.now();
    const startedAt = performance.now();
    this.ctx.storage.kv.put('chat', spec.chatId);
    const chat = await this.chat();
    if (!chat) return { ok: false, error: { code: 'RESOURCE_NOT_FOUND', message: 'Chat not found' } };
    const turnId = spec.userMessage.message_id;
    if (this.generations.has(turnId) || this.turns.get(turnId)) {
      return { ok: false, error: { code: 'CONFLICT', message: 'This turn is already running' } };
    }
    this.broadcast(frames.message(spec.userMessage));
    const abort = new AbortController();
    this.generations.set(turnId, abort);
    const generation = this.turns.start(turnId, 'http');
    let opened;
    try {
      opened = await openHttpTurn(
        {
          env: this.env,
          config: this.settings(),
          log: this.log,
          waitUntil: (p) => this.ctx.waitUntil(p),
          broadcast: (f) => this.broadcast(f),
        },
        chat,
        spec,
        generation,
        abort.signal,
      );
    } catch (err) {
      this.generations.delete(turnId);
      generation.end();
      return { ok: false, error: serializeError(err) };
    }
    // Taken before the run starts, so the asker gets every event from the first.
    const asker = generation.follow(0);
    if (typeof asker === 'string') {
      // Cannot happen (the generation has just begun); the call has not started, nothing to stop upstream.
      this.generations.delete(turnId);
      generation.end();
      return { ok: false, error: { code: 'INTERNAL_ERROR', message: 'Turn lost' } };
    }
    const outcome = opened.run().finally(() => {
      this.generations.delete(turnId);
      generation.end();
    });
    const call: HttpCall = {
      state: 'running',
      askerId: asker.id,
      outcome,
      settledAt: null,
      log: {
        requestId: spec.call.requestId,
        arrivedAt,
        startedAt,
        userId: spec.call.userId,
        organizationId: spec.call.organizationId,
        apiKeyId: spec.apiKeyId,
      },
    };
    this.httpCalls.set(turnId, call);
    this.ctx.waitUntil(outcome.then((o) => this.settleCall(turnId, call, o)));
    return { ok: true, turnId, followerId: asker.id, headers: opened.headers, stream: asker.stream };
  }

  // The settled call of an HTTP turn, for the asker's request to log; null when the room logged it itself.
  async settled(turnId: string): Promise<CallSummary | null> {
    const call = this.httpCalls.get(turnId);
    if (!call) return null;
    const { summary } = await call.outcome;
    this.httpCalls.delete(turnId);
    return call.state === 'settled' ? (summary ?? null) : null;
  }

  // A follower's client went away: its stream ends (the generation goes on). When it is the asker's and the
  // call has not settled, the room will log the call (true); otherwise the asker's request has it (false).
  leave(turnId: string, followerId: string): boolean {
    this.turns.get(turnId)?.unfollow(followerId);
    const call = this.httpCalls.get(turnId);
    if (!call || call.askerId !== followerId || call.state !== 'running') return false;
    call.state = 'detached';
    return true;
  }

  private async settleCall(turnId: string, call: HttpCall, outcome: TurnOutcome): Promise<void> {
    call.settledAt = Date.now();
    // Settled calls wait for their request to collect them; one whose request never does is dropped later.
    for (const [id, other] of this.httpCalls) {
      if (other.settledAt !== null && call.settledAt - other.settledAt > UNCOLLECTED_CALL_MS) this.httpCalls.delete(id);
    }
    if (call.state === 'running') {
      call.state = 'settled';
      return;
    }
    this.httpCalls.delete(turnId);
    const { errorCode } = outcome;
    await logRealtimeCall(
      this.env,
      this.log,
      {
        ...call.log,
        route: HTTP_TURN_ROUTE,
        method: 'POST',
        errorCode,
        status: errorCode === null ? 200 : errorCode === 'CLIENT_CLOSED' ? 499 : statusOf(errorCode),
      },
      outcome.summary,
    );
  }

  // An SSE client catching up on an HTTP turn of this chat: the events after `after` of generation
  // `turnId`, then the live tail; without a turn, the generation in flight from its first event.
  follow(from: { turnId: string; after: number } | null): FollowResult {
    const generation: Generation | undefined = from
      ? this.turns.get(from.turnId)
      : this.turns.inFlight().findLast((g) => g.kind === 'http');
    if (!generation || generation.kind !== 'http') return { ok: false, reason: from ? 'gone' : 'none' };
    const follower = generation.follow(from?.after ?? 0);
    return typeof follower === 'string'
      ? { ok: false, reason: follower }
      : { ok: true, turnId: generation.id, followerId: follower.id, stream: follower.stream };
  }

  private broadcast(frame: string): void {
    for (const ws of this.ctx.getWebSockets()) {
      const queued = this.joining.get(ws);
      if (queued) {
        queued.push(frame);
        continue;
      }
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
    if (frame.type === 'typing') {
      await this.typing(ws, member, frame.typing);
      return;
    }
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
    // A chat's generations are kept for members joining mid-way; a room of one has nobody to join.
    const generation = chat ? this.turns.start(`room:${crypto.randomUUID()}`, 'room') : null;
    const turn = runRoomTurn(
      {
        env: this.env,
        config,
        log: this.log,
        waitUntil: (p) => this.ctx.waitUntil(p),
        broadcast: (f) => (chat ? this.broadcast(f) : ws.send(f)),
        emit: (f) => {
          if (!generation) return ws.send(f);
          generation.push(null, f);
          this.broadcast(f);
        },
        reply: (f) => ws.send(f),
      },
      member,
      chat,
      frame,
      abort.signal,
    ).finally(() => {
      this.generations.delete(frame.id);
      generation?.end();
    });
    // The generation belongs to the room, not to the socket that asked: it goes on if the asker leaves.
    this.ctx.waitUntil(turn);
  }

  // "X is typing…": relayed to the other members of a chat's room by those who may write to it (the chat is
  // read fresh, as for a `chat` frame). Nothing is stored; a room of one has nobody to tell.
  private async typing(ws: WebSocket, member: Member, typing: boolean): Promise<void> {
    if (this.ctx.storage.kv.get<string>('chat') === undefined || !member.identity) return;
    const chat = await this.chat();
    if (!chat || !canWrite(chat, member.identity) || !writerRole(member.identity)) {
      ws.send(frames.error(null, 'FORBIDDEN', 'Only members who may write to this chat can type in it'));
      return;
    }
    const frame = frames.typing(member.identity.userId, typing);
    for (const other of this.ctx.getWebSockets()) {
      if (other === ws || this.joining.has(other)) continue;
      try {
        other.send(frame);
      } catch {
        // Closing; its close event removes it.
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
    const left = ws.deserializeAttachment() as Attachment | null;
    const rest = this.ctx.getWebSockets().filter((other) => other !== ws);
    // An error and a close may both arrive for one socket: it is counted out once.
    if (left && !this.countedOut.has(ws)) {
      this.countedOut.add(ws);
      this.gauges(left.member, rest.length === 0 && this.ctx.storage.kv.get<string>('chat') !== undefined, -1);
    }
    if (left && rest.length > 0) {
      const frame = frames.presence(
        'left',
        left.member.identity?.userId ?? null,
        rest.length,
        usersOf(rest.map(memberOf)),
      );
      for (const other of rest) {
        try {
          other.send(frame);
        } catch {
          // Closing too.
        }
      }
    }
    // A plain /ws/chat room belongs to its one connection: its generations end with it.
    if (this.ctx.storage.kv.get<string>('chat') === undefined && this.ctx.getWebSockets().length === 0) {
      for (const g of this.generations.values()) g.abort(new Error('connection closed'));
    }
  }

  // /metrics' live gauges: /ws/chat connections (a Socket.IO session's membership is counted by its session),
  // and chat rooms with at least one member. Off the frame path, in waitUntil.
  private gauges(member: Member, room: boolean, delta: 1 | -1): void {
    if (member.via !== 'socket.io') {
      this.ctx.waitUntil(adjustLiveGauge(this.env.DB, this.log, 'connections_ws', delta));
    }
    if (room) this.ctx.waitUntil(adjustLiveGauge(this.env.DB, this.log, 'rooms', delta));
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1011, 'error');
  }
}

function statusOf(code: string): number {
  const known: Partial<Record<string, { status: number }>> = ERROR_CATALOGUE;
  return known[code]?.status ?? 500;
}

function memberOf(ws: WebSocket): Member | null {
  return (ws.deserializeAttachment() as Attachment | null)?.member ?? null;
}

// The distinct accounts among these members (anonymous ones have none), in order of arrival.
function usersOf(members: (Member | null)[]): string[] {
  return [...new Set(members.flatMap((m) => (m?.identity ? [m.identity.userId] : [])))];
}

function writerRole(who: Identity): boolean {
  return who.role === 'admin' || who.role === 'manager' || who.role === 'member';
}
