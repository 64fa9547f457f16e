// Engine.IO protocol 4 packets, payloads, handshake and request errors, transport-independent and pure.
// Rules from socketio/socket.io: docs/engine.io-protocol/v4-current.md (packet types, payload framing with \x1e,
// "b" + base64 for binary in payloads, handshake fields), packages/engine.io-parser/lib/{commons,decodePacket,
// encodePacket,index}.ts (encoding), packages/engine.io/lib/server.ts (verify(), Server.errors, abortRequest()).
// Why this exists and how a Durable Object drives it: docs/design/socket-io.md
import { randomToken } from '../../../lib/crypto';
import { err, ok, type Result } from './result';

export const ENGINE_PACKET_TYPES = {
  open: 0,
  close: 1,
  ping: 2,
  pong: 3,
  message: 4,
  upgrade: 5,
  noop: 6,
} as const;

export type EnginePacketType = keyof typeof ENGINE_PACKET_TYPES;

const TYPE_BY_CHAR: Readonly<Record<string, EnginePacketType>> = {
  '0': 'open',
  '1': 'close',
  '2': 'ping',
  '3': 'pong',
  '4': 'message',
  '5': 'upgrade',
  '6': 'noop',
};

// A message carries text or bytes; the other types carry an optional text (e.g. "probe" on ping/pong).
export type EnginePacket =
  { type: Exclude<EnginePacketType, 'message'>; data?: string } | { type: 'message'; data: string | ArrayBuffer };

export type EngineTransport = 'polling' | 'websocket';

// The record separator between packets of an HTTP long-polling payload (v4-current.md, "Packet encoding").
export const RECORD_SEPARATOR = '\x1e';

export type EngineDecodeErrorCode = 'empty' | 'unknown-type' | 'bad-base64' | 'too-large';

export interface EngineDecodeError {
  code: EngineDecodeErrorCode;
  message: string;
}

const decodeError = (code: EngineDecodeErrorCode, message: string) => err<EngineDecodeError>({ code, message });

export interface EngineOptions {
  /** ms between the server's pings (handshake `pingInterval`). */
  pingInterval: number;
  /** ms the client has to answer a ping with a pong (handshake `pingTimeout`). */
  pingTimeout: number;
  /** Largest POST body or WebSocket frame accepted, in bytes (handshake `maxPayload`). */
  maxPayload: number;
  /** ms a WebSocket upgrade may take between the WebSocket opening and the client's `5` (engine.io default). */
  upgradeTimeout: number;
  /** ms a server-closed polling session waits for the GET that carries its `1` (engine.io Polling.closeTimeout). */
  closeTimeout: number;
  /**
   * Characters a polling session may queue for its next GET; beyond, the session closes (ours: engine.io has no
   * bound). A client that POSTs pongs but never polls would otherwise grow the queue, and the stored state, forever.
   */
  maxBufferedChars: number;
}

// engine.io's defaults (server.ts constructor): pingInterval 25000, pingTimeout 20000, maxHttpBufferSize 1e6,
// upgradeTimeout 10000; polling.ts closeTimeout 30 s.
export const DEFAULT_ENGINE_OPTIONS: Readonly<EngineOptions> = {
  pingInterval: 25_000,
  pingTimeout: 20_000,
  maxPayload: 1_000_000,
  upgradeTimeout: 10_000,
  closeTimeout: 30_000,
  maxBufferedChars: 1_000_000,
};

// ---------------------------------------------------------------------------------------------------------------
// Sizes and base64

/** UTF-8 byte length without allocating (engine.io measures bodies with Buffer.byteLength). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function exceeds(text: string, max: number): boolean {
  // Every UTF-16 unit is at least one byte and at most three, so most texts are decided without counting.
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  return utf8Length(text) > max;
}

export function toBase64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let bin = '';
  // Chunks keep String.fromCharCode's argument list short for large buffers.
  for (let i = 0; i < view.length; i += 0x8000) bin += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(bin);
}

// Standard alphabet, padded or not; engine.io-client pads (Buffer/FileReader), Node's Buffer.from accepts both.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function fromBase64(text: string): ArrayBuffer | null {
  if (!BASE64.test(text)) return null;
  const padded = text.endsWith('=');
  if ((padded && text.length % 4 !== 0) || text.length % 4 === 1) return null;
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

// ---------------------------------------------------------------------------------------------------------------
// One packet

// engine.io-parser decodePacket(): a leading "b" is a base64 binary message, else the first character is the type
// and the rest is the data.
function decodePacketText(text: string): Result<EnginePacket, EngineDecodeError> {
  if (text.length === 0) return decodeError('empty', 'empty packet');
  const first = text.charAt(0);
  if (first === 'b') {
    const bytes = fromBase64(text.slice(1));
    if (!bytes) return decodeError('bad-base64', 'binary packet is not valid base64');
    return ok({ type: 'message', data: bytes });
  }
  const type = TYPE_BY_CHAR[first];
  if (!type) return decodeError('unknown-type', `unknown packet type ${JSON.stringify(first)}`);
  const data = text.slice(1);
  if (type === 'message') return ok({ type, data });
  return ok(data.length > 0 ? { type, data } : { type });
}

function encodeText(packet: EnginePacket): string {
  return String(ENGINE_PACKET_TYPES[packet.type]) + (typeof packet.data === 'string' ? packet.data : '');
}

/** One packet as one WebSocket frame: text as `<type><data>`, binary messages as the bytes themselves. */
export function encodeWsFrame(packet: EnginePacket): string | ArrayBuffer {
  if (packet.data instanceof ArrayBuffer) return packet.data;
  return encodeText(packet);
}

/** One WebSocket frame; `maxPayload` is in bytes, as the `ws` server's maxPayload. */
export function decodeWsFrame(
  frame: string | ArrayBuffer,
  maxPayload: number,
): Result<EnginePacket, EngineDecodeError> {
  if (frame instanceof ArrayBuffer) {
    if (frame.byteLength > maxPayload) return decodeError('too-large', `frame over ${maxPayload} bytes`);
    return ok({ type: 'message', data: frame });
  }
  if (exceeds(frame, maxPayload)) return decodeError('too-large', `frame over ${maxPayload} bytes`);
  return decodePacketText(frame);
}

/** One packet inside a long-polling payload: binary messages become `b` + base64. */
export function encodePayloadPacket(packet: EnginePacket): string {
  if (packet.data instanceof ArrayBuffer) return 'b' + toBase64(packet.data);
  return encodeText(packet);
}

/** A long-polling payload: the packets joined by the record separator. */
export function encodePayload(packets: readonly EnginePacket[]): string {
  return packets.map(encodePayloadPacket).join(RECORD_SEPARATOR);
}

/**
 * A long-polling payload (a POST body). All or nothing: one bad packet refuses the whole payload, where
 * engine.io would still deliver the packets before it; the session closes either way.
 */
export function decodePayload(body: string, maxPayload: number): Result<EnginePacket[], EngineDecodeError> {
  if (exceeds(body, maxPayload)) return decodeError('too-large', `payload over ${maxPayload} bytes`);
  const packets: EnginePacket[] = [];
  const parts = body.split(RECORD_SEPARATOR);
  for (const [i, part] of parts.entries()) {
    const decoded = decodePacketText(part);
    if (!decoded.ok) return decodeError(decoded.error.code, `packet ${i}: ${decoded.error.message}`);
    packets.push(decoded.value);
  }
  return ok(packets);
}

/** A WebSocket frame already in payload form (`b` + base64 for bytes) back to a frame: used when a queue moves. */
export function payloadPacketToWsFrame(encoded: string): string | ArrayBuffer {
  if (encoded.startsWith('b')) return fromBase64(encoded.slice(1)) ?? new ArrayBuffer(0);
  return encoded;
}

// ---------------------------------------------------------------------------------------------------------------
// Handshake

export interface HandshakeData {
  sid: string;
  upgrades: EngineTransport[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

/**
 * A session id: 15 random bytes, base64url (20 characters, URL-safe as engine.io's base64id). It must stay
 * secret to its client: whoever knows it can poll the session.
 */
export function createSessionId(): string {
  return randomToken(15);
}

const SID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isSessionIdShape(sid: string): boolean {
  return SID_PATTERN.test(sid);
}

/** The open packet's JSON. A polling session may upgrade to websocket; a WebSocket session has no upgrade. */
export function handshakeData(sid: string, transport: EngineTransport, options: EngineOptions): HandshakeData {
  return {
    sid,
    upgrades: transport === 'polling' ? ['websocket'] : [],
    pingInterval: options.pingInterval,
    pingTimeout: options.pingTimeout,
    maxPayload: options.maxPayload,
  };
}

export function encodeOpenPacket(data: HandshakeData): string {
  return encodeText({ type: 'open', data: JSON.stringify(data) });
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP answers and request verification

// engine.io Server.errors and Server.errorMessages.
export const ENGINE_ERRORS = {
  UNKNOWN_TRANSPORT: 0,
  UNKNOWN_SID: 1,
  BAD_HANDSHAKE_METHOD: 2,
  BAD_REQUEST: 3,
  FORBIDDEN: 4,
  UNSUPPORTED_PROTOCOL_VERSION: 5,
} as const;

export type EngineErrorCode = (typeof ENGINE_ERRORS)[keyof typeof ENGINE_ERRORS];

export const ENGINE_ERROR_MESSAGES: Readonly<Record<EngineErrorCode, string>> = {
  0: 'Transport unknown',
  1: 'Session ID unknown',
  2: 'Bad handshake method',
  3: 'Bad request',
  4: 'Forbidden',
  5: 'Unsupported protocol version',
};

export interface EngineHttpAnswer {
  status: 200 | 400 | 403 | 413;
  contentType: string;
  body: string;
}

export const TEXT_CONTENT_TYPE = 'text/plain; charset=UTF-8';

/** engine.io abortRequest(): 403 for FORBIDDEN, else 400, with `{"code":n,"message":"..."}`. */
export function engineErrorAnswer(code: EngineErrorCode, message?: string): EngineHttpAnswer {
  return {
    status: code === ENGINE_ERRORS.FORBIDDEN ? 403 : 400,
    contentType: 'application/json',
    body: JSON.stringify({ code, message: message ?? ENGINE_ERROR_MESSAGES[code] }),
  };
}

export function textAnswer(body: string): EngineHttpAnswer {
  return { status: 200, contentType: TEXT_CONTENT_TYPE, body };
}

/** A POST body over maxPayload (engine.io answers 413 and keeps the session). */
export function payloadTooLargeAnswer(): EngineHttpAnswer {
  return { status: 413, contentType: TEXT_CONTENT_TYPE, body: 'payload too large' };
}

export interface EngineRequestInfo {
  method: string;
  query: URLSearchParams;
  /** The request asks for a WebSocket (`Upgrade: websocket`). */
  websocket: boolean;
}

/** Where a request goes: a new session, or one of the calls on an existing session. */
export type EngineRoute =
  { kind: 'handshake'; transport: EngineTransport } | { kind: 'poll' | 'post' | 'upgrade'; sid: string };

/**
 * engine.io verify() and handshake() checks, in their order: transport (0); without sid, method GET (2), a
 * websocket transport only as a WebSocket request (3), EIO=4 (5). Stricter than engine.io: EIO=4 is required on
 * every request (the spec calls it mandatory), and a sid-bearing request must match its transport's shape
 * (polling GET/POST, websocket upgrade), else 400 Bad request. An unknown sid is the caller's to answer with
 * `engineErrorAnswer(ENGINE_ERRORS.UNKNOWN_SID)`; a malformed one is answered so here.
 */
export function routeEngineRequest(req: EngineRequestInfo): Result<EngineRoute, EngineHttpAnswer> {
  const transport = req.query.get('transport');
  if (transport !== 'polling' && transport !== 'websocket') {
    return err(engineErrorAnswer(ENGINE_ERRORS.UNKNOWN_TRANSPORT));
  }
  const method = req.method.toUpperCase();
  const sid = req.query.get('sid');
  const eio = req.query.get('EIO');
  if (!sid) {
    if (method !== 'GET') return err(engineErrorAnswer(ENGINE_ERRORS.BAD_HANDSHAKE_METHOD));
    if (transport === 'websocket' && !req.websocket) return err(engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST));
    if (eio !== '4') return err(engineErrorAnswer(ENGINE_ERRORS.UNSUPPORTED_PROTOCOL_VERSION));
    return ok({ kind: 'handshake', transport });
  }
  if (eio !== '4') return err(engineErrorAnswer(ENGINE_ERRORS.UNSUPPORTED_PROTOCOL_VERSION));
  if (!isSessionIdShape(sid)) return err(engineErrorAnswer(ENGINE_ERRORS.UNKNOWN_SID));
  if (transport === 'websocket') {
    if (!req.websocket || method !== 'GET') return err(engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST));
    return ok({ kind: 'upgrade', sid });
  }
  if (req.websocket) return err(engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST));
  if (method === 'GET') return ok({ kind: 'poll', sid });
  if (method === 'POST') return ok({ kind: 'post', sid });
  return err(engineErrorAnswer(ENGINE_ERRORS.BAD_REQUEST));
}
