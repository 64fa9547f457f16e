import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src';
import type { RequestEvent, RequestLogMessage } from '../../src/features/request-log/middleware';
import { sendLogEvent } from '../../src/features/request-log/log-batch';
import { register } from '../helpers/auth';
import { waitForRequestRow } from '../helpers/db';
import { BASE, type EnvOverrides, openaiEnv } from '../helpers/http';

// Recording off the request path (issue 11, item 4): an AI call's `requests` row travels with its
// request-log event and the queue's consumer writes it with the rollups; cache hit statistics leave the
// isolate in batches. docs/design/request-log.md, docs/design/cache.md.

type Json = Record<string, unknown>;
const QUEUE = 'edgeway-request-log';

// Every use of a D1 binding (prepare, batch, exec, …), counted; the statements still run.
function countingD1() {
  const uses: string[] = [];
  const db = new Proxy(env.DB, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        uses.push(`${String(prop)} ${typeof args[0] === 'string' ? args[0].slice(0, 60) : ''}`);
        return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
      };
    },
  });
  return { db, uses };
}

// Every RPC to a CacheIndex object reached through this binding, by method name. `slowMs` delays the
// hit statistics' calls, as a remote object's round trip would (tens of ms on Cloudflare).
function countingCacheIndex(slowMs = 0) {
  const calls: string[] = [];
  const ns = env.CACHE_INDEX;
  const binding = new Proxy(ns, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop !== 'get' || typeof value !== 'function') {
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return (...args: Parameters<typeof ns.get>) => {
        const stub = ns.get(...args);
        return new Proxy(stub, {
          get(s, method) {
            const fn: unknown = Reflect.get(s, method, s);
            if (typeof fn !== 'function') return fn;
            return async (...a: unknown[]) => {
              calls.push(String(method));
              if (method === 'recordLookups') await new Promise((r) => setTimeout(r, slowMs));
              return Reflect.apply(fn as (...x: unknown[]) => unknown, s, a) as unknown;
            };
          },
        });
      };
    },
  });
  return { binding, calls, count: (method: string) => calls.filter((m) => m === method).length };
}

// A request through the real worker entry on `overrides`, answered before its background work
// (waitUntil) is waited for: `settled()` waits for that afterwards.
async function dispatch(path: string, init: RequestInit, overrides: EnvOverrides) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ...overrides } as Env, ctx);
  const body = await res.text();
  return { res, body, settled: () => waitOnExecutionContext(ctx) };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function eventRow(requestId: string): Promise<Json | null> {
  return env.DB.prepare('SELECT id, batch_id FROM request_events WHERE request_id = ?').bind(requestId).first<Json>();
}

async function rowCount(requestId: string): Promise<number> {
  const r = await env.DB.prepare('SELECT COUNT(*) AS n FROM requests WHERE request_id = ?')
    .bind(requestId)
    .first<{ n: number }>();
  return r?.n ?? 0;
}

// The consumer's rollup count for an organization (its id makes the rollup key this test's own).
async function rollupCount(organizationId: string, period: 'minute' | 'day'): Promise<number> {
  const r = await env.DB.prepare(
    'SELECT COALESCE(SUM(count), 0) AS n FROM rollups WHERE organization_id = ? AND period = ?',
  )
    .bind(organizationId, period)
    .first<{ n: number }>();
  return r?.n ?? 0;
}

// Stands in for the REQUEST_LOG producer: what the middleware sends is kept, never delivered.
function capturing() {
  const sent: RequestLogMessage[] = [];
  const producer = {
    send: async (body: RequestLogMessage) => {
      sent.push(structuredClone(body));
    },
    sendBatch: async (messages: Iterable<{ body: RequestLogMessage }>) => {
      for (const m of messages) sent.push(structuredClone(m.body));
    },
  };
  return { sent, producer, events: () => sent.filter((m): m is RequestEvent => m.kind === 'request') };
}

// One delivery through the worker's exported queue handler, as the queue would make it.
async function deliver(bodies: RequestEvent[]) {
  const batch = createMessageBatch(
    QUEUE,
    bodies.map((body, i) => ({ id: `msg-${body.id}-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  await waitOnExecutionContext(ctx);
  return getQueueResult(batch, ctx);
}

// Rows arrive through the local queue and its consumer: polls take up to a few seconds.
describe('an AI call is recorded off its request path', { timeout: 20_000 }, () => {
  it.each([
    ['complete', false],
    ['stream', true],
  ])(
    '%s: /v1/chat/completions uses no D1 in the isolate; its row and event come from the consumer',
    async (_, stream) => {
      const { db, uses } = countingD1();
      const nonce = `rec-${crypto.randomUUID()}`;
      const { res, body, settled } = await dispatch(
        '/v1/chat/completions',
        json({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: nonce }] }),
        { ...openaiEnv(), DB: db },
      );
      expect(res.status, body).toBe(200);
      expect(body).toContain(nonce);
      // Nothing before the answer was sent …
      expect(uses).toEqual([]);
      await settled();
      // … nor afterwards: the isolate never touched D1 for this anonymous call.
      expect(uses).toEqual([]);

      const requestId = res.headers.get('x-request-id') ?? '';
      const row = await waitForRequestRow(requestId);
      expect(row).toMatchObject({
        dialect: 'openai',
        status: 'completed',
        provider: 'openai',
        cache_status: 'MISS',
        stream: stream ? 1 : 0,
        user_id: null,
        organization_id: null,
      });
      expect(row.text).toBe(nonce);
      expect(row.response).toBe(`Mock answer to: ${nonce}`);
      expect(row.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      // The same delivery wrote the request's event (the rollups are computed from it).
      expect(await eventRow(requestId)).not.toBeNull();
      expect(await rowCount(requestId)).toBe(1);
    },
  );

  it("an organization's calls reach the rollups and the requests table through the queue", async () => {
    const account = await register();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { res } = await dispatch(
        '/api/v1/chat/completion',
        json({ message: `org rollup ${crypto.randomUUID()}` }, account.auth),
        {},
      );
      expect(res.status).toBe(200);
      ids.push(res.headers.get('x-request-id') ?? '');
    }
    for (const id of ids)
      expect(await waitForRequestRow(id)).toMatchObject({ organization_id: account.organizationId });
    await expect.poll(() => rollupCount(account.organizationId, 'day'), { timeout: 4_000 }).toBe(2);
    expect(await rollupCount(account.organizationId, 'minute')).toBe(2);
  });

  it('a redelivered event, or one twice in a delivery, makes one row and counts once', async () => {
    const log = capturing();
    const o = { REQUEST_LOG: log.producer };
    const account = await register(undefined, o);
    log.sent.length = 0;
    for (let i = 0; i < 2; i++) {
      const { res, settled } = await dispatch(
        '/api/v1/chat/completion',
        json({ message: `redelivered ${crypto.randomUUID()}` }, account.auth),
        o,
      );
      expect(res.status).toBe(200);
      await settled();
    }
    const [first, second] = log.events();
    expect(first?.calls).toHaveLength(1);
    expect(second?.calls).toHaveLength(1);
    if (!first || !second) throw new Error('no events captured');

    for (let i = 0; i < 2; i++) expect((await deliver([first])).retryBatch.retry).toBe(false);
    expect(await rowCount(first.request_id)).toBe(1);
    expect(await deliver([second, second])).toMatchObject({ retryBatch: { retry: false } });
    expect(await rowCount(second.request_id)).toBe(1);
    expect(await rollupCount(account.organizationId, 'day')).toBe(2);
    const row = await env.DB.prepare('SELECT text, organization_id, user_id FROM requests WHERE request_id = ?')
      .bind(first.request_id)
      .first<Json>();
    expect(row).toEqual({
      text: first.calls?.[0]?.text,
      organization_id: account.organizationId,
      user_id: account.userId,
    });
  });

  it('POST /api/v1/requests answers its stored id, and its event adds no second row', async () => {
    const { res, body, settled } = await dispatch(
      '/api/v1/requests',
      json({ text: `stored ${crypto.randomUUID()}` }),
      {},
    );
    expect(res.status, body).toBe(201);
    const { id } = JSON.parse(body) as { id: number };
    await settled();
    const requestId = res.headers.get('x-request-id') ?? '';
    // Once the consumer has written the request's event, it has written every row it was going to.
    await expect.poll(() => eventRow(requestId), { timeout: 4_000 }).not.toBeNull();
    const rows = await env.DB.prepare('SELECT id FROM requests WHERE request_id = ?').bind(requestId).all<Json>();
    expect(rows.results).toEqual([{ id }]);
  });

  it('a row too large for a queue message is written by the isolate after the answer; the event still goes', async () => {
    const { db, uses } = countingD1();
    // 30,000 three-byte characters: ~90 KB of prompt and as much again of answer, over a message's 128 KB.
    const text = `big ${crypto.randomUUID()} ${'€'.repeat(30_000)}`;
    const { res, settled } = await dispatch(
      '/v1/chat/completions',
      json({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }),
      { ...openaiEnv(), DB: db },
    );
    expect(res.status).toBe(200);
    expect(uses).toEqual([]);
    await settled();
    expect(uses.length).toBeGreaterThan(0);
    const requestId = res.headers.get('x-request-id') ?? '';
    const row = await waitForRequestRow(requestId);
    expect(row.text).toBe(text);
    expect(row.response).toBe(`Mock answer to: ${text}`);
    await expect.poll(() => eventRow(requestId), { timeout: 4_000 }).not.toBeNull();
    expect(await rowCount(requestId)).toBe(1);
  });

  const refuse = () => Promise.reject(new Error('queue unavailable'));
  it.each([
    ['no queue is bound', undefined],
    ['the queue refuses the send', { send: refuse, sendBatch: refuse }],
  ])('when %s the isolate writes the row itself, after the answer', async (_, producer) => {
    const { db, uses } = countingD1();
    const { res, settled } = await dispatch(
      '/api/v1/chat/completion',
      json({ message: `no queue ${crypto.randomUUID()}` }),
      { DB: db, REQUEST_LOG: producer },
    );
    expect(res.status).toBe(200);
    expect(uses).toEqual([]);
    await settled();
    const requestId = res.headers.get('x-request-id') ?? '';
    expect(await rowCount(requestId)).toBe(1);
    expect(await eventRow(requestId)).toBeNull();
  });

  it('sendBatch stays within the queue limits: at most 200 KB of events per batch', async () => {
    const batches: number[][] = [];
    const queue = {
      sendBatch: async (messages: Iterable<{ body: unknown }>) => {
        batches.push([...messages].map((m) => JSON.stringify(m.body).length));
      },
    } as unknown as Queue<unknown>;
    const body = { pad: 'x'.repeat(60_000) };
    await Promise.all(Array.from({ length: 5 }, () => sendLogEvent(queue, { body, bytes: 60_012 })));
    expect(batches.flat()).toHaveLength(5);
    for (const b of batches) expect(b.reduce((n, x) => n + x, 0)).toBeLessThanOrEqual(200_000);
  });
});

describe('cache hit statistics leave the isolate in batches', () => {
  it('many lookups make few CacheIndex calls, and the stats read right after them add up', async () => {
    const owner = await register();
    const index = countingCacheIndex(200);
    const o = { ...openaiEnv({ SEMANTIC_CACHE_ENABLED: 'false' }), CACHE_INDEX: index.binding };
    const chat = (message: string) =>
      dispatch('/api/v1/chat/completion', json({ message, model: 'gpt-4o-mini' }, owner.auth), o);

    const prompt = `stats ${crypto.randomUUID()}`;
    const statuses: string[] = [];
    const pending: (() => Promise<void>)[] = [];
    const first = await chat(prompt);
    statuses.push(first.res.headers.get('x-cache-status') ?? '');
    await first.settled(); // the answer is stored
    // 40 concurrent lookups, none of them waited for before the stats are read: their statistics are
    // still on the way to the object (slowMs) when the stats request arrives.
    const burst = await Promise.all(Array.from({ length: 40 }, () => chat(prompt)));
    for (const r of burst) {
      statuses.push(r.res.headers.get('x-cache-status') ?? '');
      pending.push(r.settled);
    }
    const hits = statuses.filter((s) => s === 'HIT').length;
    const misses = statuses.filter((s) => s === 'MISS').length;
    expect(hits + misses).toBe(41);
    expect(hits).toBe(40);

    const stats = await dispatch('/api/v1/cache/stats', { headers: owner.auth }, o);
    expect(JSON.parse(stats.body) as Json).toMatchObject({
      hits,
      misses,
      total_requests: hits + misses,
      hit_rate: Math.round((hits / (hits + misses)) * 1000) / 1000,
    });
    await Promise.all(pending.map((settled) => settled()));
    await stats.settled();
    // 41 lookups: the first one's call, and a few for the burst (one per 20 ms or 100 lookups; 3 in all
    // when measured, headroom for a loaded machine). One call per lookup would be 41.
    expect(index.count('recordLookups')).toBeGreaterThanOrEqual(2);
    expect(index.count('recordLookups')).toBeLessThanOrEqual(8);
  });
});

describe('X-Cache-Similarity', () => {
  it('is on every semantic hit, even one scoring 1 after rounding, and never on an exact hit', async () => {
    const o = openaiEnv();
    const ask = (message: string) => dispatch('/api/v1/chat/completion', json({ message, model: 'gpt-4o-mini' }), o);
    const words = `capital of ${crypto.randomUUID().replaceAll('-', ' ')}`;
    const first = await ask(`What is the ${words}?`);
    expect(first.res.headers.get('x-cache-status')).toBe('MISS');
    await first.settled(); // stored, with its vector

    // Same words, other case and punctuation: another exact key, the same vector for the local embedder.
    const semantic = await ask(`WHAT IS THE ${words.toUpperCase()}!!`);
    expect(semantic.res.headers.get('x-cache-status')).toBe('HIT');
    const header = semantic.res.headers.get('x-cache-similarity');
    expect(header).not.toBeNull();
    // The score rounds to 1 (identical vectors): the case the header used to be left out of.
    expect(header).toBe('1');
    expect((JSON.parse(semantic.body) as Json).similarity_score).toBe(Number(header));

    const exact = await ask(`What is the ${words}?`);
    expect(exact.res.headers.get('x-cache-status')).toBe('HIT');
    expect(exact.res.headers.get('x-cache-similarity')).toBeNull();
    expect((JSON.parse(exact.body) as Json).similarity_score).toBe(1);
    await Promise.all([semantic.settled(), exact.settled()]);
  });
});
