// Workers under test, each on its own Miniflare instance (so its own workerd process, whose CPU
// time we can read), reached through a direct socket to the worker: no Miniflare entry worker, no
// wrangler dev proxy — just workerd, as the worker would run at the edge.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from 'miniflare';
import type { BindingKinds } from './count-bindings-worker';
import { descendantsNamed } from './proc';
import { migrationStatements, ROOT, type WranglerConfig } from './project';

export interface RunningWorker {
  name: string;
  // Origin of the worker's direct socket, e.g. http://127.0.0.1:41234
  origin: string;
  // workerd process(es) started for this worker
  pids: number[];
  mf: Miniflare;
  dispose(): Promise<void>;
}

type WorkerOptions = V4MiniflareOptions & { workers?: never };
type WorkerShape = Omit<Extract<V4MiniflareOptions, { workers: unknown[] }>['workers'][number], 'name'>;

export interface StartOptions {
  // Reach the worker through Miniflare's entry worker (mf.ready) instead of a direct socket.
  viaEntry?: boolean;
  inspector?: boolean;
}

async function start(name: string, worker: WorkerShape, opts: StartOptions = {}): Promise<RunningWorker> {
  const before = new Set(descendantsNamed(process.pid, 'workerd'));
  const options = {
    host: '127.0.0.1',
    port: 0,
    logRequests: false,
    ...(opts.inspector ? { inspectorPort: 0 } : {}),
    workers: [{ name, ...worker, unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] }],
  } as unknown as WorkerOptions;
  const mf = new Miniflare(convertV4MiniflareOptions(options));
  const entry = await mf.ready;
  const direct = await mf.unsafeGetDirectURL(name);
  const pids = descendantsNamed(process.pid, 'workerd').filter((p) => !before.has(p));
  if (pids.length === 0) throw new Error(`${name}: no workerd process found under pid ${process.pid}`);
  const url = opts.viaEntry ? entry : direct;
  let disposed: Promise<void> | undefined;
  return {
    name,
    origin: url.origin,
    pids,
    mf,
    dispose: () => (disposed ??= mf.dispose()),
  };
}

const runtime = (cfg: WranglerConfig) => ({
  compatibilityDate: cfg.compatibilityDate,
  compatibilityFlags: cfg.compatibilityFlags,
});

export const DUMMY_KEY = 'sk-bench-dummy-key-000000';

export function startPassthrough(
  cfg: WranglerConfig,
  openaiBaseUrl: string,
  opts?: StartOptions,
): Promise<RunningWorker> {
  return start(
    'passthrough',
    {
      modules: true,
      scriptPath: join(ROOT, 'bench', 'passthrough.js'),
      ...runtime(cfg),
      bindings: { OPENAI_BASE_URL: openaiBaseUrl, OPENAI_API_KEY: DUMMY_KEY },
    } as WorkerShape,
    opts,
  );
}

// A D1 stand-in for the profile variant: answers drizzle's `insert … returning` with id 1, and
// prepare/bind/run/batch, and runs no SQL. The patched env is made once per real env, as workerd hands every request the same env
// (Edgeway caches its parsed config and SDK clients on it).
const NO_D1_WRAPPER = `
import app from './index.js';
export * from './index.js';
class Stmt {
  bind() { return this; }
  async raw() { return [[1]]; }
  async all() { return { results: [{ id: 1 }], success: true, meta: {} }; }
  async run() { return { results: [], success: true, meta: {} }; }
  async first() { return { id: 1 }; }
}
const stubDb = { prepare: () => new Stmt(), batch: (list) => Promise.all(list.map((s) => s.all())), exec: async () => ({ count: 0, duration: 0 }) };
const patched = new WeakMap();
const withStub = (env) => {
  let e = patched.get(env);
  if (!e) { e = { ...env, DB: stubDb }; patched.set(env, e); }
  return e;
};
const handler = {
  fetch(request, env, ctx) {
    return app.fetch(request, withStub(env), ctx);
  },
};
// A queue consumer (the request log) writes through the stub too.
if (typeof app.queue === 'function') handler.queue = (batch, env, ctx) => app.queue(batch, withStub(env), ctx);
export default handler;
`;

// Profiling variant bench/variants/openai-sdk.ts, bundled in memory with esbuild like wrangler would.
export async function startSdkVariant(
  cfg: WranglerConfig,
  openaiBaseUrl: string,
  opts?: StartOptions,
): Promise<RunningWorker> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(ROOT, 'bench', 'variants', 'openai-sdk.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]?.text;
  if (code === undefined) throw new Error('esbuild produced no output for bench/variants/openai-sdk.ts');
  return start(
    'openai-sdk',
    {
      modules: [{ type: 'ESModule', path: join(ROOT, 'bench', 'variants', 'openai-sdk.mjs'), contents: code }],
      ...runtime(cfg),
      bindings: { OPENAI_BASE_URL: openaiBaseUrl, OPENAI_API_KEY: DUMMY_KEY },
    } as WorkerShape,
    opts,
  );
}

export const RATE_LIMITS_FOR_LOAD = { RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_BURST: '1000000' };
// The API-key caller's organization has a tier, so its hourly tier window is checked on every call: a
// limit the load never reaches (100,000,000 per hour, the largest TIER_LIMIT_* Edgeway's config accepts).
export const TIER_LIMITS_FOR_LOAD = {
  TIER_LIMIT_FREE: '100000000',
  TIER_LIMIT_PRO: '100000000',
  TIER_LIMIT_ENTERPRISE: '100000000',
};

export interface EdgewayOptions extends StartOptions {
  // Replace the D1 binding with a stub (no SQL): isolates the cost of request recording.
  stubD1?: boolean;
  // Profiling only: RATE_LIMIT_ENABLED=false, so no RateLimiter Durable Object call per request.
  noRateLimit?: boolean;
  // Profiling only: no queue bindings, so no request-log message per request (Edgeway skips the log
  // when REQUEST_LOG is not bound) and no consumer.
  noRequestLog?: boolean;
  name?: string;
  // More configuration for this instance (e.g. SEMANTIC_CACHE_ENABLED for bench/miss-path.ts).
  bindings?: Record<string, string>;
  // Counting phase only: every binding the worker's code sees counts its calls (lib/count-bindings-worker.ts),
  // read with GET COUNTS_PATH. Not used for the timed targets.
  counted?: boolean;
}

// The entry of a counted instance: Edgeway's handlers and Durable Object classes from the bundle, each
// handed a counting env. Exported class names are the ones wrangler.toml binds, so they replace the
// bundle's own (a local export wins over `export *`).
async function countedModules(cfg: WranglerConfig): Promise<{ type: 'ESModule'; path: string; contents: string }[]> {
  const { transform } = await import('esbuild');
  const source = readFileSync(join(ROOT, 'bench', 'lib', 'count-bindings-worker.ts'), 'utf8');
  const lib = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' });
  const classes = [
    ...new Set(
      Object.values(cfg.durableObjects)
        .filter((d) => d.scriptName === undefined)
        .map((d) => d.className),
    ),
  ];
  for (const c of classes) if (!/^[A-Za-z_$][\w$]*$/.test(c)) throw new Error(`wrangler.toml: odd class name ${c}`);
  const kinds: BindingKinds = {
    d1: cfg.d1,
    durableObjects: Object.keys(cfg.durableObjects),
    kv: cfg.kv,
    queues: Object.keys(cfg.queueProducers),
    r2: cfg.r2,
  };
  const entry = [
    "import * as worker from './index.js';",
    "import { countedEnv, countedHandler } from './__bench_count_bindings.mjs';",
    "export * from './index.js';",
    `export default countedHandler(worker.default, ${JSON.stringify(kinds)});`,
    ...classes.map(
      (c) =>
        `export class ${c} extends worker.${c} { constructor(ctx, env) { super(ctx, countedEnv(env, 'object')); } }`,
    ),
  ].join('\n');
  const dist = join(cfg.dir, 'dist');
  return [
    { type: 'ESModule', path: join(dist, '__bench_counted.mjs'), contents: entry },
    { type: 'ESModule', path: join(dist, '__bench_count_bindings.mjs'), contents: lib.code },
  ];
}

export async function startEdgeway(
  cfg: WranglerConfig,
  openaiBaseUrl: string,
  opts: EdgewayOptions = {},
): Promise<RunningWorker> {
  if (opts.counted && opts.stubD1) throw new Error('a counted instance counts the real bindings: no stubD1');
  const source = opts.counted
    ? {
        modules: [...(await countedModules(cfg)), { type: 'ESModule', path: cfg.bundle }],
        modulesRoot: join(cfg.dir, 'dist'),
      }
    : opts.stubD1
      ? {
          modules: [
            { type: 'ESModule', path: join(cfg.dir, 'dist', '__bench_stub_d1.mjs'), contents: NO_D1_WRAPPER },
            { type: 'ESModule', path: cfg.bundle },
          ],
          modulesRoot: join(cfg.dir, 'dist'),
        }
      : { modules: true, scriptPath: cfg.bundle, modulesRoot: join(cfg.dir, 'dist') };
  const w = await start(
    opts.name ?? 'edgeway',
    {
      ...source,
      ...runtime(cfg),
      bindings: {
        ...cfg.vars,
        ENVIRONMENT: 'development',
        ALLOW_ANONYMOUS: 'true',
        OPENAI_API_KEY: DUMMY_KEY,
        OPENAI_BASE_URL: openaiBaseUrl,
        // The rate limiter stays on (it is part of the pipeline: a RateLimiter Durable Object call per
        // request), with limits the load never reaches. 1,000,000 is the largest value Edgeway's config
        // accepts for both; the bench sends well under that per instance.
        ...RATE_LIMITS_FOR_LOAD,
        ...TIER_LIMITS_FOR_LOAD,
        ...(opts.noRateLimit ? { RATE_LIMIT_ENABLED: 'false' } : {}),
        ...opts.bindings,
      },
      // As wrangler.toml declares them (DB, CACHE, FILES, the Durable Objects the worker exports, and
      // the queues it produces to and consumes — the consumer is this same worker, in the same process).
      d1Databases: cfg.d1,
      kvNamespaces: cfg.kv,
      r2Buckets: cfg.r2,
      durableObjects: cfg.durableObjects,
      ...(Object.keys(cfg.queueProducers).length > 0 && !opts.noRequestLog
        ? { queueProducers: cfg.queueProducers }
        : {}),
      ...(Object.keys(cfg.queueConsumers).length > 0 && !opts.noRequestLog
        ? { queueConsumers: cfg.queueConsumers }
        : {}),
    } as WorkerShape,
    opts,
  );
  try {
    await applyMigrations(w.mf, cfg.dir);
  } catch (err) {
    await w.dispose();
    throw err;
  }
  return w;
}

async function applyMigrations(mf: Miniflare, dir: string): Promise<void> {
  const db = await mf.getD1Database('DB');
  for (const sql of migrationStatements(dir)) await db.prepare(sql).run();
}

export interface Recorded {
  total: number;
  // Rows by cache_status (HIT / MISS / BYPASS); empty for a commit without that column.
  byCache: Record<string, number>;
  // Rows the request-log queue consumer wrote to request_events; undefined without that table.
  events?: number;
}

export async function countRecordedRequests(mf: Miniflare): Promise<Recorded> {
  const db = await mf.getD1Database('DB');
  const row = await db.prepare('SELECT count(*) AS n FROM requests').first<{ n: number }>();
  const byCache: Record<string, number> = {};
  try {
    const { results } = await db
      .prepare('SELECT cache_status AS s, count(*) AS n FROM requests GROUP BY cache_status')
      .all<{ s: string | null; n: number }>();
    for (const r of results) byCache[r.s ?? '(null)'] = r.n;
  } catch {
    // no cache_status column before the response cache
  }
  let events: number | undefined;
  try {
    events = (await db.prepare('SELECT count(*) AS n FROM request_events').first<{ n: number }>())?.n ?? 0;
  } catch {
    // no request log before it
  }
  return { total: row?.n ?? 0, byCache, ...(events === undefined ? {} : { events }) };
}
