// Decoder for the AWS event-stream framing (application/vnd.amazon.eventstream) that Bedrock's
// ConverseStream answers with. Each message is:
//   prelude: total length u32 BE | headers length u32 BE | CRC32 of those 8 bytes
//   headers: repeated (name length u8, name, value type u8, value)
//   payload, then a CRC32 of everything before it.
// Both checksums are verified; a frame may arrive split across any number of chunks.

const PRELUDE_BYTES = 12;
const CRC_BYTES = 4;
const MIN_MESSAGE_BYTES = PRELUDE_BYTES + CRC_BYTES;
// AWS caps a payload at 16 MiB and the headers at 128 KiB.
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 128 * 1024 + MIN_MESSAGE_BYTES;

export class EventStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventStreamError';
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

// CRC-32 (IEEE 802.3, the zlib one), as unsigned.
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = (CRC_TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export type HeaderValue = boolean | number | bigint | string | Uint8Array;

export interface EventStreamMessage {
  headers: Map<string, HeaderValue>;
  payload: Uint8Array;
}

// What the Bedrock layer needs from a message: which kind it is and its JSON payload.
export interface EventStreamEvent {
  messageType: string | undefined; // 'event' | 'exception' | 'error'
  eventType: string | undefined; // e.g. 'contentBlockDelta'
  exceptionType: string | undefined; // e.g. 'throttlingException'
  headers: Map<string, HeaderValue>;
  payload: unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new EventStreamError('header is not UTF-8');
  }
}

function parseHeaders(bytes: Uint8Array): Map<string, HeaderValue> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headers = new Map<string, HeaderValue>();
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new EventStreamError('header runs past its section');
  };
  while (at < bytes.length) {
    need(1);
    const nameLength = view.getUint8(at);
    at += 1;
    need(nameLength + 1);
    const name = text(bytes.subarray(at, at + nameLength));
    at += nameLength;
    const type = view.getUint8(at);
    at += 1;
    let value: HeaderValue;
    switch (type) {
      case 0:
      case 1:
        value = type === 0;
        break;
      case 2:
        need(1);
        value = view.getInt8(at);
        at += 1;
        break;
      case 3:
        need(2);
        value = view.getInt16(at);
        at += 2;
        break;
      case 4:
        need(4);
        value = view.getInt32(at);
        at += 4;
        break;
      case 5: // int64
      case 8: // timestamp, ms since the epoch
        need(8);
        value = view.getBigInt64(at);
        at += 8;
        break;
      case 6: // byte array
      case 7: {
        // string
        need(2);
        const length = view.getUint16(at);
        at += 2;
        need(length);
        const raw = bytes.subarray(at, at + length);
        value = type === 7 ? text(raw) : raw.slice();
        at += length;
        break;
      }
      case 9: // uuid
        need(16);
        value = bytes.slice(at, at + 16);
        at += 16;
        break;
      default:
        throw new EventStreamError(`unknown header value type ${type}`);
    }
    headers.set(name, value);
  }
  return headers;
}

function toEvent(message: EventStreamMessage): EventStreamEvent {
  const str = (name: string) => {
    const v = message.headers.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  let payload: unknown = {};
  if (message.payload.length > 0) {
    try {
      payload = JSON.parse(text(message.payload));
    } catch {
      throw new EventStreamError('payload is not JSON');
    }
  }
  return {
    messageType: str(':message-type'),
    eventType: str(':event-type'),
    exceptionType: str(':exception-type') ?? str(':error-code'),
    headers: message.headers,
    payload,
  };
}

// Incremental: push() every chunk as it arrives and get back the messages it completed.
// After an EventStreamError the stream is unusable; the caller must give up on it.
export class EventStreamDecoder {
  private buffer: Uint8Array = new Uint8Array(0);

  // Bytes received that do not yet form a whole message; non-zero at the end means a cut frame.
  get buffered(): number {
    return this.buffer.length;
  }

  pushMessages(chunk: Uint8Array): EventStreamMessage[] {
    if (this.buffer.length === 0) this.buffer = chunk;
    else {
      const joined = new Uint8Array(this.buffer.length + chunk.length);
      joined.set(this.buffer);
      joined.set(chunk, this.buffer.length);
      this.buffer = joined;
    }
    const messages: EventStreamMessage[] = [];
    let offset = 0;
    while (this.buffer.length - offset >= PRELUDE_BYTES) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + offset, this.buffer.length - offset);
      const total = view.getUint32(0);
      const headersLength = view.getUint32(4);
      if (crc32(this.buffer.subarray(offset, offset + 8)) !== view.getUint32(8)) {
        throw new EventStreamError('prelude checksum mismatch');
      }
      if (total < MIN_MESSAGE_BYTES || total > MAX_MESSAGE_BYTES || headersLength > total - MIN_MESSAGE_BYTES) {
        throw new EventStreamError('impossible message length');
      }
      if (this.buffer.length - offset < total) break;
      const frame = this.buffer.subarray(offset, offset + total);
      if (crc32(frame.subarray(0, total - CRC_BYTES)) !== view.getUint32(total - CRC_BYTES)) {
        throw new EventStreamError('message checksum mismatch');
      }
      const payloadStart = PRELUDE_BYTES + headersLength;
      messages.push({
        headers: parseHeaders(frame.subarray(PRELUDE_BYTES, payloadStart)),
        payload: frame.slice(payloadStart, total - CRC_BYTES),
      });
      offset += total;
    }
    // Copy the remainder so the (possibly large) chunk it came from can be collected.
    this.buffer = offset === 0 ? this.buffer : this.buffer.slice(offset);
    return messages;
  }

  push(chunk: Uint8Array): EventStreamEvent[] {
    return this.pushMessages(chunk).map(toEvent);
  }
}
