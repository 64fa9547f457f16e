// A Socket.IO connection over an Engine.IO session. The "Socket.IO protocol" cases of socketio/socket.io
// docs/socket.io-protocol/v5-test-suite/test-suite.js translated into pure calls: the test server there echoes
// the CONNECT payload as an "auth" event and answers "message" with "message-back", which the tests below do by
// hand through emit/ack. Every expected frame is written by hand from the spec.
import { describe, expect, it } from 'vitest';
import { SocketIoConnection, type ConnectionStep, type SocketIoOptions } from './socket-io-connection';
import type { JsonValue } from './result';

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

function connection(transport: 'polling' | 'websocket' = 'websocket', options: Partial<SocketIoOptions> = {}) {
  let n = 0;
  return SocketIoConnection.create({
    transport,
    now: 0,
    sid: 'engine1',
    engineOptions: { pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT },
    options: { namespaces: ['/', '/custom'], generateId: () => `sock${++n}`, ...options },
  }).connection;
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } | string }): T {
  if (!r.ok) throw new Error(typeof r.error === 'string' ? r.error : r.error.message);
  return r.value;
}

/** Receives a client's CONNECT and accepts it, as a test server that allows every namespace. */
function join(c: SocketIoConnection, frame: string, now = 1): ConnectionStep {
  const step = c.websocketMessage(frame, now);
  const request = step.events.find((e) => e.kind === 'connect-request');
  if (!request || request.kind !== 'connect-request') throw new Error(`no connect-request for ${frame}`);
  return c.acceptNamespace(request.nsp, now);
}

/** The test-suite server: on connection, emit("auth", socket.handshake.auth). */
function echoAuth(c: SocketIoConnection, frame: string): string[] {
  const step = c.websocketMessage(frame, 1);
  const request = step.events[0];
  if (request?.kind !== 'connect-request') throw new Error('expected a connect-request');
  const accepted = c.acceptNamespace(request.nsp, 1);
  const auth = unwrap(c.emit(request.nsp, 'auth', [request.auth], 1));
  return [...accepted.wsFrames, ...auth.wsFrames] as string[];
}

/** initSocketIOConnection() of the test suite: a WebSocket session joined to the main namespace. */
function connected(options: Partial<SocketIoOptions> = {}) {
  const c = connection('websocket', options);
  join(c, '40');
  return c;
}

describe('connect (v5 test suite)', () => {
  it('"should allow connection to the main namespace"', () => {
    const c = connection();
    expect(echoAuth(c, '40')).toEqual(['40{"sid":"sock1"}', '42["auth",{}]']);
    expect(c.socketId('/')).toBe('sock1');
  });

  it('"should allow connection to the main namespace with a payload"', () => {
    expect(echoAuth(connection(), '40{"token":"123"}')).toEqual(['40{"sid":"sock1"}', '42["auth",{"token":"123"}]']);
  });

  it('"should allow connection to a custom namespace"', () => {
    expect(echoAuth(connection(), '40/custom,')).toEqual(['40/custom,{"sid":"sock1"}', '42/custom,["auth",{}]']);
  });

  it('"should allow connection to a custom namespace with a payload"', () => {
    expect(echoAuth(connection(), '40/custom,{"token":"abc"}')).toEqual([
      '40/custom,{"sid":"sock1"}',
      '42/custom,["auth",{"token":"abc"}]',
    ]);
  });

  it('"should disallow connection to an unknown namespace"', () => {
    const c = connection();
    const step = c.websocketMessage('40/random', 1);
    expect(step.wsFrames).toEqual(['44/random,{"message":"Invalid namespace"}']);
    expect(step.events).toEqual([]);
    expect(c.open).toBe(true);
  });

  it('"should disallow connection with an invalid handshake": 4abc closes', () => {
    const c = connection();
    const step = c.websocketMessage('4abc', 1);
    expect(step.events[0]).toMatchObject({ kind: 'invalid', error: { code: 'unknown-type' } });
    expect(step.wsClose).toMatchObject({ code: 1000 });
    expect(step.closed).toBe('forced close');
  });

  it('"should close the connection if no handshake is received" (connectTimeout)', () => {
    const c = connection('websocket', { connectTimeout: 1000 });
    expect(c.nextDeadline()).toBe(PING_INTERVAL);
    c.onTimer(PING_INTERVAL);
    c.websocketMessage('3', PING_INTERVAL + 1);
    c.onTimer(2 * PING_INTERVAL + 1);
    c.websocketMessage('3', 2 * PING_INTERVAL + 2);
    c.onTimer(3 * PING_INTERVAL + 2);
    c.websocketMessage('3', 3 * PING_INTERVAL + 3);
    expect(c.nextDeadline()).toBe(1000);
    const step = c.onTimer(1000);
    expect(step.closed).toBe('forced close');
    expect(step.wsClose).toMatchObject({ code: 1000 });
  });

  it('a joined namespace cancels the connect timeout', () => {
    const c = connection('websocket', { connectTimeout: 1000 });
    join(c, '40');
    expect(c.nextDeadline()).toBe(PING_INTERVAL);
    c.onTimer(PING_INTERVAL);
    c.websocketMessage('3', 1000);
    expect(c.onTimer(1000).closed).toBeNull();
  });
});

describe('connect with authorization decided by the caller', () => {
  it('hands the auth payload over and answers a refusal with 44 and the message', () => {
    const c = connection();
    const step = c.websocketMessage('40/custom,{"token":"bad"}', 1);
    expect(step.events).toEqual([{ kind: 'connect-request', nsp: '/custom', auth: { token: 'bad' } }]);
    expect(step.wsFrames).toEqual([]); // nothing until the caller decides
    expect(c.refuseNamespace('/custom', 'Not authorized', 2).wsFrames).toEqual([
      '44/custom,{"message":"Not authorized"}',
    ]);
    expect(c.socketId('/custom')).toBeNull();
    expect(c.open).toBe(true);
  });

  it('refuses on the main namespace with data, as a socket.io middleware error', () => {
    const c = connection();
    c.websocketMessage('40', 1);
    expect(c.refuseNamespace('/', 'Not authorized', 2, { code: 'AUTHENTICATION_REQUIRED' }).wsFrames).toEqual([
      '44{"message":"Not authorized","data":{"code":"AUTHENTICATION_REQUIRED"}}',
    ]);
  });

  it('gives each namespace its own socket id, distinct from the engine sid', () => {
    const { connection: c } = SocketIoConnection.create({
      transport: 'websocket',
      now: 0,
      options: { namespaces: ['/', '/assistant/realtime'] },
    });
    c.websocketMessage('40', 1);
    c.websocketMessage('40/assistant/realtime,', 1);
    const a = c.acceptNamespace('/', 2);
    const b = c.acceptNamespace('/assistant/realtime', 2);
    expect(a.socketId).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(new Set([a.socketId, b.socketId, c.sid]).size).toBe(3);
    expect(a.wsFrames).toEqual([`40{"sid":"${a.socketId}"}`]);
    expect(b.wsFrames).toEqual([`40/assistant/realtime,{"sid":"${b.socketId}"}`]);
  });

  it('accepts or refuses only a CONNECT that is pending', () => {
    const c = connection();
    expect(c.acceptNamespace('/', 1)).toMatchObject({ socketId: null, wsFrames: [] });
    expect(c.refuseNamespace('/', 'no', 1).wsFrames).toEqual([]);
  });

  it('asks once for a CONNECT repeated while the first waits', () => {
    const c = connection();
    expect(c.websocketMessage('40', 1).events).toHaveLength(1);
    expect(c.websocketMessage('40', 2).events).toEqual([]);
    expect(c.acceptNamespace('/', 3).wsFrames).toEqual(['40{"sid":"sock1"}']);
  });

  it('closes on a CONNECT to a namespace already joined (socket.io "invalid state")', () => {
    const c = connected();
    const step = c.websocketMessage('40', 2);
    expect(step.events[0]).toMatchObject({ kind: 'invalid', error: { code: 'invalid-state' } });
    expect(step.closed).toBe('forced close');
  });
});

describe('disconnect (v5 test suite)', () => {
  it('"should disconnect from the main namespace": 41, then the next frame is a ping', () => {
    const c = connected();
    const step = c.websocketMessage('41', 2);
    expect(step.events).toEqual([
      { kind: 'disconnect', nsp: '/', socketId: 'sock1', reason: 'client namespace disconnect' },
    ]);
    expect(step.wsFrames).toEqual([]);
    expect(c.open).toBe(true);
    expect(c.onTimer(PING_INTERVAL).wsFrames).toEqual(['2']);
  });

  it('"should connect then disconnect from a custom namespace"', () => {
    const c = connected();
    expect(join(c, '40/custom', 2).wsFrames).toEqual(['40/custom,{"sid":"sock2"}']);
    expect(c.websocketMessage('41/custom', 3).events).toEqual([
      { kind: 'disconnect', nsp: '/custom', socketId: 'sock2', reason: 'client namespace disconnect' },
    ]);
    const step = c.websocketMessage('42["message","message to main namespace"]', 4);
    expect(step.events).toEqual([
      { kind: 'event', nsp: '/', socketId: 'sock1', name: 'message', args: ['message to main namespace'], ackId: null },
    ]);
    expect(unwrap(c.emit('/', 'message-back', ['message to main namespace'], 4)).wsFrames).toEqual([
      '42["message-back","message to main namespace"]',
    ]);
  });

  it('the server leaves a namespace with 41<nsp>, and the connection stays', () => {
    const c = connected();
    join(c, '40/custom,', 2);
    const step = c.disconnectNamespace('/custom', 3);
    expect(step.wsFrames).toEqual(['41/custom,']);
    expect(step.events).toEqual([
      { kind: 'disconnect', nsp: '/custom', socketId: 'sock2', reason: 'server namespace disconnect' },
    ]);
    expect(c.namespaces()).toEqual(['/']);
    expect(c.disconnectNamespace('/custom', 4).wsFrames).toEqual([]);
  });

  it('the server closes the connection: 41 per namespace, then the socket', () => {
    const c = connected();
    join(c, '40/custom,', 2);
    const step = c.close(3);
    expect(step.wsFrames).toEqual(['41', '41/custom,']);
    expect(step.wsClose).toEqual({ code: 1000, reason: 'forced close' });
    expect(step.events).toEqual([
      { kind: 'disconnect', nsp: '/', socketId: 'sock1', reason: 'server namespace disconnect' },
      { kind: 'disconnect', nsp: '/custom', socketId: 'sock2', reason: 'server namespace disconnect' },
      { kind: 'closed', reason: 'forced close' },
    ]);
    expect(c.finished).toBe(true);
  });

  it('a transport close or ping timeout disconnects every namespace with that reason', () => {
    const c = connected();
    expect(c.websocketClosed(2).events).toEqual([
      { kind: 'disconnect', nsp: '/', socketId: 'sock1', reason: 'transport close' },
      { kind: 'closed', reason: 'transport close' },
    ]);
    const d = connected();
    d.onTimer(PING_INTERVAL);
    expect(d.onTimer(PING_INTERVAL + PING_TIMEOUT).events).toEqual([
      { kind: 'disconnect', nsp: '/', socketId: 'sock1', reason: 'ping timeout' },
      { kind: 'closed', reason: 'ping timeout' },
    ]);
  });
});

describe('message (v5 test suite)', () => {
  it('"should send a plain-text packet"', () => {
    const c = connected();
    const [event] = c.websocketMessage('42["message",1,"2",{"3":[true]}]', 2).events;
    expect(event).toEqual({
      kind: 'event',
      nsp: '/',
      socketId: 'sock1',
      name: 'message',
      args: [1, '2', { '3': [true] }],
      ackId: null,
    });
    const args = event?.kind === 'event' ? event.args : [];
    expect(unwrap(c.emit('/', 'message-back', args, 2)).wsFrames).toEqual(['42["message-back",1,"2",{"3":[true]}]']);
  });

  it('"should send a plain-text packet with an ack"', () => {
    const c = connected();
    const [event] = c.websocketMessage('42456["message-with-ack",1,"2",{"3":[false]}]', 2).events;
    expect(event).toMatchObject({ kind: 'event', name: 'message-with-ack', ackId: 456 });
    if (event?.kind !== 'event' || event.ackId === null) throw new Error('expected an event with an ack id');
    expect(unwrap(c.ack('/', event.ackId, event.args, 3)).wsFrames).toEqual(['43456[1,"2",{"3":[false]}]']);
  });

  it('"should send a packet with binary attachments": refused with an error, attachments swallowed, no close', () => {
    const c = connected();
    const step = c.websocketMessage('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', 2);
    expect(step.events).toEqual([
      {
        kind: 'invalid',
        nsp: '/',
        error: { code: 'binary-unsupported', message: 'binary attachments are not supported; send JSON only' },
      },
    ]);
    expect(c.websocketMessage(Uint8Array.from([1, 2, 3]).buffer, 3).events).toEqual([]);
    expect(c.websocketMessage(Uint8Array.from([4, 5, 6]).buffer, 3).events).toEqual([]);
    expect(c.open).toBe(true);
    expect(c.websocketMessage('42["after"]', 4).events[0]).toMatchObject({ kind: 'event', name: 'after' });
  });

  it('"… binary attachments and an ack": the refusal names the namespace', () => {
    const c = connected();
    join(c, '40/custom,', 2);
    const step = c.websocketMessage('452-/custom,789["message-with-ack",{"_placeholder":true,"num":0}]', 3);
    expect(step.events[0]).toMatchObject({ kind: 'invalid', nsp: '/custom', error: { code: 'binary-unsupported' } });
  });

  it('a binary frame nobody announced closes the connection (socket.io-parser)', () => {
    const c = connected();
    const step = c.websocketMessage(Uint8Array.from([1]).buffer, 2);
    expect(step.events[0]).toMatchObject({ kind: 'invalid', error: { code: 'unexpected-binary' } });
    expect(step.closed).toBe('forced close');
  });

  it('text where announced attachments were due closes the connection', () => {
    const c = connected();
    c.websocketMessage('451-["message",{"_placeholder":true,"num":0}]', 2);
    const step = c.websocketMessage('42["x"]', 3);
    expect(step.events[0]).toMatchObject({ kind: 'invalid', error: { code: 'missing-attachments' } });
    expect(step.closed).toBe('forced close');
  });

  it.each([
    ['unknown packet type', '4abc', 'unknown-type'],
    ['invalid payload format', '42{}', 'invalid-payload'],
    ['invalid ack id', '42abc["message-with-ack",1,"2",{"3":[false]}]', 'invalid-payload'],
  ])('"should close the connection upon invalid format (%s)"', (_name, frame, code) => {
    const c = connected();
    const step = c.websocketMessage(frame, 2);
    expect(step.events[0]).toMatchObject({ kind: 'invalid', error: { code } });
    expect(step.events.slice(1)).toEqual([
      { kind: 'disconnect', nsp: '/', socketId: 'sock1', reason: 'forced close' },
      { kind: 'closed', reason: 'forced close' },
    ]);
    expect(step.wsClose).toMatchObject({ code: 1000 });
  });

  it("with invalidPackets 'report', a bad packet is reported and the connection stays", () => {
    const c = connected({ invalidPackets: 'report' });
    const step = c.websocketMessage('42{}', 2);
    expect(step.events).toEqual([
      { kind: 'invalid', nsp: '/', error: { code: 'invalid-payload', message: 'invalid payload' } },
    ]);
    expect(step.closed).toBeNull();
    expect(c.websocketMessage('42["ok"]', 3).events[0]).toMatchObject({ kind: 'event', name: 'ok' });
  });

  it('a packet for a namespace the client has not joined closes (socket.io "invalid state")', () => {
    const c = connected();
    const step = c.websocketMessage('42/custom,["x"]', 2);
    expect(step.events[0]).toEqual({
      kind: 'invalid',
      nsp: '/custom',
      error: { code: 'invalid-state', message: 'not connected to /custom' },
    });
    expect(step.closed).toBe('forced close');
    const r = connected({ invalidPackets: 'report' });
    expect(r.websocketMessage('42/custom,["x"]', 2).closed).toBeNull();
  });

  it('a number as event name is dispatched as its string', () => {
    const c = connected();
    expect(c.websocketMessage('42[7,"x"]', 2).events[0]).toMatchObject({ kind: 'event', name: '7', args: ['x'] });
  });
});

describe('acks of server emits', () => {
  it('round trip: 42<id>[...] out, 43<id>[...] back, once', () => {
    const c = connected();
    const sent = unwrap(c.emit('/', 'question', ['q'], 2, { ack: true }));
    expect(sent).toMatchObject({ ackId: 0, wsFrames: ['420["question","q"]'] });
    expect(unwrap(c.emit('/', 'question', ['r'], 2, { ack: true })).wsFrames).toEqual(['421["question","r"]']);
    expect(c.websocketMessage('430["answer"]', 3).events).toEqual([
      { kind: 'ack', nsp: '/', socketId: 'sock1', id: 0, args: ['answer'] },
    ]);
    expect(c.websocketMessage('430["again"]', 4).events).toEqual([]); // already answered
    expect(c.websocketMessage('4399[]', 4).events).toEqual([]); // never asked
    expect(c.open).toBe(true);
  });

  it('forgets the oldest awaited acks beyond maxPendingAcks', () => {
    const c = connected({ maxPendingAcks: 2 });
    for (let i = 0; i < 3; i++) unwrap(c.emit('/', 'q', [], 2, { ack: true }));
    expect(c.websocketMessage('430[]', 3).events).toEqual([]);
    expect(c.websocketMessage('432[]', 3).events).toHaveLength(1);
  });

  it('refuses emits to a namespace not joined and reserved event names', () => {
    const c = connected();
    expect(c.emit('/custom', 'x', [], 2)).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    expect(c.emit('/', 'disconnect', [], 2)).toMatchObject({ ok: false, error: { code: 'reserved-event' } });
    expect(c.ack('/custom', 1, [], 2)).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    expect(c.emit('/', 'error', [{ code: 'X' }], 2)).toMatchObject({ ok: true }); // 'error' is not reserved
  });

  it('sends packets encoded once for a broadcast', () => {
    const c = connected();
    expect(c.sendEncoded(['2["message_received",{"text":"hi"}]'], 2).wsFrames).toEqual([
      '42["message_received",{"text":"hi"}]',
    ]);
  });
});

describe('over HTTP long-polling with the upgrade (v5 spec "Sample session")', () => {
  it('handshake, CONNECT by POST, answers by GET, events both ways, then upgrade and a second namespace', () => {
    const { connection: c, openPacket } = SocketIoConnection.create({
      transport: 'polling',
      now: 0,
      sid: 'lv_VI97HAXpY6yYWAAAC',
      engineOptions: { pingTimeout: 5000 },
      options: {
        namespaces: ['/', '/admin'],
        generateId: (() => {
          const ids = ['wZX3oN0bSVIhsaknAAAI', '-G5j-67EZFp-q59rADQM'];
          return () => ids.shift() ?? 'x';
        })(),
      },
    });
    expect(openPacket).toBe(
      '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}',
    );
    const post = c.pollingPost('40', 'text/plain;charset=UTF-8', 1);
    expect(post.answer).toMatchObject({ status: 200, body: 'ok' });
    expect(post.events).toEqual([{ kind: 'connect-request', nsp: '/', auth: {} }]);
    c.acceptNamespace('/', 2);
    expect(c.pollingGet(3).answer).toMatchObject({ body: '40{"sid":"wZX3oN0bSVIhsaknAAAI"}' });
    expect(c.pollingGet(4).answer).toBe('hold');
    expect(unwrap(c.emit('/', 'hey', ['Jude'], 5)).pollAnswer).toBe('42["hey","Jude"]');
    const events = c.pollingPost('42["hello"]\x1e42["world"]', null, 6).events;
    expect(events.map((e) => (e.kind === 'event' ? e.name : e.kind))).toEqual(['hello', 'world']);

    expect(c.websocketUpgrade(7)).toEqual({ ok: true, value: null });
    expect(c.websocketMessage('2probe', 8).wsFrames).toEqual(['3probe']);
    c.websocketMessage('5', 9);
    expect(c.transport).toBe('websocket');
    expect(c.websocketMessage('42["hello"]', 10).events[0]).toMatchObject({ kind: 'event', name: 'hello' });
    const admin = c.websocketMessage('40/admin,', 11);
    expect(admin.events).toEqual([{ kind: 'connect-request', nsp: '/admin', auth: {} }]);
    expect(c.acceptNamespace('/admin', 12).wsFrames).toEqual(['40/admin,{"sid":"-G5j-67EZFp-q59rADQM"}']);
    expect(c.websocketMessage('42/admin,1["tellme"]', 13).events[0]).toMatchObject({
      nsp: '/admin',
      name: 'tellme',
      ackId: 1,
    });
    expect(c.pollingGet(14).answer).toMatchObject({ status: 400 });
  });

  it('a server close while no GET is held: the next GET gets the DISCONNECT and 1', () => {
    const c = connection('polling');
    c.pollingPost('40', null, 1);
    c.acceptNamespace('/', 1);
    expect(c.pollingGet(2).answer).toMatchObject({ body: '40{"sid":"sock1"}' });
    expect(c.close(3).closed).toBe('forced close');
    expect(c.pollingGet(4).answer).toMatchObject({ status: 200, body: '41\x1e1' });
    expect(c.finished).toBe(true);
  });

  it('a POST that closes the session reports the disconnects and answers the held GET with 6', () => {
    const c = connection('polling');
    c.pollingPost('40', null, 1);
    c.acceptNamespace('/', 1);
    c.pollingGet(2);
    expect(c.pollingGet(3).answer).toBe('hold');
    const step = c.pollingPost('1', null, 4);
    expect(step.pollAnswer).toBe('6');
    expect(step.events).toEqual([
      { kind: 'disconnect', nsp: '/', socketId: 'sock1', reason: 'transport close' },
      { kind: 'closed', reason: 'transport close' },
    ]);
  });
});

describe('persistence (hibernation)', () => {
  it('continues after a JSON round trip with its namespaces, awaited acks and deadlines', () => {
    const c = connected();
    unwrap(c.emit('/', 'q', [], 2, { ack: true }));
    const stored: unknown = JSON.parse(JSON.stringify(c));
    const revived = unwrap(SocketIoConnection.fromJSON(stored, { namespaces: ['/', '/custom'] }));
    expect(revived.socketId('/')).toBe('sock1');
    expect(revived.nextDeadline()).toBe(PING_INTERVAL);
    expect(revived.websocketMessage('430[true]', 3).events).toEqual([
      { kind: 'ack', nsp: '/', socketId: 'sock1', id: 0, args: [true] },
    ]);
    expect(revived.onTimer(PING_INTERVAL).wsFrames).toEqual(['2']);
  });

  it('keeps a pending CONNECT across hibernation', () => {
    const c = connection();
    c.websocketMessage('40', 1);
    const revived = unwrap(SocketIoConnection.fromJSON(JSON.parse(JSON.stringify(c)), { generateId: () => 'later' }));
    expect(revived.acceptNamespace('/', 2).wsFrames).toEqual(['40{"sid":"later"}']);
  });

  it('fits a WebSocket attachment (2,048 bytes) with two namespaces and their awaited acks', () => {
    const c = SocketIoConnection.create({
      transport: 'websocket',
      now: Date.now(),
      options: { namespaces: ['/', '/assistant/realtime'] },
    }).connection;
    for (const frame of ['40', '40/assistant/realtime,{"token":"x"}']) c.websocketMessage(frame, Date.now());
    c.acceptNamespace('/', Date.now());
    c.acceptNamespace('/assistant/realtime', Date.now());
    const args: JsonValue[] = [];
    for (let i = 0; i < 32; i++) {
      unwrap(c.emit('/', 'q', args, Date.now(), { ack: true }));
      unwrap(c.emit('/assistant/realtime', 'q', args, Date.now(), { ack: true }));
    }
    expect(new TextEncoder().encode(JSON.stringify(c)).byteLength).toBeLessThan(2048);
  });

  it('refuses a stored value that is not a connection', () => {
    expect(SocketIoConnection.fromJSON('x').ok).toBe(false);
    const state = connected().toJSON();
    expect(SocketIoConnection.fromJSON({ ...state, sockets: { nope: { id: 'a', nextAckId: 0, acks: [] } } }).ok).toBe(
      false,
    );
    expect(SocketIoConnection.fromJSON({ ...state, skipBinary: 11 }).ok).toBe(false);
    expect(SocketIoConnection.fromJSON({ ...state, engine: { ...state.engine, pollHeld: 'yes' } }).ok).toBe(false);
  });
});
