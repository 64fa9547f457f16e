// Socket.IO 5 packets. Expected strings are copied by hand from socketio/socket.io
// docs/socket.io-protocol/v5-current.md ("Packet encoding" examples) and the v5 test suite; validation rules from
// packages/socket.io-parser/lib/index.ts (isPayloadValid, RESERVED_EVENTS, maxAttachments).
import { describe, expect, it } from 'vitest';
import {
  MAX_NAMESPACE_LENGTH,
  RESERVED_EVENTS,
  decodeSocketPacket,
  encodeEvent,
  encodeSocketPacket,
  type SocketPacket,
} from './socket-io';

function encoded(packet: SocketPacket): string {
  const r = encodeSocketPacket(packet);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function decoded(text: string): SocketPacket {
  const r = decodeSocketPacket(text);
  if (!r.ok) throw new Error(`${text}: ${r.error.code}`);
  return r.value;
}

function decodeError(text: string) {
  const r = decodeSocketPacket(text);
  if (r.ok) throw new Error(`${JSON.stringify(text)} decoded as ${JSON.stringify(r.value)}`);
  return r.error;
}

// [packet, encoded] pairs from v5-current.md.
const SPEC_EXAMPLES: [SocketPacket, string][] = [
  [{ type: 'CONNECT', nsp: '/' }, '0'],
  [{ type: 'CONNECT', nsp: '/admin', data: { sid: 'oSO0OpakMV_3jnilAAAA' } }, '0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}'],
  [{ type: 'CONNECT_ERROR', nsp: '/', data: { message: 'Not authorized' } }, '4{"message":"Not authorized"}'],
  [{ type: 'EVENT', nsp: '/', data: ['foo'] }, '2["foo"]'],
  [{ type: 'EVENT', nsp: '/admin', data: ['bar'] }, '2/admin,["bar"]'],
  [{ type: 'EVENT', nsp: '/', data: ['foo'], id: 12 }, '212["foo"]'],
  [{ type: 'ACK', nsp: '/admin', data: ['bar'], id: 13 }, '3/admin,13["bar"]'],
  [{ type: 'DISCONNECT', nsp: '/' }, '1'],
  [{ type: 'DISCONNECT', nsp: '/admin' }, '1/admin,'],
];

describe('socket.io packet encoding (spec examples)', () => {
  it.each(SPEC_EXAMPLES)('encodes %j as %s', (packet, text) => {
    expect(encoded(packet)).toBe(text);
  });

  it.each(SPEC_EXAMPLES)('decodes back to %j from %s', (packet, text) => {
    expect(decoded(text)).toEqual(packet);
  });

  it('encodes an event for broadcast: 2["auth",{"token":"123"}] and with a namespace and ack id', () => {
    expect(encodeEvent('/', 'auth', [{ token: '123' }])).toEqual({ ok: true, value: '2["auth",{"token":"123"}]' });
    expect(encodeEvent('/custom', 'auth', [{}])).toEqual({ ok: true, value: '2/custom,["auth",{}]' });
    expect(encodeEvent('/', 'message-back', [1, '2', { '3': [true] }], 456)).toEqual({
      ok: true,
      value: '2456["message-back",1,"2",{"3":[true]}]',
    });
  });
});

describe('socket.io packet decoding (test suite frames, without the engine 4)', () => {
  it('reads CONNECT with and without namespace and payload', () => {
    expect(decoded('0{"token":"123"}')).toEqual({ type: 'CONNECT', nsp: '/', data: { token: '123' } });
    expect(decoded('0/custom,')).toEqual({ type: 'CONNECT', nsp: '/custom' });
    expect(decoded('0/custom')).toEqual({ type: 'CONNECT', nsp: '/custom' });
    expect(decoded('0/custom,{"token":"abc"}')).toEqual({ type: 'CONNECT', nsp: '/custom', data: { token: 'abc' } });
    expect(decoded('0/random')).toEqual({ type: 'CONNECT', nsp: '/random' });
  });

  it('reads events with arguments and ack ids', () => {
    expect(decoded('2["message",1,"2",{"3":[true]}]')).toEqual({
      type: 'EVENT',
      nsp: '/',
      data: ['message', 1, '2', { '3': [true] }],
    });
    expect(decoded('2456["message-with-ack",1,"2",{"3":[false]}]')).toEqual({
      type: 'EVENT',
      nsp: '/',
      id: 456,
      data: ['message-with-ack', 1, '2', { '3': [false] }],
    });
    expect(decoded('2/assistant/realtime,7["send_message",{"text":"hi"}]')).toEqual({
      type: 'EVENT',
      nsp: '/assistant/realtime',
      id: 7,
      data: ['send_message', { text: 'hi' }],
    });
  });

  it('accepts a number as event name, as socket.io-parser does', () => {
    expect(decoded('2[1,"x"]')).toEqual({ type: 'EVENT', nsp: '/', data: [1, 'x'] });
  });

  it('reads an ACK with an empty array and a CONNECT_ERROR with a string', () => {
    expect(decoded('312[]')).toEqual({ type: 'ACK', nsp: '/', id: 12, data: [] });
    expect(decoded('4"nope"')).toEqual({ type: 'CONNECT_ERROR', nsp: '/', data: 'nope' });
  });
});

describe('socket.io packet validation: a typed error, never a throw', () => {
  it('test suite "invalid format (unknown packet type)": 4abc carries abc', () => {
    expect(decodeError('abc').code).toBe('unknown-type');
    expect(decodeError('7[]').code).toBe('unknown-type');
    expect(decodeError(' ["x"]').code).toBe('unknown-type'); // the parser would read " " as 0
    expect(decodeError('').code).toBe('empty');
  });

  it('test suite "invalid format (invalid payload format)": 42{}', () => {
    expect(decodeError('2{}')).toMatchObject({ code: 'invalid-payload', nsp: '/' });
  });

  it('test suite "invalid format (invalid ack id)": 42abc[...]', () => {
    expect(decodeError('2abc["message-with-ack",1,"2",{"3":[false]}]').code).toBe('invalid-payload');
  });

  it('EVENT: a non-empty array whose first item is a name that is not reserved', () => {
    expect(decodeError('2[]').code).toBe('invalid-payload');
    expect(decodeError('2[{"a":1}]').code).toBe('invalid-payload');
    expect(decodeError('2"message"').code).toBe('invalid-payload');
    expect(decodeError('2').code).toBe('invalid-payload'); // the spec makes the payload mandatory
    expect(decodeError('2[1').code).toBe('invalid-payload');
    for (const name of RESERVED_EVENTS) {
      expect(decodeError(`2["${name}",1]`).code).toBe('invalid-payload');
    }
    expect(RESERVED_EVENTS).toEqual([
      'connect',
      'connect_error',
      'disconnect',
      'disconnecting',
      'newListener',
      'removeListener',
    ]);
  });

  it('ACK: an array', () => {
    expect(decodeError('31{}').code).toBe('invalid-payload');
    expect(decodeError('31').code).toBe('invalid-payload');
  });

  it('CONNECT: an object or nothing; DISCONNECT: nothing; CONNECT_ERROR: a string or an object', () => {
    expect(decodeError('0[]').code).toBe('invalid-payload');
    expect(decodeError('0"token"').code).toBe('invalid-payload');
    expect(decodeError('0null').code).toBe('invalid-payload');
    expect(decodeError('1{}').code).toBe('invalid-payload');
    expect(decodeError('1/admin,{}').code).toBe('invalid-payload');
    expect(decodeError('4[]').code).toBe('invalid-payload');
    expect(decodeError('4true').code).toBe('invalid-payload');
  });

  it('ack id: digits only, a safe integer, at most 15 digits', () => {
    expect(decoded('2999999999999999["x"]')).toMatchObject({ id: 999999999999999 });
    expect(decodeError('29999999999999999["x"]')).toMatchObject({ code: 'invalid-ack-id', nsp: '/' });
    expect(decodeError('2/a,9999999999999999999999["x"]')).toMatchObject({ code: 'invalid-ack-id', nsp: '/a' });
  });

  it('namespace: starts with /, ends at the comma, bounded, no control characters', () => {
    expect(decoded('2/a,["x"]')).toMatchObject({ nsp: '/a' });
    expect(decodeError('2/a,b,["x"]').code).toBe('invalid-payload');
    expect(decodeError(`2/${'n'.repeat(MAX_NAMESPACE_LENGTH)},["x"]`).code).toBe('invalid-namespace');
    expect(decoded(`2/${'n'.repeat(MAX_NAMESPACE_LENGTH - 1)},["x"]`)).toMatchObject({ type: 'EVENT' });
    expect(decodeError('2/a\x1eb,["x"]').code).toBe('invalid-namespace');
    expect(decodeError('2admin,["x"]').code).toBe('invalid-payload'); // no leading slash: not a namespace
  });

  it('refuses binary events and acks with a clear error that says what to skip', () => {
    expect(decodeError('51-["message",{"_placeholder":true,"num":0}]')).toEqual({
      code: 'binary-unsupported',
      message: 'binary attachments are not supported; send JSON only',
      nsp: '/',
      attachments: 1,
    });
    expect(
      decodeError('52-/admin,789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'),
    ).toMatchObject({ code: 'binary-unsupported', nsp: '/admin', id: 789, attachments: 2 });
    expect(decodeError('61-/admin,1[{"_placeholder":true,"num":0}]')).toMatchObject({
      code: 'binary-unsupported',
      nsp: '/admin',
      id: 1,
      attachments: 1,
    });
  });

  it('refuses illegal attachment counts (socket.io-parser: not a number, no dash, over 10)', () => {
    expect(decodeError('5-["x"]').code).toBe('invalid-attachments');
    expect(decodeError('5x-["x"]').code).toBe('invalid-attachments');
    expect(decodeError('5').code).toBe('invalid-attachments');
    expect(decodeError('511-["x"]').code).toBe('invalid-attachments');
    expect(decodeError('510-["x"]').code).toBe('binary-unsupported');
  });
});

describe('socket.io packet encoding refuses what a client would not decode', () => {
  const refusal = (packet: SocketPacket) => {
    const r = encodeSocketPacket(packet);
    return r.ok ? 'ok' : r.error.code;
  };

  it('refuses bad namespaces, ack ids and payloads', () => {
    expect(refusal({ type: 'EVENT', nsp: 'admin', data: ['x'] })).toBe('invalid-namespace');
    expect(refusal({ type: 'EVENT', nsp: '/a,b', data: ['x'] })).toBe('invalid-namespace');
    expect(refusal({ type: 'EVENT', nsp: '/', data: ['x'], id: -1 })).toBe('invalid-ack-id');
    expect(refusal({ type: 'EVENT', nsp: '/', data: ['x'], id: 1.5 })).toBe('invalid-ack-id');
    expect(refusal({ type: 'EVENT', nsp: '/', data: ['disconnect'] })).toBe('invalid-payload');
    expect(refusal({ type: 'EVENT', nsp: '/', data: [] })).toBe('invalid-payload');
    expect(encodeEvent('/', 'connect', []).ok).toBe(false);
  });
});
