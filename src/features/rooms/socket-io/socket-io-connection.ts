// One Socket.IO connection (an Engine.IO session and its namespace sockets) as plain JSON state, for a
// hibernating Durable Object. Pure: every call returns what to send and what happened. Behaviour from
// socketio/socket.io packages/socket.io/lib/client.ts (connect(), ondecoded(), onerror(), connectTimeout),
// socket.ts (_onconnect's `{sid}`, onevent, onack, ack, disconnect) and namespace.ts (CONNECT_ERROR
// `{message, data}`); wire format in socket-io.ts, sessions in engine-session.ts. Design: docs/design/socket-io.md
import { z } from 'zod';
import { createSessionId, type EngineHttpAnswer, type EngineOptions, type EngineTransport } from './engine-io';
import {
  EngineSession,
  emptyStep,
  engineSessionStateSchema,
  type EngineCloseReason,
  type EngineHttpStep,
  type EngineStep,
} from './engine-session';
import { err, ok, type JsonObject, type JsonValue, type Result } from './result';
import {
  MAX_ATTACHMENTS,
  RESERVED_EVENTS,
  decodeSocketPacket,
  encodeSocketPacket,
  isNamespaceValid,
  type SocketDecodeErrorCode,
  type SocketPacket,
} from './socket-io';

export interface SocketIoOptions {
  /** Namespaces a client may connect to; a CONNECT to any other is answered `44<nsp>,{"message":"Invalid namespace"}`. */
  namespaces: readonly string[];
  /** ms a connection may stay without any namespace before it is closed (socket.io connectTimeout). */
  connectTimeout: number;
  /**
   * A malformed or out-of-state packet: 'close' closes the connection as socket.io does (its v5 test suite checks
   * it); 'report' only reports it as an `invalid` event and keeps the connection, for a caller that prefers to
   * answer with an application `error` event. Unsupported binary packets are always only reported.
   */
  invalidPackets: 'close' | 'report';
  /** Server emits awaiting an ack, per namespace; beyond this the oldest is forgotten (its ack is then ignored). */
  maxPendingAcks: number;
  /** Socket ids (one per namespace connection, distinct from the engine sid); random by default. */
  generateId: () => string;
}

export const DEFAULT_SOCKET_IO_OPTIONS: Readonly<SocketIoOptions> = {
  namespaces: ['/'],
  connectTimeout: 45_000,
  invalidPackets: 'close',
  maxPendingAcks: 32,
  generateId: createSessionId,
};

// socket.io's disconnect reasons as the server socket sees them.
export type SocketDisconnectReason = EngineCloseReason | 'client namespace disconnect' | 'server namespace disconnect';

export interface SocketIoProtocolError {
  code: SocketDecodeErrorCode | 'unexpected-binary' | 'missing-attachments' | 'invalid-state';
  message: string;
}

/** What the client did, for the room logic. */
export type SocketIoEvent =
  /** Decide with acceptNamespace or refuseNamespace (auth is the CONNECT payload, `{}` when absent). */
  | { kind: 'connect-request'; nsp: string; auth: JsonObject }
  | { kind: 'event'; nsp: string; socketId: string; name: string; args: JsonValue[]; ackId: number | null }
  | { kind: 'ack'; nsp: string; socketId: string; id: number; args: JsonValue[] }
  | { kind: 'disconnect'; nsp: string; socketId: string; reason: SocketDisconnectReason }
  | { kind: 'invalid'; nsp: string | null; error: SocketIoProtocolError }
  /** The whole connection ended (after the disconnect events of its namespaces). */
  | { kind: 'closed'; reason: EngineCloseReason };

/** EngineStep's delivery fields (wsFrames, then pollAnswer, then wsClose) plus what happened. */
export type ConnectionStep = Omit<EngineStep, 'messages'> & { events: SocketIoEvent[] };
export type ConnectionHttpStep = ConnectionStep & { answer: EngineHttpStep['answer'] };

export interface SocketIoEmitError {
  code: 'not-connected' | 'reserved-event' | 'invalid-packet';
  message: string;
}

const nonNegativeInt = z.number().int().nonnegative();

const connectionStateSchema = z.object({
  v: z.literal(1),
  engine: engineSessionStateSchema,
  /** Connected namespaces: their socket id, the next ack id of a server emit, and the acks still awaited. */
  sockets: z.record(
    z.string().refine(isNamespaceValid, 'not a namespace'),
    z.object({ id: z.string().min(1).max(64), nextAckId: nonNegativeInt, acks: z.array(nonNegativeInt) }),
  ),
  /** Namespaces whose CONNECT waits for the caller's decision. */
  pending: z.array(z.string().refine(isNamespaceValid, 'not a namespace')),
  /** Close unless a namespace is joined by then (socket.io connectTimeout); null once one is. */
  connectBy: z.number().finite().nullable(),
  /** Binary frames still to swallow after a refused binary packet announced them. */
  skipBinary: z.number().int().min(0).max(MAX_ATTACHMENTS),
});

export type SocketIoConnectionState = z.infer<typeof connectionStateSchema>;

export interface CreateSocketIoConnection {
  transport: EngineTransport;
  now: number;
  engineOptions?: Partial<EngineOptions>;
  options?: Partial<SocketIoOptions>;
  sid?: string;
}

export class SocketIoConnection {
  private readonly engine: EngineSession;
  private readonly s: Omit<SocketIoConnectionState, 'engine'>;
  private readonly o: SocketIoOptions;

  private constructor(engine: EngineSession, state: Omit<SocketIoConnectionState, 'engine'>, options: SocketIoOptions) {
    this.engine = engine;
    this.s = state;
    this.o = options;
  }

  /** A new connection and its Engine.IO open packet (handshake GET body, or first WebSocket frame). */
  static create(init: CreateSocketIoConnection): { connection: SocketIoConnection; openPacket: string } {
    const options = { ...DEFAULT_SOCKET_IO_OPTIONS, ...init.options };
    const { session, openPacket } = EngineSession.create({
      transport: init.transport,
      now: init.now,
      ...(init.engineOptions ? { options: init.engineOptions } : {}),
      ...(init.sid !== undefined ? { sid: init.sid } : {}),
    });
    const state = {
      v: 1 as const,
      sockets: {},
      pending: [],
      connectBy: init.now + options.connectTimeout,
      skipBinary: 0,
    };
    return { connection: new SocketIoConnection(session, state, options), openPacket };
  }

  /** A connection stored earlier (options are configuration, not state: pass the same ones). */
  static fromJSON(value: unknown, options: Partial<SocketIoOptions> = {}): Result<SocketIoConnection, string> {
    const parsed = connectionStateSchema.safeParse(value);
    if (!parsed.success) return err(`not a Socket.IO connection: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const engine = EngineSession.fromJSON(parsed.data.engine);
    if (!engine.ok) return err(engine.error);
    const { engine: _engine, ...rest } = structuredClone(parsed.data);
    return ok(new SocketIoConnection(engine.value, rest, { ...DEFAULT_SOCKET_IO_OPTIONS, ...options }));
  }

  toJSON(): SocketIoConnectionState {
    return { ...structuredClone(this.s), engine: this.engine.toJSON() };
  }

  get sid(): string {
    return this.engine.sid;
  }
  get transport(): EngineTransport {
    return this.engine.transport;
  }
  /** The object may forget the connection: later requests with its sid get "Session ID unknown". */
  get finished(): boolean {
    return this.engine.finished;
  }
  get open(): boolean {
    return this.engine.status === 'open';
  }
  /** The socket id of a connected namespace, else null. */
  socketId(nsp: string): string | null {
    return this.s.sockets[nsp]?.id ?? null;
  }
  namespaces(): string[] {
    return Object.keys(this.s.sockets);
  }

  nextDeadline(): number | null {
    const engine = this.engine.nextDeadline();
    if (engine === null) return null;
    return this.s.connectBy === null ? engine : Math.min(engine, this.s.connectBy);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Transport input (see EngineSession for each rule)

  pollingGet(now: number): ConnectionHttpStep {
    return this.runHttp(this.engine.pollingGet(now), now);
  }
  beginPollingPost(now: number): ConnectionHttpStep | null {
    const step = this.engine.beginPollingPost(now);
    return step ? this.runHttp(step, now) : null;
  }
  pollingPost(body: string, contentType: string | null, now: number): ConnectionHttpStep {
    return this.runHttp(this.engine.pollingPost(body, contentType, now), now);
  }
  pollingAborted(now: number): ConnectionStep {
    return this.run(this.engine.pollingAborted(now), now);
  }
  pollingPostAborted(now: number): ConnectionStep {
    return this.run(this.engine.pollingPostAborted(now), now);
  }
  websocketUpgrade(now: number): Result<null, EngineHttpAnswer> {
    return this.engine.websocketUpgrade(now);
  }
  websocketMessage(frame: string | ArrayBuffer, now: number): ConnectionStep {
    return this.run(this.engine.websocketMessage(frame, now), now);
  }
  websocketClosed(now: number): ConnectionStep {
    return this.run(this.engine.websocketClosed(now), now);
  }

  /** Heartbeat, upgrade and connect timeouts; call at (or after) nextDeadline(). */
  onTimer(now: number): ConnectionStep {
    const out = this.run(this.engine.onTimer(now), now);
    if (this.s.connectBy !== null && this.s.connectBy <= now && this.engine.status === 'open') {
      this.s.connectBy = null;
      // Client's connectTimeout: no namespace joined in time, close the client.
      if (Object.keys(this.s.sockets).length === 0) this.collect(out, this.engine.close(now));
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Server decisions and output

  /** Accepts a pending CONNECT: `40<nsp>,{"sid":"<socket id>"}`. socketId is null if nothing was pending. */
  acceptNamespace(nsp: string, now: number): ConnectionStep & { socketId: string | null } {
    if (!this.takePending(nsp)) return { ...this.idle(), socketId: null };
    const id = this.o.generateId();
    this.s.sockets[nsp] = { id, nextAckId: 0, acks: [] };
    this.s.connectBy = null;
    return { ...this.sendPacket({ type: 'CONNECT', nsp, data: { sid: id } }, now), socketId: id };
  }

  /** Refuses a pending CONNECT: `44<nsp>,{"message":"..."}` (plus `data` when given, as socket.io middleware errors). */
  refuseNamespace(nsp: string, message: string, now: number, data?: JsonValue): ConnectionStep {
    if (!this.takePending(nsp)) return this.idle();
    return this.sendPacket(
      { type: 'CONNECT_ERROR', nsp, data: data === undefined ? { message } : { message, data } },
      now,
    );
  }

  /** Emits an event to a connected namespace; with `ack`, the ack id the client's ACK will carry. */
  emit(
    nsp: string,
    name: string,
    args: readonly JsonValue[],
    now: number,
    opts: { ack?: boolean } = {},
  ): Result<ConnectionStep & { ackId: number | null }, SocketIoEmitError> {
    const socket = this.s.sockets[nsp];
    if (!socket || !this.open) return err({ code: 'not-connected', message: `not connected to ${nsp}` });
    // socket.io's emit throws for these; a client's parser would refuse the packet and drop the connection.
    if (RESERVED_EVENTS.includes(name))
      return err({ code: 'reserved-event', message: `"${name}" is a reserved event name` });
    const id = opts.ack ? socket.nextAckId : undefined;
    const encoded = encodeSocketPacket({
      type: 'EVENT',
      nsp,
      data: [name, ...args],
      ...(id !== undefined ? { id } : {}),
    });
    if (!encoded.ok) return err({ code: 'invalid-packet', message: encoded.error.message });
    if (id !== undefined) {
      socket.nextAckId = id + 1;
      socket.acks.push(id);
      if (socket.acks.length > this.o.maxPendingAcks) socket.acks.splice(0, socket.acks.length - this.o.maxPendingAcks);
    }
    return ok({ ...this.run(this.engine.send([encoded.value], now), now), ackId: id ?? null });
  }

  /** Answers a client's event that carried an ack id: `3<nsp>,<id>[...args]`. */
  ack(nsp: string, id: number, args: readonly JsonValue[], now: number): Result<ConnectionStep, SocketIoEmitError> {
    if (!this.s.sockets[nsp] || !this.open) return err({ code: 'not-connected', message: `not connected to ${nsp}` });
    const encoded = encodeSocketPacket({ type: 'ACK', nsp, id, data: [...args] });
    if (!encoded.ok) return err({ code: 'invalid-packet', message: encoded.error.message });
    return ok(this.run(this.engine.send([encoded.value], now), now));
  }

  /** Socket.IO packets encoded once elsewhere (socket-io.ts encodeEvent), e.g. one broadcast to a whole room. */
  sendEncoded(packets: readonly string[], now: number): ConnectionStep {
    return this.run(this.engine.send(packets, now), now);
  }

  /** The server leaves a namespace: `1<nsp>,` (`41` on the wire); the connection stays. */
  disconnectNamespace(nsp: string, now: number): ConnectionStep {
    const socket = this.s.sockets[nsp];
    if (!socket || !this.open) return this.idle();
    const out = this.sendPacket({ type: 'DISCONNECT', nsp }, now);
    this.removeSocket(nsp);
    out.events.push({ kind: 'disconnect', nsp, socketId: socket.id, reason: 'server namespace disconnect' });
    return out;
  }

  /** The server ends the connection: a DISCONNECT per namespace (socket.disconnect(true)), then the session closes. */
  close(now: number): ConnectionStep {
    const out = this.idle();
    if (!this.open) return out;
    for (const nsp of Object.keys(this.s.sockets)) this.merge(out, this.disconnectNamespace(nsp, now));
    this.collect(out, this.engine.close(now));
    return out;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals

  private idle(): ConnectionStep {
    const { messages: _messages, ...rest } = emptyStep();
    return { ...rest, events: [] };
  }

  private removeSocket(nsp: string): void {
    this.s.sockets = Object.fromEntries(Object.entries(this.s.sockets).filter(([name]) => name !== nsp));
  }

  private takePending(nsp: string): boolean {
    const i = this.s.pending.indexOf(nsp);
    if (i === -1) return false;
    this.s.pending.splice(i, 1);
    return this.open;
  }

  private sendPacket(packet: SocketPacket, now: number): ConnectionStep {
    const encoded = encodeSocketPacket(packet);
    // Our own packets are built valid; a namespace from a decoded CONNECT already passed isNamespaceValid.
    if (!encoded.ok) return this.idle();
    return this.run(this.engine.send([encoded.value], now), now);
  }

  private runHttp(step: EngineHttpStep, now: number): ConnectionHttpStep {
    return { ...this.run(step, now), answer: step.answer };
  }

  // Delivery fields of an engine step into `out`, then the client's messages, in order.
  private run(step: EngineStep, now: number): ConnectionStep {
    const out = this.idle();
    this.collect(out, step);
    for (const message of step.messages) {
      if (!this.open) break;
      this.onMessage(message, now, out);
    }
    return out;
  }

  private collect(out: ConnectionStep, step: EngineStep): void {
    out.wsFrames.push(...step.wsFrames);
    if (step.pollAnswer !== null) {
      // A held GET is answered once per call; should two answers meet, one payload carries both.
      out.pollAnswer = out.pollAnswer === null ? step.pollAnswer : `${out.pollAnswer}\x1e${step.pollAnswer}`;
    }
    out.wsClose ??= step.wsClose;
    if (step.closed !== null && out.closed === null) {
      out.closed = step.closed;
      for (const [nsp, socket] of Object.entries(this.s.sockets)) {
        out.events.push({ kind: 'disconnect', nsp, socketId: socket.id, reason: step.closed });
      }
      this.s.sockets = {};
      this.s.pending = [];
      this.s.connectBy = null;
      this.s.skipBinary = 0;
      out.events.push({ kind: 'closed', reason: step.closed });
    }
  }

  private merge(out: ConnectionStep, step: ConnectionStep): void {
    this.collect(out, { ...step, messages: [], closed: null });
    if (step.closed !== null) out.closed ??= step.closed;
    out.events.push(...step.events);
  }

  // socket.io Client.ondata/ondecoded and Socket._onpacket for one Engine.IO message.
  private onMessage(message: string | ArrayBuffer, now: number, out: ConnectionStep): void {
    if (message instanceof ArrayBuffer) {
      if (this.s.skipBinary > 0) {
        this.s.skipBinary--;
        return;
      }
      // Decoder.add: "got binary data when not reconstructing a packet".
      return this.invalid(out, now, null, {
        code: 'unexpected-binary',
        message: 'binary data without a binary packet',
      });
    }
    if (this.s.skipBinary > 0) {
      // Decoder.add: "got plaintext data when reconstructing a packet".
      this.s.skipBinary = 0;
      return this.invalid(out, now, null, {
        code: 'missing-attachments',
        message: 'text data while attachments were due',
      });
    }
    const decoded = decodeSocketPacket(message);
    if (!decoded.ok) {
      const { code, message: text, nsp } = decoded.error;
      if (code === 'binary-unsupported') {
        // Refused without closing: the announced attachments are swallowed as they arrive.
        this.s.skipBinary = decoded.error.attachments ?? 0;
        out.events.push({ kind: 'invalid', nsp: nsp ?? null, error: { code, message: text } });
        return;
      }
      return this.invalid(out, now, nsp ?? null, { code, message: text });
    }
    const packet = decoded.value;
    const socket = this.s.sockets[packet.nsp];
    if (packet.type === 'CONNECT') {
      if (socket) return this.invalid(out, now, packet.nsp, invalidState(`already connected to ${packet.nsp}`));
      // A repeated CONNECT while the first waits for its answer: that answer will serve both.
      if (this.s.pending.includes(packet.nsp)) return;
      if (!this.o.namespaces.includes(packet.nsp)) {
        // Client.connect() for a namespace that does not exist.
        this.merge(
          out,
          this.sendPacket({ type: 'CONNECT_ERROR', nsp: packet.nsp, data: { message: 'Invalid namespace' } }, now),
        );
        return;
      }
      this.s.pending.push(packet.nsp);
      out.events.push({ kind: 'connect-request', nsp: packet.nsp, auth: packet.data ?? {} });
      return;
    }
    if (!socket || packet.type === 'CONNECT_ERROR') {
      // Client.ondecoded: "invalid state" — a packet for a namespace this client has not joined.
      return this.invalid(out, now, packet.nsp, invalidState(`not connected to ${packet.nsp}`));
    }
    switch (packet.type) {
      case 'EVENT': {
        const [first, ...args] = packet.data;
        // The parser accepts a number as the event name; an EventEmitter keys it as its string.
        out.events.push({
          kind: 'event',
          nsp: packet.nsp,
          socketId: socket.id,
          name: String(first),
          args,
          ackId: packet.id ?? null,
        });
        return;
      }
      case 'ACK': {
        // Socket.onack: an ack nobody waits for is ignored.
        const i = packet.id === undefined ? -1 : socket.acks.indexOf(packet.id);
        if (i === -1 || packet.id === undefined) return;
        socket.acks.splice(i, 1);
        out.events.push({ kind: 'ack', nsp: packet.nsp, socketId: socket.id, id: packet.id, args: packet.data });
        return;
      }
      case 'DISCONNECT':
        this.removeSocket(packet.nsp);
        out.events.push({
          kind: 'disconnect',
          nsp: packet.nsp,
          socketId: socket.id,
          reason: 'client namespace disconnect',
        });
        return;
    }
  }

  private invalid(out: ConnectionStep, now: number, nsp: string | null, error: SocketIoProtocolError): void {
    out.events.push({ kind: 'invalid', nsp, error });
    // Client.onerror / close(): the connection is closed.
    if (this.o.invalidPackets === 'close') this.collect(out, this.engine.close(now));
  }
}

function invalidState(message: string): SocketIoProtocolError {
  return { code: 'invalid-state', message };
}
