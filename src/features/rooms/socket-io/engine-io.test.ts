// Engine.IO 4 packets and payloads. Expected strings are written by hand from
// socketio/socket.io docs/engine.io-protocol/v4-current.md and the v4 test suite, never produced by the encoder.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ENGINE_OPTIONS,
  createSessionId,
  decodePayload,
  decodeWsFrame,
  encodeOpenPacket,
  encodePayload,
  encodeWsFrame,
  engineErrorAnswer,
  handshakeData,
  routeEngineRequest,
  utf8Length,
  type EnginePacket,
} from './engine-io';

const bytes = (...values: number[]) => Uint8Array.from(values).buffer;
const MAX = 1_000_000;

function decodedFrame(frame: string | ArrayBuffer, max = MAX): EnginePacket {
  const r = decodeWsFrame(frame, max);
  if (!r.ok) throw new Error(`expected a packet, got ${r.error.code}`);
  return r.value;
}

function frameError(frame: string | ArrayBuffer, max = MAX): string {
  const r = decodeWsFrame(frame, max);
  if (r.ok) throw new Error('expected an error');
  return r.error.code;
}

describe('engine.io packets over WebSocket', () => {
  it('numbers the seven packet types 0 to 6', () => {
    expect(['0', '1', '2', '3', '4', '5', '6'].map((f) => decodedFrame(f).type)).toEqual([
      'open',
      'close',
      'ping',
      'pong',
      'message',
      'upgrade',
      'noop',
    ]);
  });

  it('encodes a text packet as <type><data> in one text frame', () => {
    expect(encodeWsFrame({ type: 'message', data: 'hello' })).toBe('4hello');
    expect(encodeWsFrame({ type: 'ping', data: 'probe' })).toBe('2probe');
    expect(encodeWsFrame({ type: 'pong', data: 'probe' })).toBe('3probe');
    expect(encodeWsFrame({ type: 'ping' })).toBe('2');
    expect(encodeWsFrame({ type: 'noop' })).toBe('6');
    expect(encodeWsFrame({ type: 'upgrade' })).toBe('5');
  });

  it('sends a binary message as the bytes themselves', () => {
    const frame = encodeWsFrame({ type: 'message', data: bytes(1, 2, 3, 4) });
    expect(frame).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(frame as ArrayBuffer)).toEqual(Uint8Array.from([1, 2, 3, 4]));
  });

  it('decodes text frames into type and data', () => {
    expect(decodedFrame('4hello')).toEqual({ type: 'message', data: 'hello' });
    expect(decodedFrame('2probe')).toEqual({ type: 'ping', data: 'probe' });
    expect(decodedFrame('3')).toEqual({ type: 'pong' });
    expect(decodedFrame('4')).toEqual({ type: 'message', data: '' });
  });

  it('decodes a binary frame as a binary message', () => {
    const packet = decodedFrame(bytes(1, 2, 3, 4));
    expect(packet.type).toBe('message');
    expect(new Uint8Array(packet.data as ArrayBuffer)).toEqual(Uint8Array.from([1, 2, 3, 4]));
  });

  it('returns a typed error for an empty frame, an unknown type and bad base64', () => {
    expect(frameError('')).toBe('empty');
    expect(frameError('abc')).toBe('unknown-type');
    expect(frameError('7')).toBe('unknown-type');
    expect(frameError('b!!!')).toBe('bad-base64');
  });

  it('refuses a frame over maxPayload, counted in UTF-8 bytes', () => {
    expect(decodedFrame('4' + 'x'.repeat(9), 10)).toEqual({ type: 'message', data: 'xxxxxxxxx' });
    expect(frameError('4' + 'x'.repeat(10), 10)).toBe('too-large');
    // 5 characters but 1 + 4 × 3 = 13 bytes.
    expect(frameError('4€€€€', 10)).toBe('too-large');
    expect(frameError(new ArrayBuffer(11), 10)).toBe('too-large');
    expect(decodedFrame(new ArrayBuffer(10), 10).type).toBe('message');
  });

  it('counts UTF-8 bytes as Buffer.byteLength does', () => {
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('😀')).toBe(4);
    expect(utf8Length('abc')).toBe(3);
  });
});

describe('engine.io payloads over HTTP long-polling', () => {
  it('joins packets with the record separator \\x1e', () => {
    const packets: EnginePacket[] = [
      { type: 'message', data: 'test1' },
      { type: 'message', data: 'test2' },
      { type: 'message', data: 'test3' },
    ];
    expect(encodePayload(packets)).toBe('4test1\x1e4test2\x1e4test3');
  });

  it('writes a binary packet as b + base64', () => {
    expect(
      encodePayload([
        { type: 'message', data: 'hello' },
        { type: 'message', data: bytes(1, 2, 3, 4) },
      ]),
    ).toBe('4hello\x1ebAQIDBA==');
  });

  it('decodes the spec example 4hello\\x1e2\\x1e4world', () => {
    const r = decodePayload('4hello\x1e2\x1e4world', MAX);
    expect(r).toEqual({
      ok: true,
      value: [{ type: 'message', data: 'hello' }, { type: 'ping' }, { type: 'message', data: 'world' }],
    });
  });

  it('decodes text and base64 binary packets of one payload', () => {
    const r = decodePayload('4hello\x1ebAQIDBA==', MAX);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value[0]).toEqual({ type: 'message', data: 'hello' });
    expect(new Uint8Array(r.value[1]?.data as ArrayBuffer)).toEqual(Uint8Array.from([1, 2, 3, 4]));
  });

  it('accepts unpadded base64 as Node does, and refuses broken base64', () => {
    const r = decodePayload('bAQIDBA', MAX);
    if (!r.ok) throw new Error(r.error.message);
    expect(new Uint8Array(r.value[0]?.data as ArrayBuffer)).toEqual(Uint8Array.from([1, 2, 3, 4]));
    // atob alone strips whitespace and would accept 'bAQ ID BA'; engine.io-client never sends any.
    for (const bad of ['bAQ=D', 'bA', 'bAQID*A==', 'bAQIDBA===', 'bAQ ID BA', 'bAQ-D_A==']) {
      const e = decodePayload(bad, MAX);
      expect(e.ok ? 'ok' : e.error.code).toBe('bad-base64');
    }
  });

  it('refuses the whole payload on one bad packet, with a typed error', () => {
    const cases: [string, string][] = [
      ['', 'empty'],
      ['4a\x1e\x1e4b', 'empty'],
      ['abc', 'unknown-type'],
      ['4hello\x1e9', 'unknown-type'],
    ];
    for (const [body, code] of cases) {
      const r = decodePayload(body, MAX);
      expect(r.ok ? 'ok' : r.error.code).toBe(code);
    }
  });

  it('refuses a payload over maxPayload bytes', () => {
    expect(decodePayload('4' + 'x'.repeat(9), 10).ok).toBe(true);
    const r = decodePayload('4' + 'x'.repeat(10), 10);
    expect(r.ok ? 'ok' : r.error.code).toBe('too-large');
    const multibyte = decodePayload('4€€€€', 10);
    expect(multibyte.ok ? 'ok' : multibyte.error.code).toBe('too-large');
  });
});

describe('engine.io handshake', () => {
  it('opens a polling session with the websocket upgrade and the default timings', () => {
    expect(encodeOpenPacket(handshakeData('lv_VI97HAXpY6yYWAAAC', 'polling', DEFAULT_ENGINE_OPTIONS))).toBe(
      '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
    );
  });

  it('opens a WebSocket session with no upgrade (v4 test suite: upgrades eql [])', () => {
    const open = encodeOpenPacket(
      handshakeData('abc', 'websocket', { ...DEFAULT_ENGINE_OPTIONS, pingInterval: 300, pingTimeout: 200 }),
    );
    expect(open).toBe('0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}');
  });

  it('makes random, URL-safe session ids', () => {
    const ids = new Set(Array.from({ length: 50 }, () => createSessionId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{20}$/);
  });
});

describe('engine.io request errors', () => {
  it('answers with engine.io error codes and messages', () => {
    expect(engineErrorAnswer(0)).toEqual({
      status: 400,
      contentType: 'application/json',
      body: '{"code":0,"message":"Transport unknown"}',
    });
    expect(engineErrorAnswer(1).body).toBe('{"code":1,"message":"Session ID unknown"}');
    expect(engineErrorAnswer(2).body).toBe('{"code":2,"message":"Bad handshake method"}');
    expect(engineErrorAnswer(3).body).toBe('{"code":3,"message":"Bad request"}');
    expect(engineErrorAnswer(4)).toEqual({
      status: 403,
      contentType: 'application/json',
      body: '{"code":4,"message":"Forbidden"}',
    });
    expect(engineErrorAnswer(5).body).toBe('{"code":5,"message":"Unsupported protocol version"}');
  });

  const route = (query: string, method = 'GET', websocket = false) =>
    routeEngineRequest({ method, query: new URLSearchParams(query), websocket });
  const refusal = (query: string, method = 'GET', websocket = false) => {
    const r = route(query, method, websocket);
    if (r.ok) throw new Error(`expected a refusal for ${method} ?${query}`);
    return `${r.error.status} ${r.error.body}`;
  };

  it('test suite "fails with an invalid EIO query parameter" (polling and WebSocket)', () => {
    expect(refusal('transport=polling')).toBe('400 {"code":5,"message":"Unsupported protocol version"}');
    expect(refusal('EIO=abc&transport=polling')).toBe('400 {"code":5,"message":"Unsupported protocol version"}');
    expect(refusal('EIO=3&transport=polling')).toBe('400 {"code":5,"message":"Unsupported protocol version"}');
    expect(refusal('transport=websocket', 'GET', true)).toBe('400 {"code":5,"message":"Unsupported protocol version"}');
  });

  it('test suite "fails with an invalid transport query parameter"', () => {
    expect(refusal('EIO=4')).toBe('400 {"code":0,"message":"Transport unknown"}');
    expect(refusal('EIO=4&transport=abc')).toBe('400 {"code":0,"message":"Transport unknown"}');
    expect(refusal('EIO=4', 'GET', true)).toBe('400 {"code":0,"message":"Transport unknown"}');
  });

  it('test suite "fails with an invalid request method": a handshake is GET only', () => {
    expect(refusal('EIO=4&transport=polling', 'POST')).toBe('400 {"code":2,"message":"Bad handshake method"}');
    expect(refusal('EIO=4&transport=polling', 'PUT')).toBe('400 {"code":2,"message":"Bad handshake method"}');
  });

  it('refuses a websocket transport that is not a WebSocket request', () => {
    expect(refusal('EIO=4&transport=websocket')).toBe('400 {"code":3,"message":"Bad request"}');
    expect(refusal('EIO=4&transport=websocket&sid=abc')).toBe('400 {"code":3,"message":"Bad request"}');
    expect(refusal('EIO=4&transport=polling&sid=abc', 'GET', true)).toBe('400 {"code":3,"message":"Bad request"}');
    expect(refusal('EIO=4&transport=polling&sid=abc', 'PUT')).toBe('400 {"code":3,"message":"Bad request"}');
  });

  it('answers a malformed sid as unknown', () => {
    expect(refusal('EIO=4&transport=polling&sid=a%2Fb')).toBe('400 {"code":1,"message":"Session ID unknown"}');
    expect(refusal(`EIO=4&transport=polling&sid=${'a'.repeat(65)}`)).toBe(
      '400 {"code":1,"message":"Session ID unknown"}',
    );
  });

  it('routes handshakes and session requests', () => {
    expect(route('EIO=4&transport=polling')).toEqual({ ok: true, value: { kind: 'handshake', transport: 'polling' } });
    expect(route('EIO=4&transport=websocket', 'GET', true)).toEqual({
      ok: true,
      value: { kind: 'handshake', transport: 'websocket' },
    });
    expect(route('EIO=4&transport=polling&sid=s_1-x', 'get')).toEqual({
      ok: true,
      value: { kind: 'poll', sid: 's_1-x' },
    });
    expect(route('EIO=4&transport=polling&sid=s1', 'POST')).toEqual({ ok: true, value: { kind: 'post', sid: 's1' } });
    expect(route('EIO=4&transport=websocket&sid=s1', 'GET', true)).toEqual({
      ok: true,
      value: { kind: 'upgrade', sid: 's1' },
    });
  });
});
