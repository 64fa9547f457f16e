// What the bench needs from the project: wrangler.toml's compatibility settings, [vars] and
// bindings, the built bundle and the D1 migrations — from the working tree (rebuilt when the bundle
// is older than its sources), or from a commit exported to a temporary directory and built there, so
// a run measures one known state of the code while others keep editing the tree.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The repository the bench belongs to (mock upstream, node_modules, bench/ itself).
export const ROOT = join(import.meta.dirname, '..', '..');

export interface DurableObjectBinding {
  className: string;
  scriptName?: string;
  useSQLite: boolean;
}

export interface QueueConsumer {
  maxBatchSize?: number;
  maxBatchTimeout?: number;
  maxRetries?: number;
  deadLetterQueue?: string;
}

export interface WranglerConfig {
  // The tree measured: ROOT, or a commit exported to a temporary directory.
  dir: string;
  bundle: string; // <dir>/dist/index.js
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  d1: string[];
  kv: string[];
  r2: string[];
  durableObjects: Record<string, DurableObjectBinding>;
  // [[queues.producers]]: binding → queue name; [[queues.consumers]]: queue name → settings. The
  // consumer is the worker itself (its `queue` handler), as wrangler.toml declares it.
  queueProducers: Record<string, { queueName: string }>;
  queueConsumers: Record<string, QueueConsumer>;
}

type Value = string | string[] | boolean | number;
type Table = Record<string, Value>;

// Just enough TOML for wrangler.toml's top level: `key = "string" | ["a", "b"] | true | 12`, tables
// ([vars]) and arrays of tables ([[d1_databases]], [[durable_objects.bindings]], [[migrations]],
// [[queues.producers]], [[queues.consumers]]).
// Everything under [env.*] is ignored; so are values this reader does not understand.
export function readWranglerConfig(dir: string = ROOT): WranglerConfig {
  const text = readFileSync(join(dir, 'wrangler.toml'), 'utf8');
  const top: Table = {};
  const tables = new Map<string, Table>();
  const arrays = new Map<string, Table[]>();
  let current: Table | undefined = top;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const arrayHeader = /^\[\[([^\]]+)\]\]$/.exec(line);
    const tableHeader = /^\[([^\]]+)\]$/.exec(line);
    if (arrayHeader || tableHeader) {
      const name = (arrayHeader?.[1] ?? tableHeader?.[1] ?? '').trim();
      if (name.startsWith('env.')) current = undefined;
      else if (arrayHeader) {
        const list = arrays.get(name) ?? [];
        current = {};
        list.push(current);
        arrays.set(name, list);
      } else {
        current = tables.get(name) ?? {};
        tables.set(name, current);
      }
      continue;
    }
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.+)$/.exec(line);
    if (!kv || !current) continue;
    const parsed = parseValue(kv[2] ?? '');
    if (parsed !== undefined) current[kv[1] ?? ''] = parsed;
  }
  const date = top.compatibility_date;
  const flags = top.compatibility_flags;
  if (typeof date !== 'string') throw new Error('wrangler.toml: compatibility_date not found');
  const str = (t: Table, k: string) => (typeof t[k] === 'string' ? (t[k] as string) : undefined);
  const names = (section: string) =>
    (arrays.get(section) ?? []).map((t) => str(t, 'binding')).filter((n): n is string => n !== undefined);
  const sqliteClasses = new Set(
    (arrays.get('migrations') ?? []).flatMap((m) => (Array.isArray(m.new_sqlite_classes) ? m.new_sqlite_classes : [])),
  );
  const durableObjects: Record<string, DurableObjectBinding> = {};
  for (const t of arrays.get('durable_objects.bindings') ?? []) {
    const name = str(t, 'name');
    const className = str(t, 'class_name');
    if (!name || !className) continue;
    const scriptName = str(t, 'script_name');
    durableObjects[name] = {
      className,
      ...(scriptName ? { scriptName } : {}),
      useSQLite: sqliteClasses.has(className),
    };
  }
  const num = (t: Table, k: string) => (typeof t[k] === 'number' ? (t[k] as number) : undefined);
  const queueProducers: Record<string, { queueName: string }> = {};
  for (const t of arrays.get('queues.producers') ?? []) {
    const binding = str(t, 'binding');
    const queue = str(t, 'queue');
    if (binding && queue) queueProducers[binding] = { queueName: queue };
  }
  const queueConsumers: Record<string, QueueConsumer> = {};
  for (const t of arrays.get('queues.consumers') ?? []) {
    const queue = str(t, 'queue');
    if (!queue) continue;
    const c: QueueConsumer = {};
    const size = num(t, 'max_batch_size');
    const timeout = num(t, 'max_batch_timeout');
    const retries = num(t, 'max_retries');
    const dlq = str(t, 'dead_letter_queue');
    if (size !== undefined) c.maxBatchSize = size;
    if (timeout !== undefined) c.maxBatchTimeout = timeout;
    if (retries !== undefined) c.maxRetries = retries;
    if (dlq !== undefined) c.deadLetterQueue = dlq;
    queueConsumers[queue] = c;
  }
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(tables.get('vars') ?? {})) if (typeof v === 'string') vars[k] = v;
  return {
    dir,
    bundle: join(dir, 'dist', 'index.js'),
    compatibilityDate: date,
    compatibilityFlags: Array.isArray(flags) ? flags : [],
    vars,
    d1: names('d1_databases'),
    kv: names('kv_namespaces'),
    r2: names('r2_buckets'),
    durableObjects,
    queueProducers,
    queueConsumers,
  };
}

function parseValue(value: string): Value | undefined {
  const v = value.replace(/\s+#.*$/, '').trim();
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  try {
    if (v.startsWith('"')) return JSON.parse(v) as string;
    if (v.startsWith('[')) return JSON.parse(v) as string[];
  } catch {
    return undefined; // multi-line arrays, single-quoted strings: not needed here
  }
  return undefined;
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function build(dir: string): void {
  const r = spawnSync('npm', ['run', 'build'], {
    cwd: dir,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`npm run build in ${dir} failed (exit ${r.status ?? r.signal})`);
}

// `npm run build` when dist/index.js is missing or older than src/, package.json or wrangler.toml.
export function ensureBuild(force: boolean, log: (msg: string) => void): void {
  const bundle = join(ROOT, 'dist', 'index.js');
  const sources = Math.max(
    newestMtime(join(ROOT, 'src')),
    newestMtime(join(ROOT, 'package.json')),
    newestMtime(join(ROOT, 'wrangler.toml')),
  );
  if (!force && existsSync(bundle) && statSync(bundle).mtimeMs >= sources) {
    log('dist/index.js is up to date');
    return;
  }
  log(
    existsSync(bundle) ? 'dist/index.js is older than its sources: npm run build' : 'no dist/index.js: npm run build',
  );
  build(ROOT);
}

// `git archive <ref>` into a temporary directory, with the repository's node_modules linked in,
// then `npm run build` there. Touches neither the working tree nor .git.
export function exportAndBuild(ref: string, log: (msg: string) => void): { dir: string; sha: string; remove(): void } {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ROOT })
    .toString()
    .trim();
  const dir = mkdtempSync(join(tmpdir(), `edgeway-bench-${sha.slice(0, 8)}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    log(`exporting ${ref} (${sha.slice(0, 12)}) to ${dir} and building it there`);
    const tar = execFileSync('git', ['archive', '--format=tar', sha], { cwd: ROOT, maxBuffer: 1 << 30 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    build(dir);
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, sha, remove };
}

// Statements of migrations/*.sql in order, split where drizzle-kit marks them.
export function migrationStatements(root: string): string[] {
  const dir = join(root, 'migrations');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('--> statement-breakpoint'))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
