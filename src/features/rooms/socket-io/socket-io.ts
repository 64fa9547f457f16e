// Socket.IO protocol 5 packets: `<type>[<attachments>-][<nsp>,][<ack id>][JSON]`, carried in Engine.IO message
// packets. Rules from socketio/socket.io: docs/socket.io-protocol/v5-current.md ("Packet encoding") and
// packages/socket.io-parser/lib/index.ts (Encoder.encodeAsString, Decoder.decodeString, isPayloadValid,
// isPacketValid, RESERVED_EVENTS, maxAttachments 10). Binary attachments (types 5 and 6) are recognised and
// refused with a typed error: this layer carries JSON only. Design: docs/design/socket-io.md
import { err, isJsonObject, ok, type JsonObject, type JsonValue, type Result } from './result';

export const SOCKET_PACKET_TYPES = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
} as const;

export type SocketPacketType = keyof typeof SOCKET_PACKET_TYPES;

// socket.io-parser RESERVED_EVENTS: names with a meaning of their own on either side; never an event's name.
export const RESERVED_EVENTS: readonly string[] = [
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
];

/** A decoded (or to-be-encoded) JSON packet. `nsp` is always present: `/` is the main namespace. */
export type SocketPacket =
  | { type: 'CONNECT'; nsp: string; data?: JsonObject }
  | { type: 'DISCONNECT'; nsp: string }
  | { type: 'EVENT'; nsp: string; data: JsonValue[]; id?: number }
  | { type: 'ACK'; nsp: string; data: JsonValue[]; id?: number }
  | { type: 'CONNECT_ERROR'; nsp: string; data?: string | JsonObject };

export type SocketDecodeErrorCode =
  | 'empty'
  | 'unknown-type'
  | 'invalid-attachments'
  | 'binary-unsupported'
  | 'invalid-namespace'
  | 'invalid-ack-id'
  | 'invalid-payload';

export interface SocketDecodeError {
  code: SocketDecodeErrorCode;
  message: string;
  /** What could be read before the error, so a caller can answer on the right namespace or skip attachments. */
  nsp?: string;
  id?: number;
  attachments?: number;
}

// Bounds of our own (the parser has none besides maxAttachments): a namespace is a short path, an ack id a
// safe integer.
export const MAX_NAMESPACE_LENGTH = 128;
export const MAX_ACK_ID_DIGITS = 15;
// socket.io-parser DecoderOptions.maxAttachments default.
export const MAX_ATTACHMENTS = 10;

const TYPE_BY_DIGIT: readonly SocketPacketType[] = [
  'CONNECT',
  'DISCONNECT',
  'EVENT',
  'ACK',
  'CONNECT_ERROR',
  'BINARY_EVENT',
  'BINARY_ACK',
];

// No comma (it ends the namespace on the wire), no control characters (a \x1e would split a polling payload).
// eslint-disable-next-line no-control-regex
const NAMESPACE_PATTERN = /^\/[^,\x00-\x1f\x7f]*$/;

export function isNamespaceValid(nsp: string): boolean {
  return nsp.length <= MAX_NAMESPACE_LENGTH && NAMESPACE_PATTERN.test(nsp);
}

function isEventPayload(payload: unknown): payload is JsonValue[] {
  // isPayloadValid(EVENT): an array whose first item is a number or a string that is not reserved (so not empty).
  if (!Array.isArray(payload)) return false;
  const first: unknown = payload[0];
  return typeof first === 'number' || (typeof first === 'string' && !RESERVED_EVENTS.includes(first));
}

const DIGIT = /[0-9]/;

/**
 * One Socket.IO packet from the text of an Engine.IO message. Never throws. Stricter than socket.io-parser in
 * three places: the type must be a digit 0-6 (the parser reads " " as 0), an ack id is digits only and a safe
 * integer, and EVENT/ACK need their payload (the parser lets `2` through without one; the spec says mandatory).
 */
export function decodeSocketPacket(text: string): Result<SocketPacket, SocketDecodeError> {
  if (text.length === 0) return err({ code: 'empty', message: 'empty packet' });
  const type = /^[0-6]$/.test(text.charAt(0)) ? TYPE_BY_DIGIT[Number(text.charAt(0))] : undefined;
  if (!type) return err({ code: 'unknown-type', message: `unknown packet type ${JSON.stringify(text.charAt(0))}` });
  let i = 1;

  let attachments: number | undefined;
  if (type === 'BINARY_EVENT' || type === 'BINARY_ACK') {
    const dash = text.indexOf('-', i);
    const count = dash === -1 ? '' : text.slice(i, dash);
    if (!/^[0-9]{1,3}$/.test(count)) return err({ code: 'invalid-attachments', message: 'illegal attachments' });
    attachments = Number(count);
    if (attachments > MAX_ATTACHMENTS) return err({ code: 'invalid-attachments', message: 'too many attachments' });
    i = dash + 1;
  }

  let nsp = '/';
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma === -1 ? end : end + 1;
    if (!isNamespaceValid(nsp)) return err({ code: 'invalid-namespace', message: 'invalid namespace' });
  }

  let id: number | undefined;
  if (DIGIT.test(text.charAt(i))) {
    const start = i;
    while (i < text.length && DIGIT.test(text.charAt(i))) i++;
    const digits = text.slice(start, i);
    id = Number(digits);
    if (digits.length > MAX_ACK_ID_DIGITS || !Number.isSafeInteger(id)) {
      return err({ code: 'invalid-ack-id', message: 'invalid ack id', nsp });
    }
  }

  if (type === 'BINARY_EVENT' || type === 'BINARY_ACK') {
    return err({
      code: 'binary-unsupported',
      message: 'binary attachments are not supported; send JSON only',
      nsp,
      attachments: attachments ?? 0,
      ...(id !== undefined ? { id } : {}),
    });
  }

  const rest = text.slice(i);
  let payload: unknown = undefined;
  if (rest.length > 0) {
    try {
      payload = JSON.parse(rest);
    } catch {
      return invalidPayload(nsp, id);
    }
  }
  const withId = id !== undefined ? { id } : {};
  switch (type) {
    case 'CONNECT':
      if (payload === undefined) return ok({ type, nsp });
      return isJsonObject(payload) ? ok({ type, nsp, data: payload }) : invalidPayload(nsp, id);
    case 'DISCONNECT':
      return payload === undefined ? ok({ type, nsp }) : invalidPayload(nsp, id);
    case 'CONNECT_ERROR':
      if (payload === undefined) return ok({ type, nsp });
      return typeof payload === 'string' || isJsonObject(payload)
        ? ok({ type, nsp, data: payload })
        : invalidPayload(nsp, id);
    case 'EVENT':
      return isEventPayload(payload) ? ok({ type, nsp, data: payload, ...withId }) : invalidPayload(nsp, id);
    case 'ACK':
      return Array.isArray(payload)
        ? ok({ type, nsp, data: payload as JsonValue[], ...withId })
        : invalidPayload(nsp, id);
  }
}

function invalidPayload(nsp: string, id: number | undefined): { ok: false; error: SocketDecodeError } {
  return err({ code: 'invalid-payload', message: 'invalid payload', nsp, ...(id !== undefined ? { id } : {}) });
}

export interface SocketEncodeError {
  code: 'invalid-namespace' | 'invalid-ack-id' | 'invalid-payload';
  message: string;
}

/**
 * One packet as text (socket.io-parser encodeAsString), after isPacketValid's checks plus ours: the namespace is
 * only written when not `/`, then the ack id, then the JSON payload.
 */
export function encodeSocketPacket(packet: SocketPacket): Result<string, SocketEncodeError> {
  if (!isNamespaceValid(packet.nsp)) return err({ code: 'invalid-namespace', message: 'invalid namespace' });
  const id = 'id' in packet ? packet.id : undefined;
  if (id !== undefined && !(Number.isSafeInteger(id) && id >= 0)) {
    return err({ code: 'invalid-ack-id', message: 'invalid ack id' });
  }
  const data = 'data' in packet ? packet.data : undefined;
  const valid =
    packet.type === 'EVENT'
      ? isEventPayload(data)
      : packet.type === 'ACK'
        ? Array.isArray(data)
        : packet.type === 'CONNECT'
          ? data === undefined || isJsonObject(data)
          : packet.type === 'CONNECT_ERROR'
            ? data === undefined || typeof data === 'string' || isJsonObject(data)
            : true;
  if (!valid) return err({ code: 'invalid-payload', message: `invalid ${packet.type} payload` });
  let text = String(SOCKET_PACKET_TYPES[packet.type]);
  if (packet.nsp !== '/') text += packet.nsp + ',';
  if (id !== undefined) text += String(id);
  if (data !== undefined) text += JSON.stringify(data);
  return ok(text);
}

/** An EVENT packet's text, e.g. for one broadcast encoded once and sent to many connections. */
export function encodeEvent(
  nsp: string,
  name: string,
  args: readonly JsonValue[],
  id?: number,
): Result<string, SocketEncodeError> {
  return encodeSocketPacket({ type: 'EVENT', nsp, data: [name, ...args], ...(id !== undefined ? { id } : {}) });
}
