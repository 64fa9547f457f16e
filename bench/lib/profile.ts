// A V8 CPU profile of Edgeway's isolate while it is under load, taken over workerd's inspector
// (Chrome DevTools protocol), with every sampled function mapped back through dist/index.js.map to
// the package or source file it came from. Natives without a script (JSON.parse, Promise machinery,
// fetch internals) are charged to their nearest JS caller, so "openai" includes what the SDK calls.
import { readFileSync } from 'node:fs';
import { BYPASS_CACHE, saturate, warmCache } from './load';
import { cpuMs } from './proc';
import type { WranglerConfig } from './project';
import { fmt, table } from './stats';
import { type RunningWorker, startEdgeway } from './workers';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileReport {
  sampledMs: number;
  groups: { group: string; ms: number; share: number }[];
  functions: { fn: string; where: string; ms: number; share: number }[];
  text: string;
}

// --- source maps (VLQ "mappings", version 3) --------------------------------------------------------
const B64 = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));

interface LineMap {
  cols: number[];
  sources: number[];
  lines: number[];
}

function decodeMappings(mappings: string): LineMap[] {
  const out: LineMap[] = [];
  let src = 0;
  let srcLine = 0;
  for (const line of mappings.split(';')) {
    const lm: LineMap = { cols: [], sources: [], lines: [] };
    let col = 0;
    if (line !== '') {
      for (const seg of line.split(',')) {
        const fields: number[] = [];
        let value = 0;
        let shift = 0;
        for (const ch of seg) {
          const d = B64.get(ch) ?? 0;
          value += (d & 31) << shift;
          if (d & 32) shift += 5;
          else {
            fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
            value = 0;
            shift = 0;
          }
        }
        col += fields[0] ?? 0;
        if (fields.length >= 4) {
          src += fields[1] ?? 0;
          srcLine += fields[2] ?? 0;
          // Fields 4 and 5 (source column, name index) are relative too, but nothing here reads them.
          lm.cols.push(col);
          lm.sources.push(src);
          lm.lines.push(srcLine);
        }
      }
    }
    out.push(lm);
  }
  return out;
}

function loadSourceMap(bundle: string) {
  const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[]; mappings: string };
  const lines = decodeMappings(map.mappings);
  return (line: number, col: number): { source: string; line: number } | undefined => {
    const lm = lines[line];
    if (!lm || lm.cols.length === 0) return undefined;
    let lo = 0;
    let hi = lm.cols.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((lm.cols[mid] ?? 0) <= col) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) best = 0;
    const source = map.sources[lm.sources[best] ?? 0];
    return source === undefined ? undefined : { source, line: (lm.lines[best] ?? 0) + 1 };
  };
}

// node_modules/.pnpm-free layouts: "../node_modules/@hono/zod-openapi/dist/index.js" → "@hono/zod-openapi".
function groupOf(source: string): string {
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = source.slice(nm + 'node_modules/'.length).split('/');
    // drizzle-orm's own source maps point at ../src, which esbuild resolves to node_modules/src.
    if (rest[0] === 'src') return 'drizzle-orm';
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? source);
    // Split the big ones by area, so "hono" does not hide which part costs.
    if (pkg === 'hono' || pkg === 'zod' || pkg === 'openai' || pkg === 'drizzle-orm') {
      const file = rest.slice(1).join('/');
      const area = /(?:dist|src)\/(?:cjs\/|esm\/|v4\/|v3\/)*(?:classic\/|core\/|mini\/)?([^/.]+)/.exec(file)?.[1];
      return area ? `${pkg} (${area})` : pkg;
    }
    return pkg;
  }
  const srcIdx = source.indexOf('src/');
  return srcIdx >= 0 ? source.slice(srcIdx) : source.replace(/^(\.\.\/)+/, '');
}

function shortPath(source: string): string {
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) return source.slice(nm);
  return source.replace(/^(\.\.\/)+/, '');
}

// --- inspector ---------------------------------------------------------------------------------
class Inspector {
  private next = 1;
  private pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private constructor(private ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
  }
  static async connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`inspector: cannot connect to ${url}`)), { once: true });
    });
    return new Inspector(ws);
  }
  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((resolve, reject) =>
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }),
    );
  }
  close(): void {
    this.ws.close();
  }
}

// --- aggregation --------------------------------------------------------------------------------
const SPECIAL = new Set(['(program)', '(idle)', '(garbage collector)', '(root)']);

// Self time per node: samples × the sampling interval. V8 takes a sample only while the isolate is
// entered, and isolates of one workerd process share its thread, so time-delta attribution would
// charge the gaps (other isolates running) to whichever sample came next; counting samples does not.
const SAMPLING_US = 200;

function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  for (const id of profile.samples ?? []) self.set(id, (self.get(id) ?? 0) + SAMPLING_US);
  return self;
}

export interface IsolateSummary {
  isolate: string;
  jsMs: number; // JS and natives called from JS
  gcMs: number;
  programMs: number;
  idleMs: number;
}

function summarise(isolate: string, profile: CpuProfile): IsolateSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const sum: IsolateSummary = { isolate, jsMs: 0, gcMs: 0, programMs: 0, idleMs: 0 };
  for (const [id, us] of selfTimes(profile)) {
    const name = byId.get(id)?.callFrame.functionName;
    if (name === '(idle)') sum.idleMs += us / 1000;
    else if (name === '(program)') sum.programMs += us / 1000;
    else if (name === '(garbage collector)') sum.gcMs += us / 1000;
    else if (name !== '(root)') sum.jsMs += us / 1000;
  }
  return sum;
}

const DURABLE_OBJECT_FILES = [
  'src/features/rate-limits/rate-limiter.ts',
  'src/features/cache/cache-index.ts',
  'src/features/cache/semantic-index.ts',
  'src/features/single-flight/cache-flight.ts',
];

function category(group: string): string {
  if (group.startsWith('openai')) return 'openai SDK (request building, debug-log formatting, parsing)';
  if (
    group === 'drizzle-orm' ||
    group.includes('d1-api') ||
    group.startsWith('src/db/') ||
    group === 'src/features/gateway/request-rows.ts' ||
    group === 'src/features/request-log/row-batch.ts'
  )
    return 'D1 recording, worker side (drizzle-orm + D1 binding JS)';
  if (group === 'src/features/providers/http.ts')
    return 'upstream fetch() (workerd native, the pass-through does it too)';
  // Miniflare runs a worker's Durable Objects in the worker's own isolate (on Cloudflare: elsewhere).
  if (DURABLE_OBJECT_FILES.includes(group)) return 'Durable Objects run in this isolate (RateLimiter, CacheIndex)';
  if (group.startsWith('src/features/cache/') || group.startsWith('src/features/single-flight/'))
    return 'response cache and single-flight (key hash, KV get, CacheIndex/CacheFlight DO calls)';
  if (group === 'src/features/rate-limits/middleware.ts') return 'rate limiter (RateLimiter DO call)';
  if (group === 'src/features/request-log/middleware.ts' || group === 'src/features/request-log/log-batch.ts')
    return 'request log: event and queue send';
  if (group === 'src/features/request-log/consumer.ts') return 'request-log consumer (queue handler, same isolate)';
  if (group.startsWith('hono') || group.startsWith('@hono/')) return 'Hono + @hono/zod-openapi';
  if (group.startsWith('zod')) return 'zod';
  if (group.startsWith('src/')) return 'Edgeway src/ (own code)';
  if (group === '(program)') return "(program): workerd C++ on this isolate's behalf";
  if (group === '(garbage collector)') return '(garbage collector)';
  if (group === '(idle)') return '(idle)';
  return `other: ${group}`;
}

function analyse(
  bundle: string,
  profile: CpuProfile,
  others: IsolateSummary[],
  workerdCpuMs: number,
  requests: number,
): ProfileReport {
  const locate = loadSourceMap(bundle);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = selfTimes(profile);
  const where = new Map<number, { group: string; where: string } | undefined>();
  const placeOf = (n: ProfileNode) => {
    if (where.has(n.id)) return where.get(n.id);
    let place: { group: string; where: string } | undefined;
    const f = n.callFrame;
    if (f.url.endsWith('index.js') || f.url.includes('dist/')) {
      const loc = locate(f.lineNumber, f.columnNumber);
      if (loc) place = { group: groupOf(loc.source), where: `${shortPath(loc.source)}:${loc.line}` };
    } else if (f.url !== '') place = { group: f.url.replace(/^.*\//, ''), where: f.url };
    where.set(n.id, place);
    return place;
  };
  const groups = new Map<string, number>();
  const functions = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    let group: string;
    if (SPECIAL.has(n.callFrame.functionName)) group = n.callFrame.functionName;
    else {
      // Charge natives to the nearest ancestor that has a place in the sources.
      let cur: ProfileNode | undefined = n;
      let place = placeOf(n);
      while (!place && cur) {
        const p = parent.get(cur.id);
        cur = p === undefined ? undefined : byId.get(p);
        place = cur ? placeOf(cur) : undefined;
      }
      group = place?.group ?? '(native, no JS caller)';
    }
    if (group === '(idle)' || group === '(root)') continue;
    total += us;
    groups.set(group, (groups.get(group) ?? 0) + us);
    const own = placeOf(n);
    const fnName = n.callFrame.functionName || '(anonymous)';
    const key = `${fnName}@${own?.where ?? n.callFrame.url}`;
    const f = functions.get(key) ?? { fn: fnName, where: own?.where ?? (n.callFrame.url || '(native)'), us: 0 };
    f.us += us;
    functions.set(key, f);
  }
  const g = [...groups]
    .map(([group, us]) => ({ group, ms: us / 1000, share: us / Math.max(1, total) }))
    .sort((a, b) => b.ms - a.ms);
  const cats = new Map<string, number>();
  for (const x of g) cats.set(category(x.group), (cats.get(category(x.group)) ?? 0) + x.ms);
  const fns = [...functions.values()]
    .map((f) => ({ fn: f.fn, where: f.where, ms: f.us / 1000, share: f.us / Math.max(1, total) }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 20);
  const perReq = (ms: number) => fmt((ms * 1000) / Math.max(1, requests), 0);
  const text = [
    `${requests} requests answered while profiling; workerd process CPU ${fmt(workerdCpuMs, 0)} ms (${perReq(workerdCpuMs)} µs/request, profiler overhead included).`,
    ...others.map(
      (o) =>
        `Isolate ${o.isolate}: ${fmt(o.jsMs, 0)} ms JS (natives included), ${fmt(o.gcMs, 0)} ms GC, ${fmt(o.programMs, 0)} ms (program), counted as samples × ${SAMPLING_US} µs (the sampler may fall behind under load: trust shares more than absolute ms).`,
    ),
    `\nEdgeway's isolate by category (natives such as JSON.parse or fetch are charged to their JS caller):\n`,
    table(
      ['category', 'ms', 'µs/request', 'share'],
      [...cats]
        .sort((a, b) => b[1] - a[1])
        .map(([c, ms]) => [c, fmt(ms, 0), perReq(ms), `${fmt((100 * ms * 1000) / Math.max(1, total), 1)} %`]),
    ),
    `\nBy package / source file:\n`,
    table(
      ['package / file', 'ms', 'share'],
      g.slice(0, 25).map((x) => [x.group, fmt(x.ms, 0), `${fmt(100 * x.share, 1)} %`]),
    ),
    '\nTop functions by self time:\n',
    table(
      ['function', 'where', 'ms', 'share'],
      fns.map((f) => [f.fn, f.where, fmt(f.ms, 0), `${fmt(100 * f.share, 1)} %`]),
    ),
    '',
  ].join('\n');
  return { sampledMs: total / 1000, groups: g, functions: fns, text };
}

// Profiles Edgeway's isolate while autocannon saturates it: on the cache-miss path (cache bypassed), or
// with `hit` on the exact-cache-hit path (one warm-up request stores the answer first). The other isolates of its workerd process
// (Miniflare's outbound interceptor, the D1 simulator) are not sampled; the bench's stubbed-D1 variant
// measures what D1 costs in total from /proc instead.
export async function profileEdgeway(
  cfg: WranglerConfig,
  openaiBaseUrl: string,
  connections: number,
  seconds: number,
  register: (w: RunningWorker) => void,
  hit = false,
): Promise<ProfileReport> {
  const w = await startEdgeway(cfg, openaiBaseUrl, { inspector: true, name: 'edgeway' });
  register(w);
  const headers = hit ? undefined : BYPASS_CACHE;
  try {
    if (hit && !(await warmCache(w.origin, /"content"\s*:\s*"Mock answer to:/)).cacheable)
      throw new Error('profile: this build does not answer the request from its cache');
    await saturate(w.origin, connections, 2, headers); // warm up before attaching
    const targets = await inspectorTargets(w);
    const sessions: { id: string; inspector: Inspector }[] = [];
    try {
      // One profiler only: several on isolates sharing a thread slow workerd down a lot and
      // starve each other's sampling threads.
      for (const t of targets.filter((x) => x.id === `core:user:${w.name}`))
        sessions.push({ id: t.id, inspector: await Inspector.connect(t.url) });
      for (const s of sessions) {
        await s.inspector.send('Profiler.enable');
        await s.inspector.send('Profiler.setSamplingInterval', { interval: SAMPLING_US });
      }
      await Promise.all(sessions.map((s) => s.inspector.send('Profiler.start')));
      const c0 = w.pids.reduce((a, p) => a + cpuMs(p), 0);
      const load = await saturate(w.origin, connections, seconds, headers);
      const workerdMs = w.pids.reduce((a, p) => a + cpuMs(p), 0) - c0;
      const profiles = await Promise.all(
        sessions.map(async (s) => ({
          id: s.id,
          profile: (await s.inspector.send<{ profile: CpuProfile }>('Profiler.stop')).profile,
        })),
      );
      const main = profiles.find((p) => p.id === `core:user:${w.name}`);
      if (!main) throw new Error('inspector: no profile of the Edgeway isolate');
      const summaries = profiles
        .map((p) => summarise(p.id, p.profile))
        .filter((s) => s.jsMs + s.gcMs >= 1)
        .sort((a, b) => b.jsMs + b.gcMs - (a.jsMs + a.gcMs));
      return analyse(cfg.bundle, main.profile, summaries, workerdMs, load.ok);
    } finally {
      for (const s of sessions) s.inspector.close();
    }
  } finally {
    await w.dispose();
  }
}

async function inspectorTargets(w: RunningWorker): Promise<{ id: string; url: string }[]> {
  const ws = await w.mf.getInspectorURL();
  const list = (await (await fetch(`http://${ws.host}/json/list`)).json()) as {
    id: string;
    webSocketDebuggerUrl?: string;
  }[];
  if (!list.some((x) => x.id === `core:user:${w.name}`))
    throw new Error(`inspector: no target for ${w.name} in ${JSON.stringify(list.map((x) => x.id))}`);
  return list.map((x) => ({ id: x.id, url: x.webSocketDebuggerUrl ?? `ws://${ws.host}/${x.id}` }));
}
