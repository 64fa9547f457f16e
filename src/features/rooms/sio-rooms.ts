import { z } from 'zod';
import type { Config } from '../../config';
import { getDb } from '../../db/client';
import { ApiError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { identifyToken, type Identity } from '../accounts';
import { chatFor, createChat, modelSpec, type ChatRow } from '../chats';
import { parseTarget } from '../models';
import { CHAT_HEADER, MEMBER_HEADER } from './chat-room';
import type { Member } from './room-turn';
import {
  ASSISTANT_NSP,
  CancelMessage,
  CreateRoom,
  DEFAULT_REALTIME_MODEL,
  JoinRoom,
  LeaveRoom,
  SendMessage,
  describeIssue,
  roomTypeOf,
  translateRoomFrame,
  type SioError,
} from './sio-events';
import type { JsonObject, JsonValue } from './socket-io/result';
import type { SocketIoEvent } from './socket-io/socket-io-connection';

// Seed 004's rooms for one Socket.IO connection. A room is a chat's ChatRoom object — the same room its
// `/ws/chat?chat_id=` members are in — which this connection joins as one member over an internal
// WebSocket; the room's frames come back here and go out as seed 004's events. Why: docs/design/socket-io.md#rooms

export interface SioRoomsDeps {
  env: Env;
  config: Config;
  log: Logger;
  storage: SyncKvStorage;
  waitUntil(p: Promise<unknown>): void;
  // Who the handshake authenticated (null without credentials).
  member(): Member | null;
  emit(nsp: string, name: string, args: JsonValue[]): void;
  // Answers a client's event that asked for an acknowledgement.
  ack(nsp: string, ackId: number, args: JsonValue[]): void;
  accept(nsp: string): void;
  refuse(nsp: string, message: string): void;
}

const WHO_KEY = 'who';
const ROOMS_KEY = 'rooms';

interface Joining {
  created: boolean;
  ackId: number | null;
  info: JsonObject;
}

const writer = (who: Identity) => who.role === 'admin' || who.role === 'manager' || who.role === 'member';

export class SioRooms {
  private readonly sockets = new Map<string, WebSocket>();
  private readonly joining = new Map<string, Joining>();
  private resumed = false;

  constructor(private readonly d: SioRoomsDeps) {}

  async handle(event: SocketIoEvent): Promise<void> {
    switch (event.kind) {
      case 'connect-request':
        return this.connect(event.nsp, event.auth);
      case 'event':
        return this.onEvent(event.nsp, event.name, event.args, event.ackId);
      case 'invalid':
        if (event.nsp !== null) this.error(event.nsp, null, { code: 'INVALID_REQUEST', message: event.error.message });
        return;
      case 'disconnect':
        if (event.nsp === ASSISTANT_NSP) this.leaveAll();
        return;
      case 'closed':
        this.leaveAll();
        return;
      case 'ack':
        return;
    }
  }

  // Credentials: the CONNECT's `auth.token` when given (socket.io-client's `auth` option), else the
  // handshake's. Nobody enters /assistant/realtime without an account; `/` admits anonymous callers where
  // the deployment allows them.
  private async connect(nsp: string, auth: JsonObject): Promise<void> {
    let who = this.d.member()?.identity ?? null;
    const token = auth.token;
    if (token !== undefined) {
      if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
        return this.d.refuse(nsp, 'auth.token must be a credential string');
      }
      try {
        who = await identifyToken({ env: this.d.env, config: this.d.config, waitUntil: this.d.waitUntil }, token);
      } catch (err) {
        if (!(err instanceof ApiError)) this.d.log.error('Socket.IO credential check failed', { error: String(err) });
        return this.d.refuse(nsp, err instanceof ApiError ? err.message : 'Service unavailable');
      }
    }
    if (!who && !(nsp === '/' && this.d.config.ALLOW_ANONYMOUS)) {
      return this.d.refuse(nsp, 'Authentication required');
    }
    const all = this.d.storage.get<Record<string, Identity | null>>(WHO_KEY) ?? {};
    this.d.storage.put(WHO_KEY, { ...all, [nsp]: who });
    this.d.accept(nsp);
  }

  private identity(nsp: string): Identity | null {
    return this.d.storage.get<Record<string, Identity | null>>(WHO_KEY)?.[nsp] ?? null;
  }

  private error(nsp: string, ackId: number | null, error: SioError): void {
    this.d.emit(nsp, 'error', [error as unknown as JsonObject]);
    if (ackId !== null) this.d.ack(nsp, ackId, [{ error: error as unknown as JsonObject }]);
  }

  private reply(nsp: string, name: string, payload: JsonObject, ackId: number | null): void {
    this.d.emit(nsp, name, [payload]);
    if (ackId !== null) this.d.ack(nsp, ackId, [payload]);
  }

  private async onEvent(nsp: string, name: string, args: JsonValue[], ackId: number | null): Promise<void> {
    if (nsp !== ASSISTANT_NSP) {
      return this.error(nsp, ackId, {
        code: 'INVALID_REQUEST',
        message: `Unknown event "${name}" on ${nsp}: room events are served on ${ASSISTANT_NSP}`,
        event: name,
      });
    }
    const who = this.identity(nsp);
    if (!who) return this.error(nsp, ackId, { code: 'UNAUTHORIZED', message: 'Authentication required' });
    const payload = args[0] ?? {};
    const parse = <T>(schema: z.ZodType<T>): T | null => {
      const parsed = schema.safeParse(payload);
      if (parsed.success) return parsed.data;
      this.error(nsp, ackId, { code: 'INVALID_REQUEST', message: describeIssue(parsed.error), event: name });
      return null;
    };
    try {
      switch (name) {
        case 'create_room': {
          const body = parse(CreateRoom);
          if (body) await this.create(who, body, ackId);
          return;
        }
        case 'join_room': {
          const body = parse(JoinRoom);
          if (!body) return;
          const chat = await chatFor(getDb(this.d.env.DB), who, body.room_id, 'read').catch(() => null);
          if (!chat) return this.error(nsp, ackId, notFound(body.room_id, name));
          return await this.join(who, chat, false, ackId);
        }
        case 'leave_room': {
          const body = parse(LeaveRoom);
          if (!body) return;
          if (!this.sockets.has(body.room_id)) return this.error(nsp, ackId, notFound(body.room_id, name));
          this.leave(body.room_id);
          return this.reply(nsp, 'room_left', { room_id: body.room_id }, ackId);
        }
        case 'send_message': {
          const body = parse(SendMessage);
          if (!body) return;
          const socket = this.sockets.get(body.room_id);
          if (!socket) return this.error(nsp, ackId, notFound(body.room_id, name));
          const { room_id: roomId, request_id: given, message, ...options } = body;
          const requestId = given ?? `sio_${crypto.randomUUID().replaceAll('-', '')}`;
          // The room runs the turn (limits, quota, cache, storage, broadcast) exactly as for a /ws/chat member.
          socket.send(
            JSON.stringify({
              type: 'chat',
              id: requestId,
              data: { message, stream: options.stream ?? true, ...options },
            }),
          );
          if (ackId !== null) this.d.ack(nsp, ackId, [{ room_id: roomId, request_id: requestId }]);
          return;
        }
        case 'cancel_message': {
          const body = parse(CancelMessage);
          if (!body) return;
          const socket = this.sockets.get(body.room_id);
          if (!socket) return this.error(nsp, ackId, notFound(body.room_id, name));
          socket.send(JSON.stringify({ type: 'cancel', id: body.request_id }));
          if (ackId !== null) this.d.ack(nsp, ackId, [{ room_id: body.room_id, request_id: body.request_id }]);
          return;
        }
        default:
          return this.error(nsp, ackId, { code: 'INVALID_REQUEST', message: `Unknown event "${name}"`, event: name });
      }
    } catch (err) {
      const known = err instanceof ApiError;
      if (!known) this.d.log.error('Socket.IO room event failed', { event: name, error: String(err) });
      this.error(nsp, ackId, {
        code: known ? sioCode(err.code) : 'INTERNAL_ERROR',
        message: known ? err.message : 'Internal error',
        event: name,
      });
    }
  }

  private async create(who: Identity, body: z.infer<typeof CreateRoom>, ackId: number | null): Promise<void> {
    if (!writer(who)) {
      return this.error(ASSISTANT_NSP, ackId, {
        code: 'FORBIDDEN',
        message: 'Viewers cannot create rooms',
        event: 'create_room',
      });
    }
    const spec = body.model ?? (body.type === 'openai_realtime' ? DEFAULT_REALTIME_MODEL : undefined);
    const target = parseTarget(spec, this.d.config, 'model');
    if (body.type === 'openai_realtime' && target.provider.id !== 'openai') {
      return this.error(ASSISTANT_NSP, ackId, {
        code: 'INVALID_REQUEST',
        message: `An openai_realtime room streams an OpenAI model; ${spec ?? 'the default model'} is not one`,
        event: 'create_room',
      });
    }
    const chat = await createChat(getDb(this.d.env.DB), who, {
      modelId: target.model,
      modelApiSource: target.provider.id,
      ...(body.title !== undefined ? { title: body.title } : {}),
      ...(body.visibility !== undefined ? { visibility: body.visibility } : {}),
    });
    await this.join(who, chat, true, ackId, body.type);
  }

  // Joins the chat's room as a member; `room_created` / `room_joined` (with the recent history) go out when
  // the room's first frame arrives.
  private async join(
    who: Identity,
    chat: ChatRow,
    created: boolean,
    ackId: number | null,
    type = roomTypeOf(chat.currentModelApiSource),
  ): Promise<void> {
    const info: JsonObject = {
      room_id: chat.id,
      type,
      model: modelSpec(chat),
      title: chat.title,
      visibility: chat.visibility,
      owner_id: chat.userId,
    };
    if (this.sockets.has(chat.id)) return this.reply(ASSISTANT_NSP, 'room_joined', { ...info, history: [] }, ackId);
    const socket = await this.open(who, chat.id);
    if (socket === 'full') {
      return this.error(ASSISTANT_NSP, ackId, {
        code: 'CONFLICT',
        message: 'This room is full',
        room_id: chat.id,
        event: created ? 'create_room' : 'join_room',
      });
    }
    this.joining.set(chat.id, { created, ackId, info });
    socket.accept();
  }

  private async open(who: Identity, roomId: string): Promise<WebSocket | 'full'> {
    const member: Member = {
      identity: who,
      clientKey: this.d.member()?.clientKey ?? `user:${who.userId}`,
      via: 'socket.io',
    };
    const room = this.d.env.CHAT_ROOM.get(this.d.env.CHAT_ROOM.idFromName(`chat:${roomId}`));
    const res = await room.fetch('https://room/ws', {
      headers: { upgrade: 'websocket', [MEMBER_HEADER]: JSON.stringify(member), [CHAT_HEADER]: roomId },
    });
    if (res.status === 409) return 'full';
    const socket = res.webSocket;
    if (!socket) throw new Error(`room answered ${res.status} without a WebSocket`);
    socket.addEventListener('message', (e) => {
      if (typeof e.data === 'string') this.fromRoom(roomId, e.data);
    });
    socket.addEventListener('close', () => {
      if (this.sockets.get(roomId) !== socket) return;
      // The room ended the membership (the chat was deleted or unshared): the client hears of it.
      this.forget(roomId);
      this.d.emit(ASSISTANT_NSP, 'room_left', [{ room_id: roomId }]);
    });
    this.sockets.set(roomId, socket);
    this.remember();
    return socket;
  }

  private fromRoom(roomId: string, raw: string): void {
    const out = translateRoomFrame(roomId, raw);
    if (out.kind === 'ignore') return;
    if (out.kind === 'history') {
      const joining = this.joining.get(roomId);
      if (!joining) return;
      this.joining.delete(roomId);
      const payload = { ...joining.info, history: out.messages };
      return this.reply(ASSISTANT_NSP, joining.created ? 'room_created' : 'room_joined', payload, joining.ackId);
    }
    this.d.emit(ASSISTANT_NSP, out.name, [out.payload]);
  }

  private leave(roomId: string): void {
    const socket = this.sockets.get(roomId);
    this.forget(roomId);
    try {
      socket?.close(1000, 'left');
    } catch {
      // Closed already.
    }
  }

  private forget(roomId: string): void {
    this.sockets.delete(roomId);
    this.joining.delete(roomId);
    this.remember();
  }

  private remember(): void {
    this.d.storage.put(ROOMS_KEY, [...this.sockets.keys()]);
  }

  leaveAll(): void {
    for (const roomId of [...this.sockets.keys()]) this.leave(roomId);
    this.d.storage.delete(ROOMS_KEY);
  }

  // An object evicted while in rooms lost its sockets to them (they are not hibernatable from this side):
  // it rejoins each, quietly, on its next event, re-checking that the member may still read the chat.
  resume(): void {
    if (this.resumed) return;
    this.resumed = true;
    const rooms = this.d.storage.get<string[]>(ROOMS_KEY) ?? [];
    const who = this.identity(ASSISTANT_NSP);
    if (rooms.length === 0 || !who) return;
    this.d.waitUntil(
      Promise.all(
        rooms.map(async (roomId) => {
          const chat = await chatFor(getDb(this.d.env.DB), who, roomId, 'read').catch(() => null);
          const socket = chat ? await this.open(who, roomId).catch(() => null) : null;
          if (socket && socket !== 'full') socket.accept();
          else this.forget(roomId);
        }),
      ),
    );
  }
}

function notFound(roomId: string, event: string): SioError {
  return { code: 'NOT_FOUND', message: 'Room not found', room_id: roomId, event };
}

function sioCode(code: string): SioError['code'] {
  switch (code) {
    case 'VALIDATION_ERROR':
      return 'INVALID_REQUEST';
    case 'RESOURCE_NOT_FOUND':
      return 'NOT_FOUND';
    case 'INSUFFICIENT_PERMISSIONS':
      return 'FORBIDDEN';
    case 'AUTHENTICATION_REQUIRED':
      return 'UNAUTHORIZED';
    default:
      return code;
  }
}
