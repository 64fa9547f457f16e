// Runs inside workerd, not in Node: the bench's counting wrapper around Edgeway's bundle. workers.ts
// (startEdgeway with `counted`) compiles it with esbuild and loads it beside dist/index.js under a small
// generated entry that hands Edgeway's fetch and queue handlers, and each Durable Object class's
// constructor, an env whose bindings count every call the worker's own code makes: D1 statements,
// Durable Object stub calls, KV operations, queue sends, R2 operations. GET COUNTS_PATH answers the
// totals so far; every other request goes to Edgeway unchanged.
//
// Calls are attributed by where they are made, not by timing: the fetch handler's env, the queue
// consumer's env and the objects' env are separate wrappers, and within the fetch handler an
// AsyncLocalStorage store per request tells whether that request's Response had been returned yet —
// so a call in waitUntil, in a micro-batch flushed from a request's timer or while a stream is still
// being relayed counts as "after the answer", exactly, at any concurrency.
import { AsyncLocalStorage } from 'node:async_hooks';

export const COUNTS_PATH = '/__bench/counts';

// before/after: made by the fetch handler's code before / after its Response was returned (waitUntil,
// timers, stream relay); queue: by the queue consumer; object: inside a Durable Object.
export const BUCKETS = ['before', 'after', 'queue', 'object'] as const;
export type Bucket = (typeof BUCKETS)[number];

// d1: statements (a batch of n counts n); d1Calls: round trips (a batch counts 1); do: calls on a Durable
// Object stub (RPC methods and fetch); kv / r2: operations; queueCalls: send/sendBatch calls;
// queueMessages: messages in them.
export const KINDS = ['d1', 'd1Calls', 'do', 'kv', 'queueCalls', 'queueMessages', 'r2'] as const;
export type Kind = (typeof KINDS)[number];

export interface Counts {
  requests: number; // fetch invocations (the counts route excluded)
  queueBatches: number;
  consumed: number; // messages handed to the queue consumer
  inFlight: number; // fetch and queue invocations not finished
  pendingWaitUntil: number; // waitUntil promises not settled
  by: Record<Bucket, Record<Kind, number>>;
}

// Binding names by kind, from wrangler.toml (the generated entry passes them in).
export interface BindingKinds {
  d1: string[];
  durableObjects: string[];
  kv: string[];
  queues: string[];
  r2: string[];
}

type Home = 'fetch' | 'queue' | 'object';
type Env = Record<string, unknown>;

const zero = (): Record<Kind, number> => Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;

const state: Counts = {
  requests: 0,
  queueBatches: 0,
  consumed: 0,
  inFlight: 0,
  pendingWaitUntil: 0,
  by: { before: zero(), after: zero(), queue: zero(), object: zero() },
};

const requestScope = new AsyncLocalStorage<{ answered: boolean }>();

function add(home: Home, kind: Kind, n = 1): void {
  let bucket: Bucket = home === 'fetch' ? 'after' : home;
  if (home === 'fetch') {
    const scope = requestScope.getStore();
    if (scope !== undefined && !scope.answered) bucket = 'before';
  }
  state.by[bucket][kind] += n;
}

// Every property read goes to the real object with the real object as `this` (native bindings and
// private fields refuse a Proxy as receiver); functions come back bound to it, or counted.
function intercept(target: object, wrap: (prop: PropertyKey, fn: (...args: unknown[]) => unknown) => unknown): object {
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const fn = (...args: unknown[]): unknown => Reflect.apply(value, t, args) as unknown;
      return typeof prop === 'symbol' ? fn : wrap(prop, fn);
    },
  });
}

const asObject = (v: unknown): object => (typeof v === 'object' && v !== null ? v : Object(v));

// D1: prepare/bind give wrapped statements; each run/all/first/raw is one statement and one round trip;
// batch takes the wrapped statements back (unwrapped for the real binding) and counts them.
const realStatement = new WeakMap<object, object>();
function d1Statement(stmt: object, home: Home): object {
  const proxy = intercept(stmt, (prop, fn) => {
    if (prop === 'bind') return (...args: unknown[]) => d1Statement(asObject(fn(...args)), home);
    if (prop === 'run' || prop === 'all' || prop === 'first' || prop === 'raw')
      return (...args: unknown[]) => {
        add(home, 'd1');
        add(home, 'd1Calls');
        return fn(...args);
      };
    return fn;
  });
  realStatement.set(proxy, stmt);
  return proxy;
}
function d1Database(db: object, home: Home): object {
  return intercept(db, (prop, fn) => {
    if (prop === 'prepare') return (...args: unknown[]) => d1Statement(asObject(fn(...args)), home);
    if (prop === 'batch')
      return (statements: unknown, ...rest: unknown[]) => {
        const list = Array.isArray(statements) ? statements : [];
        add(home, 'd1', list.length);
        add(home, 'd1Calls');
        return fn(
          list.map((s: unknown) => (typeof s === 'object' && s !== null ? (realStatement.get(s) ?? s) : s)),
          ...rest,
        );
      };
    if (prop === 'exec')
      return (...args: unknown[]) => {
        add(home, 'd1');
        add(home, 'd1Calls');
        return fn(...args);
      };
    // D1 sessions (read replication) prepare and batch the same way.
    if (prop === 'withSession') return (...args: unknown[]) => d1Database(asObject(fn(...args)), home);
    return fn;
  });
}

// Durable Objects: the namespace's get* hand out counted stubs; every method call on a stub (an RPC
// method or fetch) is one object call. idFromName and friends are local and not counted.
function objectNamespace(ns: object, home: Home): object {
  return intercept(ns, (prop, fn) =>
    prop === 'get' || prop === 'getByName' || prop === 'getExisting'
      ? (...args: unknown[]) =>
          intercept(asObject(fn(...args)), (_p, call) => (...a: unknown[]) => {
            add(home, 'do');
            return call(...a);
          })
      : fn,
  );
}

function queueProducer(q: object, home: Home): object {
  return intercept(q, (prop, fn) => {
    if (prop === 'send')
      return (...args: unknown[]) => {
        add(home, 'queueCalls');
        add(home, 'queueMessages');
        return fn(...args);
      };
    if (prop === 'sendBatch')
      return (messages: Iterable<unknown>, ...rest: unknown[]) => {
        const list = [...messages];
        add(home, 'queueCalls');
        add(home, 'queueMessages', list.length);
        return fn(list, ...rest);
      };
    return fn;
  });
}

// KV and R2: every method call is one operation.
function everyCall(binding: object, home: Home, kind: Kind): object {
  return intercept(binding, (_prop, fn) => (...args: unknown[]) => {
    add(home, kind);
    return fn(...args);
  });
}

let kinds: BindingKinds = { d1: [], durableObjects: [], kv: [], queues: [], r2: [] };

// One wrapped env per real env and home, made once: workerd hands every invocation the same env, and
// Edgeway keeps per-isolate state keyed by it (parsed config, identity cache, batchers).
const wrappedEnvs = new WeakMap<object, Map<Home, Env>>();
export function countedEnv(env: Env, home: Home): Env {
  let byHome = wrappedEnvs.get(env);
  if (!byHome) wrappedEnvs.set(env, (byHome = new Map()));
  let wrapped = byHome.get(home);
  if (wrapped) return wrapped;
  wrapped = { ...env };
  const each = (names: string[], wrap: (binding: object) => object) => {
    for (const name of names) {
      const binding = env[name];
      if (typeof binding === 'object' && binding !== null) wrapped[name] = wrap(binding);
    }
  };
  each(kinds.d1, (b) => d1Database(b, home));
  each(kinds.durableObjects, (b) => objectNamespace(b, home));
  each(kinds.kv, (b) => everyCall(b, home, 'kv'));
  each(kinds.r2, (b) => everyCall(b, home, 'r2'));
  each(kinds.queues, (b) => queueProducer(b, home));
  byHome.set(home, wrapped);
  return wrapped;
}

// waitUntil promises are tracked so the bench can tell when a phase's background work is done.
function trackedContext(ctx: object): object {
  return intercept(ctx, (prop, fn) =>
    prop === 'waitUntil'
      ? (promise: unknown) => {
          state.pendingWaitUntil++;
          const done = () => {
            state.pendingWaitUntil--;
          };
          Promise.resolve(promise).then(done, done);
          return fn(promise);
        }
      : fn,
  );
}

interface Handler {
  fetch?(request: Request, env: Env, ctx: object): Response | Promise<Response>;
  queue?(batch: { messages: readonly unknown[] }, env: Env, ctx: object): unknown;
}

export function countedHandler(worker: Handler, bindingKinds: BindingKinds): Handler {
  kinds = bindingKinds;
  const { fetch, queue } = worker;
  const handler: Handler = {
    async fetch(request, env, ctx) {
      if (new URL(request.url).pathname === COUNTS_PATH) return Response.json(state);
      if (!fetch) return new Response('no fetch handler', { status: 500 });
      state.requests++;
      state.inFlight++;
      const scope = { answered: false };
      try {
        return await requestScope.run(scope, () =>
          fetch.call(worker, request, countedEnv(env, 'fetch'), trackedContext(ctx)),
        );
      } finally {
        scope.answered = true;
        state.inFlight--;
      }
    },
  };
  if (queue)
    handler.queue = async (batch, env, ctx) => {
      state.queueBatches++;
      state.consumed += batch.messages.length;
      state.inFlight++;
      try {
        return await queue.call(worker, batch, countedEnv(env, 'queue'), trackedContext(ctx));
      } finally {
        state.inFlight--;
      }
    };
  return handler;
}
