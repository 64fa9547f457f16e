import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import { loadConfig, type Config } from '../../config';
import { createLogger, type Logger } from '../../lib/log';
import type { Identity } from '../accounts';
import { adjustLiveGauge } from '../request-log';
import { type Member } from './room-turn';
import { SioRooms } from './sio-rooms';
import { ASSISTANT_NSP, SIO_NAMESPACES } from './sio-events';
import { engineErrorAnswer, ENGINE_ERRORS, type EngineHttpAnswer } from './socket-io/engine-io';
import type { Result } from './socket-io/result';
import {
  SocketIoConnection,
  type ConnectionStep,
  type SocketIoEvent,
  type SocketIoOptions,
} from './socket-io/socket-io-connection';

// One Socket.IO connection (one Engine.IO sid): its state in storage, so the object can be evicted between
// any two events; its WebSocket on the Hibernation API; its long-polling GET held in memory (a request in
// flight keeps the object awake); its heartbeat driven by the object's one alarm. Room logic is SioRooms'.
// Why: docs/design/socket-io.md#wiring

export const SIO_HEADER = 'x-edgeway-sio';

// What the worker tells the object about a request (only the worker can set it: the object has no route).
export const SioRequest = z.discriminatedUnion('route', [
  z.object({
    route: z.literal('handshake'),
    sid: z.string().min(1).max(64),
    transport: z.enum(['polling', 'websocket']),
    member: z.object({ identity: z.custom<Identity | null>(), clientKey: z.string() }),
  }),
  z.object({ route: z.enum(['poll', 'post', 'upgrade']), sid: z.string().min(1).max(64) }),
]);
export type SioRequest = z.infer<typeof SioRequest>;

const CONN_KEY = 'conn';
const MEMBER_KEY = 'member';

export class SocketSession extends DurableObject<Env> {
  // undefined: not read from storage yet (a fresh or woken object); null: no connection here.
  private conn: SocketIoConnection | null | undefined;
  private held: ((answer: Response) => void) | null = null;
  private alarmAt: number | null = null;
  private config: Config | null = null;
  private readonly log: Logger = createLogger({ component: 'socket-session' });
  private rooms: SioRooms | null = null;
  // Events are handled one after another: a CONNECT's credential check or a join's D1 read must not let a
  // later event of the same client overtake it.
  private queue: Promise<void> = Promise.resolve();

  private settings(): Config {
    this.config ??= loadConfig(this.env);
    return this.config;
  }

  private options(): Partial<SocketIoOptions> {
    return { namespaces: SIO_NAMESPACES, invalidPackets: 'report' };
  }

  private room(): SioRooms {
    this.rooms ??= new SioRooms({
      env: this.env,
      config: this.settings(),
      log: this.log,
      storage: this.ctx.storage.kv,
      waitUntil: (p) => this.ctx.waitUntil(p),
      member: () => this.ctx.storage.kv.get<Member>(MEMBER_KEY) ?? null,
      emit: (nsp, name, args) => this.emit((c, now) => c.emit(nsp, name, args, now)),
      ack: (nsp, id, args) => this.emit((c, now) => c.ack(nsp, id, args, now)),
      accept: (nsp) => this.act((c, now) => c.acceptNamespace(nsp, now)),
      refuse: (nsp, message) => this.act((c, now) => c.refuseNamespace(nsp, message, now)),
    });
    return this.rooms;
  }

  private load(): SocketIoConnection | null {
    if (this.conn !== undefined) return this.conn;
    const stored = this.ctx.storage.kv.get(CONN_KEY);
    if (stored === undefined) return (this.conn = null);
    const parsed = SocketIoConnection.fromJSON(stored, this.options());
    if (!parsed.ok) this.log.error('stored Socket.IO state unreadable', { error: parsed.error });
    this.conn = parsed.ok ? parsed.value : null;
    return this.conn;
  }

  override async fetch(request: Request): Promise<Response> {
    const info = SioRequest.safeParse(JSON.parse(request.headers.get(SIO_HEADER) ?? 'null'));
    if (!info.success) return new Response('Bad internal request', { status: 400 });
    const req = info.data;
    const now = Date.now();
    if (req.route === 'handshake') return this.handshake(req, now);
    const conn = this.load();
    if (!conn || conn.sid !== req.sid) return answer(engineErrorAnswer(ENGINE_ERRORS.UNKNOWN_SID));
    this.room().resume();
    if (req.route === 'poll') return this.poll(conn, request, now);
    if (req.route === 'post') return this.post(conn, request, now);
    const upgrade = conn.websocketUpgrade(now);
    if (!upgrade.ok) return answer(upgrade.error);
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    this.save();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  private handshake(req: Extract<SioRequest, { route: 'handshake' }>, now: number): Response {
    const config = this.settings();
    const { connection, openPacket } = SocketIoConnection.create({
      transport: req.transport,
      now,
      sid: req.sid,
      engineOptions: {
        pingInterval: config.SIO_PING_INTERVAL_MS,
        pingTimeout: config.SIO_PING_TIMEOUT_MS,
        maxPayload: config.WS_MAX_FRAME_BYTES,
      },
      options: this.options(),
    });
    this.conn = connection;
    this.ctx.storage.kv.put(MEMBER_KEY, req.member);
    this.ctx.waitUntil(adjustLiveGauge(this.env.DB, this.log, 'connections_socket_io', 1));
    if (req.transport === 'polling') {
      this.save();
      return answer({ status: 200, contentType: 'text/plain; charset=UTF-8', body: openPacket });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].send(openPacket);
    this.save();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  private poll(conn: SocketIoConnection, request: Request, now: number): Response | Promise<Response> {
    const step = conn.pollingGet(now);
    this.perform(step);
    if (step.answer !== 'hold') return answer(step.answer);
    return new Promise<Response>((resolve) => {
      this.held = resolve;
      request.signal.addEventListener('abort', () => {
        if (this.held !== resolve) return;
        this.held = null;
        this.act((c, at) => c.pollingAborted(at));
      });
    });
  }

  private async post(conn: SocketIoConnection, request: Request, now: number): Promise<Response> {
    const refused = conn.beginPollingPost(now);
    if (refused) {
      this.perform(refused);
      return answer(refused.answer === 'hold' ? engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST) : refused.answer);
    }
    let body: string;
    try {
      body = await request.text();
    } catch {
      this.act((c, at) => c.pollingPostAborted(at));
      return answer(engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST));
    }
    const step = conn.pollingPost(body, request.headers.get('content-type'), Date.now());
    this.perform(step);
    return answer(step.answer === 'hold' ? engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST) : step.answer);
  }

  override async webSocketMessage(_ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.load();
    if (!conn) return;
    this.room().resume();
    this.perform(conn.websocketMessage(message, Date.now()));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
    // A probing WebSocket that failed is not the session's end (polling goes on); the state machine knows.
    this.act((c, now) => c.websocketClosed(now));
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1011, 'error');
  }

  // Heartbeat, upgrade and connect timeouts of the one connection this object holds.
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const conn = this.load();
    if (!conn) return;
    this.room().resume();
    this.perform(conn.onTimer(Date.now()));
  }

  // A server-side call on the connection (a decision, an emit), performed at once.
  private act(call: (c: SocketIoConnection, now: number) => ConnectionStep): void {
    const conn = this.load();
    if (!conn) return;
    this.perform(call(conn, Date.now()));
  }

  // An emit or ack; one to a namespace the client has left meanwhile is dropped.
  private emit(call: (c: SocketIoConnection, now: number) => Result<ConnectionStep, unknown>): void {
    const conn = this.load();
    if (!conn) return;
    const step = call(conn, Date.now());
    if (step.ok) this.perform(step.value);
  }

  // A step, in the order the protocol layer asks: frames, the held GET's answer, the close; then its events.
  private perform(step: ConnectionStep): void {
    const ws = this.socket();
    for (const frame of step.wsFrames) ws?.send(frame);
    if (step.pollAnswer !== null && this.held) {
      const resolve = this.held;
      this.held = null;
      resolve(answer({ status: 200, contentType: 'text/plain; charset=UTF-8', body: step.pollAnswer }));
    }
    if (step.wsClose) ws?.close(step.wsClose.code, step.wsClose.reason);
    this.save();
    for (const event of step.events) this.enqueue(event);
  }

  private enqueue(event: SocketIoEvent): void {
    const handled = (this.queue = this.queue
      .then(() => this.room().handle(event))
      .catch((err: unknown) => this.log.error('Socket.IO event failed', { kind: event.kind, error: String(err) })));
    this.ctx.waitUntil(handled);
  }

  // The connection's WebSocket: the only one this object accepts at a time (the upgrade's, or the
  // websocket-only handshake's).
  private socket(): WebSocket | null {
    const sockets = this.ctx.getWebSockets();
    return sockets[sockets.length - 1] ?? null;
  }

  // State after every call; a finished connection is forgotten, with its rooms, and its alarm cleared.
  private save(): void {
    const conn = this.conn;
    if (!conn) return;
    if (conn.finished) {
      this.conn = null;
      this.room().leaveAll();
      this.ctx.storage.kv.delete(CONN_KEY);
      this.ctx.storage.kv.delete(MEMBER_KEY);
      this.ctx.waitUntil(this.ctx.storage.deleteAlarm());
      this.ctx.waitUntil(adjustLiveGauge(this.env.DB, this.log, 'connections_socket_io', -1));
      this.alarmAt = null;
      return;
    }
    this.ctx.storage.kv.put(CONN_KEY, conn.toJSON());
    const due = conn.nextDeadline();
    if (due !== null && due !== this.alarmAt) {
      this.alarmAt = due;
      this.ctx.waitUntil(this.ctx.storage.setAlarm(due));
    }
  }
}

function answer(a: EngineHttpAnswer): Response {
  return new Response(a.body, {
    status: a.status,
    headers: { 'content-type': a.contentType, 'cache-control': 'no-store' },
  });
}

export { ASSISTANT_NSP };
