// `npm run bench:miss -- --base REF [--ref REF]`: the cache-MISS path (cache read and write on, every
// prompt new) of two builds side by side on workerd, against the same mock upstream. Made to price a
// change on that path (e.g. the CacheFlight Durable Object hop): report head/base ratios from one run.
// Loopback only; everything it starts is stopped before it exits.
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { HEADERS, PATH } from './lib/load';
import { cpuMs } from './lib/proc';
import { exportAndBuild, readWranglerConfig } from './lib/project';
import { fmt, median, nsToMs, percentile, sortedCopy, table } from './lib/stats';
import { startUpstream } from './lib/upstream';
import { type RunningWorker, startEdgeway } from './lib/workers';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string', default: 'HEAD~1' },
    ref: { type: 'string', default: 'HEAD' },
    requests: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '100' },
    connections: { type: 'string', default: '20' },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    semantic: { type: 'boolean', default: false },
  },
});

const log = (msg: string) => process.stderr.write(`[bench:miss] ${msg}\n`);
let seq = 0;
// A prompt never asked before: every request is an exact (and semantic) cache miss.
const body = (id: string, stream = false) =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `Miss path probe ${id}, say hi.` }],
    ...(stream ? { stream: true } : {}),
  });

// Each sample: request sent → whole body read (stream: → first data frame, in `ttfb`).
async function sequentialMisses(
  origin: string,
  count: number,
  warmup: number,
  stream = false,
): Promise<{ total: number[]; ttfb: number[] }> {
  const client = new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000 });
  const samples: number[] = [];
  const firsts: number[] = [];
  try {
    for (let i = 0; i < warmup + count; i++) {
      const t0 = process.hrtime.bigint();
      const res = await client.request({
        path: PATH,
        method: 'POST',
        headers: HEADERS,
        body: body(`s${seq++}`, stream),
      });
      let first: bigint | undefined;
      for await (const chunk of res.body) {
        if (first === undefined && String(chunk).includes('data: {')) first = process.hrtime.bigint();
      }
      const t1 = process.hrtime.bigint();
      if (res.statusCode !== 200 || res.headers['x-cache-status'] !== 'MISS') {
        throw new Error(`${origin}: ${res.statusCode} ${String(res.headers['x-cache-status'])}, expected 200 MISS`);
      }
      if (i >= warmup) {
        samples.push(nsToMs(t1 - t0));
        if (first !== undefined) firsts.push(nsToMs(first - t0));
      }
    }
  } finally {
    await client.close();
  }
  return { total: sortedCopy(samples), ttfb: sortedCopy(firsts) };
}

async function saturatedMisses(w: RunningWorker, connections: number, durationS: number) {
  const cpu0 = w.pids.reduce((s, p) => s + cpuMs(p), 0);
  const r = await autocannon({
    url: w.origin + PATH,
    method: 'POST',
    headers: HEADERS,
    // autocannon puts a fresh id in [<id>] for every request.
    body: body(`r${seq++}-[<id>]`),
    idReplacement: true,
    connections,
    duration: durationS,
    timeout: 10,
  });
  const cpu = w.pids.reduce((s, p) => s + cpuMs(p), 0) - cpu0;
  return { rps: r['2xx'] / r.duration, bad: r.non2xx + r.errors + r.timeouts, cpuUsPerReq: (cpu * 1000) / r['2xx'] };
}

async function main(): Promise<void> {
  const upstream = await startUpstream(20, 5);
  const builds = [
    { name: 'base', exported: exportAndBuild(args.base, log) },
    { name: 'head', exported: exportAndBuild(args.ref, log) },
  ];
  const workers: RunningWorker[] = [];
  try {
    for (const b of builds) {
      const cfg = readWranglerConfig(b.exported.dir);
      workers.push(
        await startEdgeway(cfg, `${upstream.mock}/v1`, {
          name: `edgeway-${b.name}`,
          bindings: { SEMANTIC_CACHE_ENABLED: args.semantic ? 'true' : 'false' },
        }),
      );
    }
    const rows: string[][] = [];
    const ratios = { p50: [] as number[], rps: [] as number[], cpu: [] as number[], ttfb: [] as number[] };
    for (let round = 0; round < Number(args.rounds); round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      const seqRes: number[][] = [];
      const ttfbRes: number[][] = [];
      const satRes: Awaited<ReturnType<typeof saturatedMisses>>[] = [];
      for (const i of order) {
        const w = workers[i] as RunningWorker;
        seqRes[i] = (await sequentialMisses(w.origin, Number(args.requests), Number(args.warmup))).total;
        const streamed = Math.max(1, Math.round(Number(args.requests) / 5));
        ttfbRes[i] = (await sequentialMisses(w.origin, streamed, Number(args.warmup) / 5, true)).ttfb;
        satRes[i] = await saturatedMisses(w, Number(args.connections), Number(args.duration));
      }
      for (const i of [0, 1]) {
        const s = seqRes[i] as number[];
        const t = satRes[i] as Awaited<ReturnType<typeof saturatedMisses>>;
        rows.push([
          String(round + 1),
          builds[i]?.name ?? '',
          `${builds[i]?.exported.sha.slice(0, 10)}`,
          fmt(percentile(s, 50), 3),
          fmt(percentile(s, 90), 3),
          fmt(percentile(ttfbRes[i] as number[], 50), 3),
          fmt(t.rps, 0),
          fmt(t.cpuUsPerReq, 0),
          String(t.bad),
        ]);
      }
      const [b, h] = [seqRes[0] as number[], seqRes[1] as number[]];
      ratios.p50.push(percentile(h, 50) - percentile(b, 50));
      ratios.ttfb.push(percentile(ttfbRes[1] as number[], 50) - percentile(ttfbRes[0] as number[], 50));
      ratios.rps.push((satRes[1]?.rps ?? Number.NaN) / (satRes[0]?.rps ?? Number.NaN));
      ratios.cpu.push((satRes[1]?.cpuUsPerReq ?? Number.NaN) - (satRes[0]?.cpuUsPerReq ?? Number.NaN));
    }
    process.stdout.write(
      `\n${table(['round', 'build', 'commit', 'c=1 p50 ms', 'c=1 p90 ms', 'stream TTFB p50 ms', `c=${args.connections} rps`, 'server CPU µs/req', 'non-2xx'], rows)}\n`,
    );
    process.stdout.write(
      `\nmedian over ${args.rounds} rounds: head − base c=1 p50 ${fmt(median(ratios.p50), 3)} ms; ` +
        `stream TTFB p50 ${fmt(median(ratios.ttfb), 3)} ms; head / base rps ${fmt(median(ratios.rps), 3)}; head − base server CPU ${fmt(median(ratios.cpu), 0)} µs/req\n`,
    );
  } finally {
    await Promise.all(workers.map((w) => w.dispose()));
    await upstream.stop();
    for (const b of builds) b.exported.remove();
  }
}

await main();
