import { describe, expect, it } from 'vitest';
import { EventStreamDecoder, EventStreamError, type EventStreamMessage } from './event-stream';

// Frames are built here by hand from the AWS event-stream format (application/vnd.amazon.eventstream):
//   prelude  = total length (u32 BE) | headers length (u32 BE) | CRC-32 of those 8 bytes (u32 BE)
//   headers  = repeated: name length (u8) | name (UTF-8) | value type (u8) | value
//   payload, then the message CRC-32 (u32 BE) of every byte before it.
// Header value types: 0 true, 1 false, 2 int8, 3 int16, 4 int32, 5 int64, 6 bytes (u16 length),
// 7 string (u16 length), 8 timestamp (int64 ms since the epoch), 9 UUID (16 bytes); integers are
// signed big-endian. The CRC is this file's own, bit by bit, so the test shares no code with the decoder.

// CRC-32 as in IEEE 802.3 / zlib: reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF.
function referenceCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const utf8 = new TextEncoder();

// One header: its name and the bytes of its type and value, as they go on the wire.
interface WireHeader {
  name: string;
  typeAndValue: number[];
}

const be = (value: bigint, bytes: number): number[] =>
  Array.from({ length: bytes }, (_, i) =>
    Number((BigInt.asUintN(bytes * 8, value) >> BigInt(8 * (bytes - 1 - i))) & 0xffn),
  );
const lengthPrefixed = (type: number, value: Uint8Array): number[] => [type, ...be(BigInt(value.length), 2), ...value];

const h = {
  bool: (name: string, value: boolean): WireHeader => ({ name, typeAndValue: [value ? 0 : 1] }),
  int8: (name: string, value: number): WireHeader => ({ name, typeAndValue: [2, ...be(BigInt(value), 1)] }),
  int16: (name: string, value: number): WireHeader => ({ name, typeAndValue: [3, ...be(BigInt(value), 2)] }),
  int32: (name: string, value: number): WireHeader => ({ name, typeAndValue: [4, ...be(BigInt(value), 4)] }),
  int64: (name: string, value: bigint): WireHeader => ({ name, typeAndValue: [5, ...be(value, 8)] }),
  bytes: (name: string, value: Uint8Array): WireHeader => ({ name, typeAndValue: lengthPrefixed(6, value) }),
  string: (name: string, value: string): WireHeader => ({ name, typeAndValue: lengthPrefixed(7, utf8.encode(value)) }),
  timestamp: (name: string, ms: bigint): WireHeader => ({ name, typeAndValue: [8, ...be(ms, 8)] }),
  uuid: (name: string, value: Uint8Array): WireHeader => ({ name, typeAndValue: [9, ...value] }),
};

function headerBytes(headers: WireHeader[]): number[] {
  return headers.flatMap(({ name, typeAndValue }) => {
    const n = utf8.encode(name);
    return [n.length, ...n, ...typeAndValue];
  });
}

function frame(headers: WireHeader[], payload: Uint8Array | string = ''): Uint8Array {
  const head = headerBytes(headers);
  const body = typeof payload === 'string' ? utf8.encode(payload) : payload;
  const total = 12 + head.length + body.length + 4;
  const prelude = [...be(BigInt(total), 4), ...be(BigInt(head.length), 4)];
  const withoutCrc = [...prelude, ...be(BigInt(referenceCrc32(new Uint8Array(prelude))), 4), ...head, ...body];
  return new Uint8Array([...withoutCrc, ...be(BigInt(referenceCrc32(new Uint8Array(withoutCrc))), 4)]);
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const eventFrame = (eventType: string, payload: unknown) =>
  frame(
    [
      h.string(':message-type', 'event'),
      h.string(':event-type', eventType),
      h.string(':content-type', 'application/json'),
    ],
    JSON.stringify(payload),
  );

const flipBit = (bytes: Uint8Array, index: number): Uint8Array => {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
};

const payloadText = (m: EventStreamMessage) => new TextDecoder().decode(m.payload);

describe('the test’s own CRC-32', () => {
  it('gives the standard check value', () => {
    // The CRC-32/ISO-HDLC check value from the CRC catalogue.
    expect(referenceCrc32(utf8.encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('AWS event-stream decoder', () => {
  it('decodes a minimal message: no headers, no payload (16 bytes)', () => {
    const bytes = frame([]);
    expect(bytes.length).toBe(16);
    const decoder = new EventStreamDecoder();
    const [message, ...rest] = decoder.pushMessages(bytes);
    expect(rest).toEqual([]);
    expect(message?.headers.size).toBe(0);
    expect(message?.payload.length).toBe(0);
    expect(decoder.buffered).toBe(0);
  });

  it('reads a header of each of the ten value types', () => {
    const uuid = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    const bytes = frame(
      [
        h.bool('yes', true),
        h.bool('no', false),
        h.int8('i8', -2),
        h.int16('i16', -300),
        h.int32('i32', -70_000),
        h.int64('i64', -(2n ** 40n) - 5n),
        h.bytes('raw', Uint8Array.of(0, 255, 7)),
        h.string('text', 'héllo ✓'),
        h.timestamp('at', 1_700_000_000_123n),
        h.uuid('id', uuid),
      ],
      'payload bytes',
    );
    const [message] = new EventStreamDecoder().pushMessages(bytes);
    const headers = message?.headers;
    expect(headers?.get('yes')).toBe(true);
    expect(headers?.get('no')).toBe(false);
    expect(headers?.get('i8')).toBe(-2);
    expect(headers?.get('i16')).toBe(-300);
    expect(headers?.get('i32')).toBe(-70_000);
    expect(headers?.get('i64')).toBe(-(2n ** 40n) - 5n);
    expect(headers?.get('raw')).toEqual(Uint8Array.of(0, 255, 7));
    expect(headers?.get('text')).toBe('héllo ✓');
    expect(headers?.get('at')).toBe(1_700_000_000_123n);
    expect(headers?.get('id')).toEqual(uuid);
    expect(headers?.size).toBe(10);
    expect(message && payloadText(message)).toBe('payload bytes');
  });

  it('reads the largest values of each integer type', () => {
    const bytes = frame([
      h.int8('i8', 127),
      h.int16('i16', 32_767),
      h.int32('i32', 2_147_483_647),
      h.int64('i64', 2n ** 63n - 1n),
    ]);
    const headers = new EventStreamDecoder().pushMessages(bytes)[0]?.headers;
    expect([headers?.get('i8'), headers?.get('i16'), headers?.get('i32'), headers?.get('i64')]).toEqual([
      127,
      32_767,
      2_147_483_647,
      2n ** 63n - 1n,
    ]);
  });

  it('maps the :message-type, :event-type and :exception-type headers and parses the JSON payload', () => {
    const exception = frame(
      [h.string(':message-type', 'exception'), h.string(':exception-type', 'throttlingException')],
      '{"message":"slow down"}',
    );
    const events = new EventStreamDecoder().push(concat(eventFrame('messageStart', { role: 'assistant' }), exception));
    expect(events).toMatchObject([
      { messageType: 'event', eventType: 'messageStart', exceptionType: undefined, payload: { role: 'assistant' } },
      { messageType: 'exception', eventType: undefined, exceptionType: 'throttlingException' },
    ]);
    expect(events[1]?.payload).toEqual({ message: 'slow down' });
  });

  it('decodes several messages from one chunk, in order', () => {
    const texts = ['one', 'two', 'three'];
    const bytes = concat(...texts.map((text) => eventFrame('contentBlockDelta', { delta: { text } })));
    const events = new EventStreamDecoder().push(bytes);
    expect(events.map((e) => (e.payload as { delta: { text: string } }).delta.text)).toEqual(texts);
  });

  it('reassembles messages split at every byte boundary', () => {
    const bytes = concat(
      eventFrame('contentBlockDelta', { delta: { text: 'Hello' } }),
      frame([h.int64('n', 42n), h.bytes('b', Uint8Array.of(1, 2))], '{"x":1}'),
      eventFrame('messageStop', { stopReason: 'end_turn' }),
    );
    const expected = new EventStreamDecoder().pushMessages(bytes.slice());
    expect(expected).toHaveLength(3);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new EventStreamDecoder();
      const messages = [...decoder.pushMessages(bytes.slice(0, cut)), ...decoder.pushMessages(bytes.slice(cut))];
      expect(messages, `cut at byte ${cut}`).toEqual(expected);
      expect(decoder.buffered).toBe(0);
    }
    const decoder = new EventStreamDecoder();
    const oneByOne = [...bytes].flatMap((b) => decoder.pushMessages(Uint8Array.of(b)));
    expect(oneByOne).toEqual(expected);
    expect(decoder.buffered).toBe(0);
  });

  it('emits nothing for a partial message and counts its bytes as buffered', () => {
    const bytes = eventFrame('messageStart', { role: 'assistant' });
    const decoder = new EventStreamDecoder();
    expect(decoder.pushMessages(bytes.slice(0, bytes.length - 1))).toEqual([]);
    expect(decoder.buffered).toBe(bytes.length - 1);
    expect(decoder.pushMessages(bytes.slice(bytes.length - 1))).toHaveLength(1);
    expect(decoder.buffered).toBe(0);
  });

  describe('refuses', () => {
    const good = () => eventFrame('messageStart', { role: 'assistant' });

    it('a prelude whose CRC does not match, as soon as the 12 prelude bytes are in', () => {
      // A flipped bit in the total length, in the headers length, and in the prelude CRC itself.
      for (const index of [3, 7, 11]) {
        const bad = flipBit(good(), index);
        expect(() => new EventStreamDecoder().pushMessages(bad), `bit flipped in byte ${index}`).toThrow(
          EventStreamError,
        );
        expect(() => new EventStreamDecoder().pushMessages(bad.slice(0, 12))).toThrow(/prelude/);
      }
    });

    it('a message whose CRC does not match: a flipped bit in a header, the payload or the CRC', () => {
      const bytes = good();
      for (const index of [12, 20, bytes.length - 6, bytes.length - 1]) {
        expect(() => new EventStreamDecoder().pushMessages(flipBit(bytes, index)), `byte ${index}`).toThrow(
          /message checksum/,
        );
      }
    });

    // Lengths are refused from a prelude whose CRC is right, before waiting for bytes that cannot
    // form a message: under 16 bytes, headers that leave no room for the CRC, or far beyond AWS's
    // 16 MiB message limit (aws-c-event-stream), which would otherwise be buffered.
    it('an impossible length, as soon as the prelude is in', () => {
      const prelude = (total: number, headersLength: number) => {
        const p = [...be(BigInt(total), 4), ...be(BigInt(headersLength), 4)];
        return new Uint8Array([...p, ...be(BigInt(referenceCrc32(new Uint8Array(p))), 4)]);
      };
      for (const [total, headersLength] of [
        [0, 0],
        [15, 0],
        [16, 1],
        [116, 101],
        [64 * 1024 * 1024, 0],
        [0xffffffff, 0],
      ] as const) {
        expect(
          () => new EventStreamDecoder().pushMessages(prelude(total, headersLength)),
          `total ${total}, headers ${headersLength}`,
        ).toThrow(EventStreamError);
      }
      // A message of AWS's maximum size is waited for, not refused.
      const decoder = new EventStreamDecoder();
      expect(decoder.pushMessages(prelude(16 * 1024 * 1024, 128 * 1024))).toEqual([]);
      expect(decoder.buffered).toBe(12);
    });

    it('a header that runs past the headers section', () => {
      // A string header announcing 10 bytes with only 2 present, inside a message whose CRCs are right.
      const truncated: WireHeader = { name: 's', typeAndValue: [7, 0, 10, 0x61, 0x62] };
      expect(() => new EventStreamDecoder().pushMessages(frame([truncated]))).toThrow(EventStreamError);
    });

    it('an unknown header value type', () => {
      expect(() => new EventStreamDecoder().pushMessages(frame([{ name: 'x', typeAndValue: [10] }]))).toThrow(
        EventStreamError,
      );
    });
  });
});
