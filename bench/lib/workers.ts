// Workers under test, each on its own Miniflare instance (so its own workerd process, whose CPU
// time we can read), reached through a direct socket to the worker: no Miniflare entry worker, no
// wrangler dev proxy — just workerd, as the worker would run at the edge.
import { join } from 'node:path';
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from 'miniflare';
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

// A D1 stand-in for the profile variant: answers drizzle's `insert … returning` with id 1 and runs
// no SQL. The patched env is made once per real env, as workerd hands every request the same env
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
export default {
  fetch(request, env, ctx) {
    let e = patched.get(env);
    if (!e) { e = { ...env, DB: stubDb }; patched.set(env, e); }
    return app.fetch(request, e, ctx);
  },
};
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

export interface EdgewayOptions extends StartOptions {
  // Replace the D1 binding with a stub (no SQL): isolates the cost of request recording.
  stubD1?: boolean;
  name?: string;
}

export async function startEdgeway(
  cfg: WranglerConfig,
  openaiBaseUrl: string,
  opts: EdgewayOptions = {},
): Promise<RunningWorker> {
  const source = opts.stubD1
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
      },
      // As wrangler.toml declares them (DB, CACHE, FILES, and any Durable Object the worker exports).
      d1Databases: cfg.d1,
      kvNamespaces: cfg.kv,
      r2Buckets: cfg.r2,
      durableObjects: cfg.durableObjects,
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

export async function countRecordedRequests(mf: Miniflare): Promise<number> {
  const db = await mf.getD1Database('DB');
  const row = await db.prepare('SELECT count(*) AS n FROM requests').first<{ n: number }>();
  return row?.n ?? 0;
}
