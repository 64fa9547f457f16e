// The Engine.IO session state machine. Cases of socketio/socket.io docs/engine.io-protocol/v4-test-suite/
// test-suite.js translated into pure calls (times are explicit; PING_INTERVAL 300, PING_TIMEOUT 200 as there);
// every expected body or frame is written by hand from the spec.
import { describe, expect, it } from 'vitest';
import { EngineSession, type EngineHttpStep, type EngineStep } from './engine-session';

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const UNKNOWN_SID = { status: 400, contentType: 'application/json', body: '{"code":1,"message":"Session ID unknown"}' };
const BAD_REQUEST = { status: 400, contentType: 'application/json', body: '{"code":3,"message":"Bad request"}' };
const TEXT = 'text/plain; charset=UTF-8';

function session(transport: 'polling' | 'websocket' = 'polling', now = 0, options = {}) {
  return EngineSession.create({
    transport,
    now,
    sid: 'sid1',
    options: { pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT, ...options },
  });
}

/** The body of a 200 answer; fails on anything else. */
function body(step: EngineHttpStep): string {
  if (step.answer === 'hold') throw new Error('expected an answer, got hold');
  expect(step.answer.status).toBe(200);
  expect(step.answer.contentType).toBe(TEXT);
  return step.answer.body;
}

const texts = (step: EngineStep) => step.messages.map((m) => (typeof m === 'string' ? m : [...new Uint8Array(m)]));

describe('handshake', () => {
  it('test suite "successfully opens a session" over polling', () => {
    const { session: s, openPacket } = session();
    expect(openPacket).toBe(
      '0{"sid":"sid1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}',
    );
    expect(s.sid).toBe('sid1');
    expect(s.transport).toBe('polling');
  });

  it('test suite "successfully opens a session" over WebSocket: no upgrades', () => {
    expect(session('websocket').openPacket).toBe(
      '0{"sid":"sid1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}',
    );
  });

  it('uses engine.io defaults 25000 / 20000 / 1e6 and a random URL-safe sid', () => {
    const { session: s, openPacket } = EngineSession.create({ transport: 'polling', now: 0 });
    expect(s.sid).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(JSON.parse(openPacket.slice(1))).toEqual({
      sid: s.sid,
      upgrades: ['websocket'],
      pingInterval: 25000,
      pingTimeout: 20000,
      maxPayload: 1000000,
    });
  });
});

describe('messages over HTTP long-polling', () => {
  it('test suite "sends and receives a payload containing one plain text packet"', () => {
    const { session: s } = session();
    const post = s.pollingPost('4hello', 'text/plain;charset=UTF-8', 1);
    expect(post.answer).toEqual({ status: 200, contentType: TEXT, body: 'ok' });
    expect(texts(post)).toEqual(['hello']);
    expect(s.send(['hello'], 0)).toMatchObject({ pollAnswer: null, wsFrames: [] }); // queued: no GET held
    expect(body(s.pollingGet(2))).toBe('4hello');
  });

  it('test suite "… several plain text packets"', () => {
    const { session: s } = session();
    const post = s.pollingPost('4test1\x1e4test2\x1e4test3', null, 1);
    expect(body(post)).toBe('ok');
    expect(texts(post)).toEqual(['test1', 'test2', 'test3']);
    s.send(['test1', 'test2', 'test3'], 0);
    expect(body(s.pollingGet(2))).toBe('4test1\x1e4test2\x1e4test3');
  });

  it('test suite "… plain text and binary packets"', () => {
    const { session: s } = session();
    const post = s.pollingPost('4hello\x1ebAQIDBA==', null, 1);
    expect(texts(post)).toEqual(['hello', [1, 2, 3, 4]]);
    s.send(post.messages, 0);
    expect(body(s.pollingGet(2))).toBe('4hello\x1ebAQIDBA==');
  });

  it('holds a GET with nothing to send and answers it with the next packets', () => {
    const { session: s } = session();
    expect(s.pollingGet(1).answer).toBe('hold');
    expect(s.pollHeld).toBe(true);
    const sent = s.send(['a', 'b'], 0);
    expect(sent.pollAnswer).toBe('4a\x1e4b');
    expect(s.pollHeld).toBe(false);
    // The next packet waits for the next GET.
    expect(s.send(['c'], 0).pollAnswer).toBeNull();
    expect(body(s.pollingGet(2))).toBe('4c');
  });

  it('test suite "closes the session upon invalid packet format"', () => {
    const { session: s } = session();
    const post = s.pollingPost('abc', null, 1);
    expect(post.answer).toMatchObject({ status: 400 });
    expect(post.closed).toBe('parse error');
    expect(s.pollingGet(2).answer).toEqual(UNKNOWN_SID);
  });

  it('test suite "closes the session upon duplicate poll requests": first gets 1, second 400', () => {
    const { session: s } = session();
    expect(s.pollingGet(1).answer).toBe('hold');
    const second = s.pollingGet(6);
    expect(second.answer).toMatchObject({ status: 400 });
    expect(second.pollAnswer).toBe('1');
    expect(second.closed).toBe('transport error');
    expect(s.pollingGet(7).answer).toEqual(UNKNOWN_SID);
  });

  it('test suite "closes the session upon cancelled polling request"', () => {
    const { session: s } = session();
    expect(s.pollingGet(1).answer).toBe('hold');
    expect(s.pollingAborted(6).closed).toBe('transport error');
    expect(s.pollingGet(7).answer).toEqual(UNKNOWN_SID);
  });

  it('refuses a second concurrent POST and closes the session', () => {
    const { session: s } = session();
    expect(s.beginPollingPost(1)).toBeNull();
    const second = s.beginPollingPost(2);
    expect(second?.answer).toMatchObject({ status: 400 });
    expect(second?.closed).toBe('transport error');
    expect(s.finished).toBe(true);
  });

  it('lets POSTs follow one another', () => {
    const { session: s } = session();
    expect(s.beginPollingPost(1)).toBeNull();
    expect(body(s.pollingPost('4a', null, 1))).toBe('ok');
    expect(s.beginPollingPost(2)).toBeNull();
    expect(texts(s.pollingPost('4b', null, 2))).toEqual(['b']);
  });

  it('closes the session when a POST body is cut off', () => {
    const { session: s } = session();
    expect(s.beginPollingPost(1)).toBeNull();
    expect(s.pollingPostAborted(2).closed).toBe('transport error');
    expect(s.finished).toBe(true);
  });

  it('answers 413 to a body over maxPayload and keeps the session (engine.io)', () => {
    const { session: s } = session('polling', 0, { maxPayload: 10 });
    const post = s.pollingPost('4' + 'x'.repeat(10), null, 1);
    expect(post.answer).toMatchObject({ status: 413 });
    expect(post.messages).toEqual([]);
    expect(post.closed).toBeNull();
    expect(texts(s.pollingPost('4ok', null, 2))).toEqual(['ok']);
  });

  it('closes a polling session whose queue outgrows maxBufferedChars (a client that stopped polling)', () => {
    const { session: s } = session('polling', 0, { maxBufferedChars: 10 });
    expect(s.send(['12345678'], 1).closed).toBeNull(); // "412345678": 9 characters queued
    expect(s.send(['9'], 2).closed).toBe('transport error');
    expect(s.pollingGet(3).answer).toEqual(UNKNOWN_SID);
    // A GET held takes everything at once: nothing is queued, whatever the size.
    const { session: t } = session('polling', 0, { maxBufferedChars: 10 });
    t.pollingGet(1);
    expect(t.send(['x'.repeat(100)], 2).pollAnswer).toBe('4' + 'x'.repeat(100));
  });

  it('refuses a binary (application/octet-stream) POST and closes: protocol 4 polls in text', () => {
    const { session: s } = session();
    const post = s.pollingPost('4hello', 'application/octet-stream', 1);
    expect(post.answer).toMatchObject({ status: 400 });
    expect(post.closed).toBe('transport error');
  });

  it('closes on a ping from the client (heartbeat goes server to client in v4)', () => {
    const { session: s } = session();
    expect(s.pollingGet(1).answer).toBe('hold');
    const post = s.pollingPost('2', null, 2);
    expect(post.closed).toBe('transport error');
    expect(post.pollAnswer).toBe('1');
  });
});

describe('messages over WebSocket', () => {
  it('test suite "sends and receives a plain text packet"', () => {
    const { session: s } = session('websocket');
    expect(texts(s.websocketMessage('4hello', 1))).toEqual(['hello']);
    expect(s.send(['hello'], 0).wsFrames).toEqual(['4hello']);
  });

  it('test suite "sends and receives a binary packet"', () => {
    const { session: s } = session('websocket');
    const step = s.websocketMessage(Uint8Array.from([1, 2, 3, 4]).buffer, 1);
    expect(texts(step)).toEqual([[1, 2, 3, 4]]);
    const [frame] = s.send(step.messages, 0).wsFrames;
    expect(new Uint8Array(frame as ArrayBuffer)).toEqual(Uint8Array.from([1, 2, 3, 4]));
  });

  it('test suite "closes the session upon invalid packet format"', () => {
    const { session: s } = session('websocket');
    const step = s.websocketMessage('abc', 1);
    expect(step.closed).toBe('parse error');
    expect(step.wsClose).toEqual({ code: 1002, reason: 'parse error' });
    expect(s.finished).toBe(true);
  });

  it('closes with 1009 on a frame over maxPayload', () => {
    const { session: s } = session('websocket', 0, { maxPayload: 10 });
    const step = s.websocketMessage('4' + 'x'.repeat(10), 1);
    expect(step.wsClose?.code).toBe(1009);
    expect(step.closed).toBe('transport error');
  });

  it('refuses long-polling on a WebSocket session', () => {
    const { session: s } = session('websocket');
    expect(s.pollingGet(1).answer).toEqual(BAD_REQUEST);
    expect(s.pollingPost('4x', null, 1).answer).toEqual(BAD_REQUEST);
    expect(s.finished).toBe(false);
  });

  it('ends the session when its WebSocket closes', () => {
    const { session: s } = session('websocket');
    const step = s.websocketClosed(1);
    expect(step.closed).toBe('transport close');
    expect(step.wsClose).toBeNull();
    expect(s.nextDeadline()).toBeNull();
  });
});

describe('heartbeat', () => {
  it('test suite "sends ping/pong packets" over polling: a held GET gets 2 every interval after the pong', () => {
    const { session: s } = session();
    let now = 0;
    for (let i = 0; i < 3; i++) {
      expect(s.pollingGet(now).answer).toBe('hold');
      expect(s.nextDeadline()).toBe(now + PING_INTERVAL);
      expect(s.onTimer(now + PING_INTERVAL - 1).pollAnswer).toBeNull();
      now += PING_INTERVAL;
      expect(s.onTimer(now).pollAnswer).toBe('2');
      expect(s.nextDeadline()).toBe(now + PING_TIMEOUT);
      now += 10;
      expect(body(s.pollingPost('3', null, now))).toBe('ok');
    }
    expect(s.finished).toBe(false);
  });

  it('test suite "closes the session upon ping timeout" over polling', () => {
    const { session: s } = session();
    expect(s.onTimer(PING_INTERVAL).pollAnswer).toBeNull(); // the ping waits in the queue
    expect(s.onTimer(PING_INTERVAL + PING_TIMEOUT - 1).closed).toBeNull();
    expect(s.onTimer(PING_INTERVAL + PING_TIMEOUT).closed).toBe('ping timeout');
    expect(s.pollingGet(PING_INTERVAL + PING_TIMEOUT).answer).toEqual(UNKNOWN_SID);
  });

  it('test suite "sends ping/pong packets" over WebSocket', () => {
    const { session: s } = session('websocket');
    let now = 0;
    for (let i = 0; i < 3; i++) {
      now += PING_INTERVAL;
      expect(s.onTimer(now).wsFrames).toEqual(['2']);
      now += 5;
      expect(s.websocketMessage('3', now).messages).toEqual([]);
      expect(s.nextDeadline()).toBe(now + PING_INTERVAL);
    }
  });

  it('test suite "closes the session upon ping timeout" over WebSocket', () => {
    const { session: s } = session('websocket');
    s.onTimer(PING_INTERVAL);
    const step = s.onTimer(PING_INTERVAL + PING_TIMEOUT);
    expect(step.closed).toBe('ping timeout');
    expect(step.wsClose).toEqual({ code: 1000, reason: 'ping timeout' });
  });

  it('a ping timeout with a GET held answers it with the close packet', () => {
    const { session: s } = session();
    expect(s.pollingGet(0).answer).toBe('hold');
    expect(s.onTimer(PING_INTERVAL).pollAnswer).toBe('2');
    expect(s.pollingGet(PING_INTERVAL + 1).answer).toBe('hold');
    const step = s.onTimer(PING_INTERVAL + PING_TIMEOUT);
    expect(step.pollAnswer).toBe('1');
    expect(step.closed).toBe('ping timeout');
  });

  it('sends no second ping while one waits for its pong, and a late timer pings once', () => {
    const { session: s } = session('websocket');
    expect(s.onTimer(10_000).wsFrames).toEqual(['2']);
    expect(s.nextDeadline()).toBe(10_000 + PING_TIMEOUT);
    expect(s.onTimer(10_000 + PING_TIMEOUT - 1).wsFrames).toEqual([]);
  });
});

describe('close', () => {
  it('test suite "forcefully closes the session" over polling: the held GET gets 6, then 400', () => {
    const { session: s } = session();
    expect(s.pollingGet(1).answer).toBe('hold');
    const post = s.pollingPost('1', null, 2);
    expect(body(post)).toBe('ok');
    expect(post.pollAnswer).toBe('6');
    expect(post.closed).toBe('transport close');
    expect(s.pollingGet(3).answer).toEqual(UNKNOWN_SID);
  });

  it('test suite "forcefully closes the session" over WebSocket', () => {
    const { session: s } = session('websocket');
    const step = s.websocketMessage('1', 1);
    expect(step.closed).toBe('transport close');
    expect(step.wsClose).toEqual({ code: 1000, reason: 'transport close' });
  });

  it('a server close answers the held GET with 1', () => {
    const { session: s } = session();
    s.pollingGet(1);
    const step = s.close(2);
    expect(step).toMatchObject({ pollAnswer: '1', closed: 'forced close' });
    expect(s.finished).toBe(true);
  });

  it('a server close with no GET held sends what is queued and 1 on the next GET', () => {
    const { session: s } = session();
    s.send(['bye'], 0);
    expect(s.close(2).closed).toBe('forced close');
    expect(s.status).toBe('closing');
    expect(s.send(['late'], 0).pollAnswer).toBeNull(); // nothing more is sent once closing
    expect(body(s.pollingGet(3))).toBe('4bye\x1e1');
    expect(s.finished).toBe(true);
    expect(s.pollingGet(4).answer).toEqual(UNKNOWN_SID);
  });

  it('a closing session is forgotten after closeTimeout without a GET', () => {
    const { session: s } = session('polling', 0, { closeTimeout: 1000 });
    s.close(5);
    expect(s.nextDeadline()).toBe(1005);
    s.onTimer(1004);
    expect(s.finished).toBe(false);
    s.onTimer(1005);
    expect(s.finished).toBe(true);
  });

  it('reports the end once: a closing session that then fails is not reported closed again', () => {
    const { session: s } = session();
    expect(s.close(1).closed).toBe('forced close');
    expect(s.pollingPostAborted(2).closed).toBeNull();
    expect(s.finished).toBe(true);
  });

  it('a server close of a WebSocket session closes the socket', () => {
    const { session: s } = session('websocket');
    expect(s.close(1)).toMatchObject({ wsClose: { code: 1000, reason: 'forced close' }, closed: 'forced close' });
    expect(s.close(2).closed).toBeNull(); // reported once
  });
});

describe('upgrade from polling to WebSocket', () => {
  it('test suite "successfully upgrades": 2probe → 3probe, the GET gets 6, then 5 and messages flow', () => {
    const { session: s } = session();
    expect(s.websocketUpgrade(1)).toEqual({ ok: true, value: null });
    expect(s.websocketMessage('2probe', 2).wsFrames).toEqual(['3probe']);
    expect(body(s.pollingGet(3))).toBe('6');
    expect(s.websocketMessage('5', 4).wsFrames).toEqual([]);
    expect(s.transport).toBe('websocket');
    expect(texts(s.websocketMessage('4hello', 5))).toEqual(['hello']);
    expect(s.send(['hello'], 0).wsFrames).toEqual(['4hello']);
  });

  it('answers a GET held during the probe with a noop', () => {
    const { session: s } = session();
    expect(s.pollingGet(1).answer).toBe('hold');
    expect(s.websocketUpgrade(2).ok).toBe(true);
    expect(s.websocketMessage('2probe', 3)).toMatchObject({ wsFrames: ['3probe'], pollAnswer: '6' });
  });

  it('holds a GET that comes before the probe as usual', () => {
    const { session: s } = session();
    s.websocketUpgrade(1);
    expect(s.pollingGet(2).answer).toBe('hold');
    expect(s.websocketMessage('2probe', 3).pollAnswer).toBe('6');
  });

  it('test suite "ignores HTTP requests with same sid after upgrade"', () => {
    const { session: s } = session();
    s.websocketUpgrade(1);
    s.websocketMessage('2probe', 2);
    s.websocketMessage('5', 3);
    expect(s.pollingGet(4).answer).toEqual(BAD_REQUEST);
    expect(s.pollingPost('4x', null, 4).answer).toEqual(BAD_REQUEST);
    expect(texts(s.websocketMessage('4hello', 5))).toEqual(['hello']);
  });

  it('test suite "ignores WebSocket connection with same sid after upgrade"', () => {
    const { session: s } = session();
    s.websocketUpgrade(1);
    s.websocketMessage('2probe', 2);
    s.websocketMessage('5', 3);
    expect(s.websocketUpgrade(4)).toEqual({ ok: false, error: BAD_REQUEST });
    expect(texts(s.websocketMessage('4hello', 5))).toEqual(['hello']);
  });

  it('refuses a second WebSocket during an upgrade, and any on a WebSocket session', () => {
    const { session: s } = session();
    expect(s.websocketUpgrade(1).ok).toBe(true);
    expect(s.websocketUpgrade(2)).toEqual({ ok: false, error: BAD_REQUEST });
    expect(session('websocket').session.websocketUpgrade(1)).toEqual({ ok: false, error: BAD_REQUEST });
  });

  it('sends what was queued during the upgrade over the WebSocket once upgraded, bytes as bytes', () => {
    const { session: s } = session();
    s.websocketUpgrade(1);
    s.websocketMessage('2probe', 2);
    s.send(['a', Uint8Array.from([1, 2]).buffer], 0);
    const step = s.websocketMessage('5', 3);
    expect(step.wsFrames[0]).toBe('4a');
    expect(new Uint8Array(step.wsFrames[1] as ArrayBuffer)).toEqual(Uint8Array.from([1, 2]));
    expect(s.pollingGet(4).answer).toEqual(BAD_REQUEST);
  });

  it('aborts the upgrade on any other packet on the probing WebSocket; polling goes on', () => {
    const { session: s } = session();
    s.websocketUpgrade(1);
    const step = s.websocketMessage('4hello', 2);
    expect(step.wsClose).toEqual({ code: 1002, reason: 'upgrade aborted' });
    expect(step.messages).toEqual([]);
    expect(step.closed).toBeNull();
    expect(s.transport).toBe('polling');
    expect(texts(s.pollingPost('4still', null, 3))).toEqual(['still']);
    expect(s.websocketUpgrade(4).ok).toBe(true); // a new attempt is allowed
  });

  it('gives up an upgrade after upgradeTimeout', () => {
    const { session: s } = session('polling', 0, { upgradeTimeout: 1000, pingInterval: 100_000 });
    s.websocketUpgrade(10);
    expect(s.nextDeadline()).toBe(1010);
    expect(s.onTimer(1010)).toMatchObject({ wsClose: { code: 1000, reason: 'upgrade timeout' }, closed: null });
    expect(s.transport).toBe('polling');
    expect(s.websocketMessage('5', 1011).wsFrames).toEqual([]); // that WebSocket no longer belongs here
    expect(s.transport).toBe('polling');
  });

  it('forgets the upgrade when the probing WebSocket closes', () => {
    const { session: s } = session();
    s.websocketUpgrade(1);
    expect(s.websocketClosed(2).closed).toBeNull();
    expect(s.transport).toBe('polling');
    expect(s.pollingGet(3).answer).toBe('hold');
  });

  it('a server close during the upgrade closes the probing WebSocket too', () => {
    const { session: s } = session();
    s.websocketUpgrade(1);
    s.pollingGet(2);
    expect(s.close(3)).toMatchObject({ pollAnswer: '1', wsClose: { code: 1000 }, closed: 'forced close' });
  });
});

describe('persistence', () => {
  it('survives JSON between any two calls (hibernation) and keeps its deadlines', () => {
    let { session: s } = session('websocket');
    const revive = () => {
      const r = EngineSession.fromJSON(JSON.parse(JSON.stringify(s)));
      if (!r.ok) throw new Error(r.error);
      s = r.value;
    };
    revive();
    expect(s.onTimer(PING_INTERVAL).wsFrames).toEqual(['2']);
    revive();
    expect(s.nextDeadline()).toBe(PING_INTERVAL + PING_TIMEOUT);
    s.websocketMessage('3', 350);
    revive();
    expect(s.nextDeadline()).toBe(350 + PING_INTERVAL);
  });

  it('keeps queued packets, bytes included, across JSON', () => {
    const { session: s } = session();
    s.send(['x', Uint8Array.from([1, 2, 3, 4]).buffer], 0);
    const r = EngineSession.fromJSON(JSON.parse(JSON.stringify(s)));
    if (!r.ok) throw new Error(r.error);
    expect(body(r.value.pollingGet(1))).toBe('4x\x1ebAQIDBA==');
  });

  it('refuses anything that is not a stored session', () => {
    expect(EngineSession.fromJSON(null).ok).toBe(false);
    expect(EngineSession.fromJSON({}).ok).toBe(false);
    const state = session().session.toJSON();
    expect(EngineSession.fromJSON({ ...state, status: 'zombie' }).ok).toBe(false);
    expect(EngineSession.fromJSON({ ...state, sid: 'a/b' }).ok).toBe(false);
    expect(EngineSession.fromJSON({ ...state, v: 2 }).ok).toBe(false);
  });

  it('toJSON is a copy: the stored value does not change under the session', () => {
    const { session: s } = session();
    const before = s.toJSON();
    s.send(['x'], 0);
    expect(before.outbox).toEqual([]);
  });
});
