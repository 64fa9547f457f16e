// One Engine.IO session as a state machine over plain JSON, so a hibernating Durable Object can store it between
// events (WebSocket attachment or storage) and drive every session's heartbeat from one alarm. Pure: the object
// does the I/O the returned step asks for. Rules: docs/engine.io-protocol/v4-current.md and the v4 test suite of
// socketio/socket.io; behaviours copied from packages/engine.io/lib/socket.ts (heartbeat, _maybeUpgrade, onClose),
// transports/polling.ts (one GET / one POST at a time, noop and close answers). Design: docs/design/socket-io.md
import { z } from 'zod';
import {
  DEFAULT_ENGINE_OPTIONS,
  ENGINE_ERRORS,
  createSessionId,
  decodePayload,
  decodeWsFrame,
  encodeOpenPacket,
  encodePayloadPacket,
  encodeWsFrame,
  engineErrorAnswer,
  handshakeData,
  isSessionIdShape,
  payloadPacketToWsFrame,
  payloadTooLargeAnswer,
  textAnswer,
  RECORD_SEPARATOR,
  type EngineHttpAnswer,
  type EngineOptions,
  type EnginePacket,
  type EngineTransport,
} from './engine-io';
import { err, ok, type Result } from './result';

// engine.io's close reasons (socket.ts onClose), plus 'forced close' for a close the server asked for.
export type EngineCloseReason = 'transport close' | 'transport error' | 'parse error' | 'ping timeout' | 'forced close';

// WebSocket close codes we send: 1000 normal, 1002 protocol error, 1009 message too big (as the `ws` server).
export interface WsCloseRequest {
  code: 1000 | 1002 | 1009;
  reason: string;
}

/**
 * What the Durable Object must do after a call, in this order: send `wsFrames` on the session's WebSocket
 * (the probing one during an upgrade), answer the GET it holds with `pollAnswer` (200, text/plain), then close
 * the session's WebSocket with `wsClose`. `messages` are the message packets the client sent, in order, for
 * the upper layer; `closed` is set on the call that ended the session (once).
 */
export interface EngineStep {
  wsFrames: (string | ArrayBuffer)[];
  pollAnswer: string | null;
  wsClose: WsCloseRequest | null;
  messages: (string | ArrayBuffer)[];
  closed: EngineCloseReason | null;
}

/** A step that also answers the HTTP request it came from; 'hold' keeps a GET open until a later pollAnswer. */
export interface EngineHttpStep extends EngineStep {
  answer: EngineHttpAnswer | 'hold';
}

export function emptyStep(): EngineStep {
  return { wsFrames: [], pollAnswer: null, wsClose: null, messages: [], closed: null };
}

/** Concatenates two steps of the same call (the second happened after the first). */
export function mergeSteps<T extends EngineStep>(a: T, b: EngineStep): T {
  return {
    ...a,
    wsFrames: [...a.wsFrames, ...b.wsFrames],
    // A held GET is answered at most once per call (answering releases it); joining keeps both if ever not.
    pollAnswer:
      a.pollAnswer === null
        ? b.pollAnswer
        : b.pollAnswer === null
          ? a.pollAnswer
          : a.pollAnswer + RECORD_SEPARATOR + b.pollAnswer,
    wsClose: a.wsClose ?? b.wsClose,
    messages: [...a.messages, ...b.messages],
    closed: a.closed ?? b.closed,
  };
}

const optionsSchema = z.object({
  pingInterval: z.number().int().positive(),
  pingTimeout: z.number().int().positive(),
  maxPayload: z.number().int().positive(),
  upgradeTimeout: z.number().int().positive(),
  closeTimeout: z.number().int().positive(),
  maxBufferedChars: z.number().int().positive(),
});

const deadline = z.number().finite().nullable();

export const engineSessionStateSchema = z.object({
  v: z.literal(1),
  sid: z.string().refine(isSessionIdShape, 'not a session id'),
  /** The transport packets go over: 'websocket' once upgraded or for a WebSocket-only session. */
  transport: z.enum(['polling', 'websocket']),
  /** 'closing': a polling session closed by the server waits for the GET that carries its `1` packet. */
  status: z.enum(['open', 'closing', 'closed']),
  /** A polling session's WebSocket upgrade in progress: 'open' before the `2probe`, 'probed' after. */
  upgrade: z.enum(['open', 'probed']).nullable(),
  /** A long-polling GET is being held (answered by a later pollAnswer). */
  pollHeld: z.boolean(),
  /** A long-polling POST is being read (beginPollingPost … pollingPost). */
  postActive: z.boolean(),
  /** Packets waiting for the next GET, in payload encoding (binary as `b` + base64), so the state stays JSON. */
  outbox: z.array(z.string()),
  /** When the next ping is due; null while a ping waits for its pong. */
  nextPingAt: deadline,
  /** When the session dies if no pong arrives; null when no ping is outstanding. */
  pongBy: deadline,
  upgradeBy: deadline,
  closeBy: deadline,
  options: optionsSchema,
});

export type EngineSessionState = z.infer<typeof engineSessionStateSchema>;

export interface CreateEngineSession {
  transport: EngineTransport;
  now: number;
  options?: Partial<EngineOptions>;
  /** Defaults to a random URL-safe id; tests pass a fixed one. */
  sid?: string;
}

export class EngineSession {
  private constructor(private s: EngineSessionState) {}

  /** A new session and its open packet (`0{...}`): the handshake GET's body, or the WebSocket's first frame. */
  static create(init: CreateEngineSession): { session: EngineSession; openPacket: string } {
    const options: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, ...init.options };
    const sid = init.sid ?? createSessionId();
    const session = new EngineSession({
      v: 1,
      sid,
      transport: init.transport,
      status: 'open',
      upgrade: null,
      pollHeld: false,
      postActive: false,
      outbox: [],
      // engine.io schedulePing(): the first ping one interval after the handshake.
      nextPingAt: init.now + options.pingInterval,
      pongBy: null,
      upgradeBy: null,
      closeBy: null,
      options,
    });
    return { session, openPacket: encodeOpenPacket(handshakeData(sid, init.transport, options)) };
  }

  /** A session stored earlier; anything that is not a session state is refused, never trusted. */
  static fromJSON(value: unknown): Result<EngineSession, string> {
    const parsed = engineSessionStateSchema.safeParse(value);
    if (!parsed.success) return err(`not an engine session: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return ok(new EngineSession(structuredClone(parsed.data)));
  }

  toJSON(): EngineSessionState {
    return structuredClone(this.s);
  }

  get sid(): string {
    return this.s.sid;
  }
  get transport(): EngineTransport {
    return this.s.transport;
  }
  get status(): EngineSessionState['status'] {
    return this.s.status;
  }
  get options(): Readonly<EngineOptions> {
    return this.s.options;
  }
  /** The object may forget the session (and answer later requests with "Session ID unknown"). */
  get finished(): boolean {
    return this.s.status === 'closed';
  }
  get pollHeld(): boolean {
    return this.s.pollHeld;
  }

  /** The earliest time onTimer has work to do; null when none (closed). Absolute, in the caller's clock. */
  nextDeadline(): number | null {
    if (this.s.status === 'closed') return null;
    const times = [this.s.nextPingAt, this.s.pongBy, this.s.upgradeBy, this.s.closeBy].filter(
      (t): t is number => t !== null,
    );
    return times.length ? Math.min(...times) : null;
  }

  // -------------------------------------------------------------------------------------------------------------
  // HTTP long-polling

  /** A long-polling GET: queued packets at once as one payload, else hold the request. */
  pollingGet(now: number): EngineHttpStep {
    const closed = this.refuseClosed();
    if (closed) return closed;
    // After the upgrade (or on a WebSocket session) polling is refused: engine.io verify() TRANSPORT_MISMATCH.
    if (this.s.transport !== 'polling') return { ...emptyStep(), answer: engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST) };
    if (this.s.pollHeld) {
      // Polling.onPollRequest "overlap from client": the session dies; the held GET gets the close packet.
      const step = this.shutdown('transport error', now);
      return { ...step, answer: engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST) };
    }
    if (this.s.outbox.length > 0) {
      const body = this.s.outbox.join(RECORD_SEPARATOR);
      this.s.outbox = [];
      // A server-closed session sent its `1` with this payload: it is over.
      if (this.s.status === 'closing') this.finish();
      return { ...emptyStep(), answer: textAnswer(body) };
    }
    if (this.s.upgrade === 'probed') {
      // _maybeUpgrade's check(): during an upgrade a poll is ended with a noop so the client can switch.
      return { ...emptyStep(), answer: textAnswer('6') };
    }
    this.s.pollHeld = true;
    return { ...emptyStep(), answer: 'hold' };
  }

  /** The held GET's client went away before it was answered: engine.io closes the session. */
  pollingAborted(now: number): EngineStep {
    if (!this.s.pollHeld || this.s.status === 'closed') return emptyStep();
    this.s.pollHeld = false;
    return this.shutdown('transport error', now);
  }

  /**
   * Marks a POST whose body is being read, so that a second concurrent POST is refused (spec: at most one active
   * POST, else 400 and the session closes). Null when the POST may proceed; then call pollingPost or
   * pollingPostAborted. Optional: pollingPost alone works for a body read at once.
   */
  beginPollingPost(now: number): EngineHttpStep | null {
    const closed = this.refuseClosed();
    if (closed) return closed;
    if (this.s.transport !== 'polling') return { ...emptyStep(), answer: engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST) };
    if (this.s.postActive) {
      const step = this.shutdown('transport error', now);
      return { ...step, answer: engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST) };
    }
    this.s.postActive = true;
    return null;
  }

  /** The POST's body could not be read to its end (client gone): engine.io closes the session. */
  pollingPostAborted(now: number): EngineStep {
    if (this.s.status === 'closed') return emptyStep();
    this.s.postActive = false;
    return this.shutdown('transport error', now);
  }

  /**
   * A long-polling POST: a payload of packets. Answers `ok`, with the client's messages in `messages`; 413 for a
   * body over maxPayload (the session stays, as engine.io); 400 and a closed session for a binary content type
   * (protocol 4 sends text only) or a payload that does not decode.
   */
  pollingPost(body: string, contentType: string | null, now: number): EngineHttpStep {
    this.s.postActive = false;
    const closed = this.refuseClosed();
    if (closed) return closed;
    if (this.s.transport !== 'polling') return { ...emptyStep(), answer: engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST) };
    if (contentType?.split(';')[0]?.trim().toLowerCase() === 'application/octet-stream') {
      // Polling.onDataRequest: "invalid content" for protocol 4.
      return { ...this.shutdown('transport error', now), answer: engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST) };
    }
    const decoded = decodePayload(body, this.s.options.maxPayload);
    if (!decoded.ok) {
      if (decoded.error.code === 'too-large') return { ...emptyStep(), answer: payloadTooLargeAnswer() };
      return {
        ...this.shutdown('parse error', now),
        answer: engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST, decoded.error.message),
      };
    }
    let step = emptyStep();
    for (const packet of decoded.value) {
      if (this.s.status !== 'open') break; // engine.io: "packet received with closed socket"
      if (packet.type === 'close') {
        // Polling.onData: a close packet ends the transport; the held GET is released with a noop.
        if (this.s.pollHeld) {
          this.s.pollHeld = false;
          step = mergeSteps(step, { ...emptyStep(), pollAnswer: '6' });
        }
        step = mergeSteps(step, this.shutdown('transport close', now));
        break;
      }
      step = mergeSteps(step, this.onPacket(packet, now));
    }
    return { ...step, answer: textAnswer('ok') };
  }

  // -------------------------------------------------------------------------------------------------------------
  // WebSocket

  /**
   * A WebSocket request carrying this sid: the start of an upgrade from polling. Refused (the object answers the
   * request with the error and does not accept the socket) when the session is not an open polling session, or
   * is already upgrading: one WebSocket per session (spec "WebSocket"; engine.io onWebSocket()).
   */
  websocketUpgrade(now: number): Result<null, EngineHttpAnswer> {
    if (this.s.status === 'closed') return err(engineErrorAnswer(ENGINE_ERRORS.UNKNOWN_SID));
    if (this.s.status !== 'open' || this.s.transport !== 'polling' || this.s.upgrade !== null) {
      return err(engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST));
    }
    this.s.upgrade = 'open';
    this.s.upgradeBy = now + this.s.options.upgradeTimeout;
    return ok(null);
  }

  /** A frame from the session's WebSocket (the WebSocket-only one, the upgraded one, or the probing one). */
  websocketMessage(frame: string | ArrayBuffer, now: number): EngineStep {
    if (this.s.status === 'closed') return emptyStep();
    if (this.s.transport === 'polling') {
      if (this.s.upgrade === null) return emptyStep(); // no WebSocket belongs to this session
      return this.onProbeFrame(frame);
    }
    const decoded = decodeWsFrame(frame, this.s.options.maxPayload);
    if (!decoded.ok) {
      if (decoded.error.code === 'too-large') return this.shutdown('transport error', now, 1009);
      return this.shutdown('parse error', now, 1002);
    }
    if (this.s.status !== 'open') return emptyStep();
    // Over WebSocket engine.io ignores `1`, but the v4 test suite expects the session closed ("forcefully closes").
    if (decoded.value.type === 'close') return this.shutdown('transport close', now);
    return this.onPacket(decoded.value, now);
  }

  /** The session's WebSocket closed (by the client or the network). */
  websocketClosed(now: number): EngineStep {
    if (this.s.status === 'closed') return emptyStep();
    if (this.s.transport === 'polling') {
      // A probing WebSocket went away: the upgrade is off, polling goes on (engine.io onTransportClose).
      this.s.upgrade = null;
      this.s.upgradeBy = null;
      return emptyStep();
    }
    const step = this.shutdown('transport close', now);
    return { ...step, wsClose: null }; // already closed
  }

  // -------------------------------------------------------------------------------------------------------------
  // Server side

  /** Message packets to the client: WebSocket frames, or queued for (or answering) the long-polling GET. */
  send(messages: readonly (string | ArrayBuffer)[], now: number): EngineStep {
    if (this.s.status !== 'open' || messages.length === 0) return emptyStep();
    return this.sendPackets(
      messages.map((data) => ({ type: 'message', data })),
      now,
    );
  }

  /** The server ends the session (engine.io socket.close()). */
  close(now: number, reason: EngineCloseReason = 'forced close'): EngineStep {
    if (this.s.status !== 'open') return emptyStep();
    return this.shutdown(reason, now);
  }

  /** Heartbeat and timeouts: call at (or after) nextDeadline(); does whatever is due. */
  onTimer(now: number): EngineStep {
    if (this.s.status === 'closed') return emptyStep();
    if (this.s.status === 'closing') {
      if (this.s.closeBy !== null && this.s.closeBy <= now) this.finish();
      return emptyStep();
    }
    let step = emptyStep();
    if (this.s.upgradeBy !== null && this.s.upgradeBy <= now) {
      // _maybeUpgrade's upgradeTimeoutTimer: the probing WebSocket is closed, polling goes on.
      this.s.upgrade = null;
      this.s.upgradeBy = null;
      step = mergeSteps(step, { ...emptyStep(), wsClose: { code: 1000, reason: 'upgrade timeout' } });
    }
    if (this.s.pongBy !== null && this.s.pongBy <= now) {
      return mergeSteps(step, this.shutdown('ping timeout', now));
    }
    if (this.s.nextPingAt !== null && this.s.nextPingAt <= now) {
      // schedulePing(): send a ping, expect a pong within pingTimeout; no further ping until it comes.
      this.s.nextPingAt = null;
      this.s.pongBy = now + this.s.options.pingTimeout;
      step = mergeSteps(step, this.sendPackets([{ type: 'ping' }], now));
    }
    return step;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals

  private refuseClosed(): EngineHttpStep | null {
    if (this.s.status === 'closed') return { ...emptyStep(), answer: engineErrorAnswer(ENGINE_ERRORS.UNKNOWN_SID) };
    return null;
  }

  // engine.io Socket.onPacket for a packet of the current transport.
  private onPacket(packet: EnginePacket, now: number): EngineStep {
    switch (packet.type) {
      case 'pong':
        // clearTimeout(pingTimeoutTimer); pingIntervalTimer.refresh(): the next ping one interval from now.
        this.s.pongBy = null;
        this.s.nextPingAt = now + this.s.options.pingInterval;
        return emptyStep();
      case 'ping':
        // Protocol 4 pings go from server to client only: "invalid heartbeat direction".
        return this.shutdown('transport error', now, 1002);
      case 'message':
        return { ...emptyStep(), messages: [packet.data] };
      default:
        // open, upgrade, noop (and close, handled by the callers) carry nothing for the session.
        return emptyStep();
    }
  }

  // _maybeUpgrade's onPacket: only `2probe` and `5` are expected on the probing WebSocket.
  private onProbeFrame(frame: string | ArrayBuffer): EngineStep {
    const decoded = decodeWsFrame(frame, this.s.options.maxPayload);
    const packet = decoded.ok ? decoded.value : null;
    if (packet?.type === 'ping' && packet.data === 'probe') {
      this.s.upgrade = 'probed';
      let step: EngineStep = { ...emptyStep(), wsFrames: ['3probe'] };
      if (this.s.pollHeld) {
        // Release the held GET with a noop so the client's paused polling can finish.
        this.s.pollHeld = false;
        step = { ...step, pollAnswer: '6' };
      }
      return step;
    }
    if (packet?.type === 'upgrade') {
      let step = emptyStep();
      if (this.s.pollHeld) {
        // The discarded polling transport closes with a noop to its pending GET.
        this.s.pollHeld = false;
        step = { ...step, pollAnswer: '6' };
      }
      this.s.transport = 'websocket';
      this.s.upgrade = null;
      this.s.upgradeBy = null;
      // What was queued for polling during the upgrade goes out on the WebSocket (a session closing meanwhile has
      // already closed its probing WebSocket, so it never gets here).
      const queued = this.s.outbox;
      this.s.outbox = [];
      return { ...step, wsFrames: queued.map(payloadPacketToWsFrame) };
    }
    // Anything else aborts the upgrade (the probing WebSocket is closed); the session stays on polling.
    this.s.upgrade = null;
    this.s.upgradeBy = null;
    const code = decoded.ok ? 1002 : decoded.error.code === 'too-large' ? 1009 : 1002;
    return { ...emptyStep(), wsClose: { code, reason: 'upgrade aborted' } };
  }

  private sendPackets(packets: readonly EnginePacket[], now: number): EngineStep {
    if (this.s.transport === 'websocket') {
      return { ...emptyStep(), wsFrames: packets.map(encodeWsFrame) };
    }
    for (const p of packets) this.s.outbox.push(encodePayloadPacket(p));
    if (!this.s.pollHeld) {
      const queued = this.s.outbox.reduce((n, p) => n + p.length, 0);
      return queued > this.s.options.maxBufferedChars ? this.shutdown('transport error', now) : emptyStep();
    }
    this.s.pollHeld = false;
    const body = this.s.outbox.join(RECORD_SEPARATOR);
    this.s.outbox = [];
    return { ...emptyStep(), pollAnswer: body };
  }

  // engine.io Socket.onClose (and socket.close() for the server's own close): which transport hears what.
  private shutdown(reason: EngineCloseReason, now: number, wsCode: WsCloseRequest['code'] = 1000): EngineStep {
    // A session already closing (server close waiting for its GET) was reported closed then: not twice.
    const step: EngineStep = { ...emptyStep(), closed: this.s.status === 'open' ? reason : null };
    const probing = this.s.transport === 'polling' && this.s.upgrade !== null;
    this.s.nextPingAt = null;
    this.s.pongBy = null;
    this.s.upgradeBy = null;
    this.s.upgrade = null;
    if (this.s.transport === 'websocket') {
      this.finish();
      return { ...step, wsClose: { code: wsCode, reason } };
    }
    if (probing) step.wsClose = { code: 1000, reason };
    if (this.s.pollHeld) {
      // Polling.doClose while writable: the held GET carries the close packet.
      const pollAnswer = [...this.s.outbox, '1'].join(RECORD_SEPARATOR);
      this.finish();
      return { ...step, pollAnswer };
    }
    if (reason === 'forced close') {
      // A server close with no GET held: the next GET gets what is queued and `1` (Polling shouldClose), or the
      // session ends after closeTimeout.
      this.s.outbox.push('1');
      this.s.status = 'closing';
      this.s.closeBy = now + this.s.options.closeTimeout;
      return step;
    }
    // Any other end (ping timeout, errors): engine.io forgets the session at once; later requests get 400.
    this.finish();
    return step;
  }

  private finish(): void {
    this.s.status = 'closed';
    this.s.pollHeld = false;
    this.s.postActive = false;
    this.s.outbox = [];
    this.s.nextPingAt = null;
    this.s.pongBy = null;
    this.s.upgradeBy = null;
    this.s.closeBy = null;
    this.s.upgrade = null;
  }
}
