// npm run bench:rooms — a chat's live room relaying one assistant stream to many members.
//
// One Edgeway instance (Miniflare, as `npm run bench`), the bench's streaming mock behind the OpenAI provider
// (20 chunks 5 ms apart, each stamped with the mock's monotonic send time), and a chat shared with its
// organization. For each room size (1, then --members, default 100) all members connect to the room over
// WebSocket (`ws`), one of them sends a `chat` frame, and every member records when each `stream` frame
// arrives. Reported per room size, over rounds:
//   - delivery latency per chunk and member: arrival − the mock's send time (same machine, same clock);
//   - added by the room's size: the big room's p50/p99 minus the one-member room's;
//   - fan-out spread: per chunk, the last member's arrival − the first member's;
//   - workerd CPU per broadcast frame: the process's CPU over the turn, minus the one-member room's, divided
//     by the extra frames sent (frames × (members − 1)).
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { request } from 'undici';
import { cpuMs } from './lib/proc';
import { ensureBuild, readWranglerConfig } from './lib/project';
import { fmt, percentile, sortedCopy, table } from './lib/stats';
import { startUpstream } from './lib/upstream';
import { startEdgeway, type RunningWorker } from './lib/workers';

const { values: args } = parseArgs({
  options: {
    members: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    build: { type: 'boolean', default: false },
  },
});
const MEMBERS = Number(args.members);
const ROUNDS = Number(args.rounds);
const CHUNKS = 20;
const GAP_MS = 5;
const log = (msg: string) => process.stderr.write(`[bench:rooms] ${msg}\n`);

async function post(origin: string, path: string, body: unknown, token?: string) {
  const res = await request(origin + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

interface Member {
  ws: WebSocket;
  // chunk index → arrival (process.hrtime, ns) and the mock's stamp (ns)
  arrivals: Map<number, { at: bigint; sent: bigint }>;
  done: Promise<void>;
}

const STAMP = /\[t:(\d+):(\d+)\]/;

function join(origin: string, chatId: string, token: string, id: string): Promise<Member> {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws/chat?chat_id=${chatId}&token=${token}`);
  const arrivals = new Map<number, { at: bigint; sent: bigint }>();
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  ws.on('message', (data) => {
    const at = process.hrtime.bigint();
    const frame = JSON.parse(String(data)) as { type: string; id?: string; data?: { chunk?: string } };
    if (frame.type === 'stream' && frame.id === id) {
      const m = STAMP.exec(frame.data?.chunk ?? '');
      if (m) arrivals.set(Number(m[1]), { at, sent: BigInt(m[2] ?? '0') });
    }
    if ((frame.type === 'complete' || frame.type === 'error') && frame.id === id) finish();
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, arrivals, done }));
    ws.once('error', reject);
  });
}

interface RoundResult {
  latenciesMs: number[];
  spreadsMs: number[];
  cpuMs: number;
  frames: number;
}

async function round(w: RunningWorker, chatId: string, token: string, size: number, n: number): Promise<RoundResult> {
  const id = `bench-${size}-${n}-${Date.now()}`;
  const members = await Promise.all(Array.from({ length: size }, () => join(w.origin, chatId, token, id)));
  await new Promise((r) => setTimeout(r, 200));
  const cpu0 = w.pids.reduce((s, p) => s + cpuMs(p), 0);
  members[0]?.ws.send(JSON.stringify({ type: 'chat', id, data: { message: `relay ${id}`, model: 'gpt-4o-mini' } }));
  await Promise.all(members.map((m) => m.done));
  const cpu = w.pids.reduce((s, p) => s + cpuMs(p), 0) - cpu0;
  const latenciesMs: number[] = [];
  const spreadsMs: number[] = [];
  for (let i = 0; i < CHUNKS; i += 1) {
    const times = members.map((m) => m.arrivals.get(i)).filter((x) => x !== undefined);
    for (const t of times) latenciesMs.push(Number(t.at - t.sent) / 1e6);
    if (times.length === size && size > 1) {
      const ats = times.map((t) => Number(t.at) / 1e6);
      spreadsMs.push(Math.max(...ats) - Math.min(...ats));
    }
  }
  for (const m of members) m.ws.close();
  await new Promise((r) => setTimeout(r, 200));
  const frames = members[0]?.arrivals.size ?? 0;
  if (latenciesMs.length !== size * CHUNKS) log(`round ${n}: ${latenciesMs.length} of ${size * CHUNKS} chunk arrivals`);
  return { latenciesMs, spreadsMs, cpuMs: cpu, frames };
}

async function main() {
  ensureBuild(args.build, log);
  const cfg = readWranglerConfig();
  const upstream = await startUpstream(CHUNKS, GAP_MS);
  const w = await startEdgeway(cfg, `${upstream.stream}/v1`, {
    name: 'edgeway-rooms',
    bindings: {
      WS_CONNECTIONS_PER_MINUTE: '100000',
      ROOM_MAX_MEMBERS: String(Math.max(200, MEMBERS)),
      CACHE_ENABLED: 'false',
    },
  });
  try {
    const account = await post(w.origin, '/api/v1/auth/register', {
      email: 'rooms@example.com',
      password: 'bench-password-0123456789',
      username: 'rooms',
    });
    const token = String(account.access_token);
    const chat = await post(w.origin, '/api/v1/chat', { model_id: 'gpt-4o-mini', model_api_source: 'openai' }, token);
    const chatId = String(chat.chat_id);
    const results: Record<number, RoundResult[]> = { 1: [], [MEMBERS]: [] };
    // Warm-up round, then alternate sizes so drift hits both alike.
    await round(w, chatId, token, 1, -1);
    for (let n = 0; n < ROUNDS; n += 1) {
      for (const size of [1, MEMBERS]) {
        results[size]?.push(await round(w, chatId, token, size, n));
        log(`round ${n + 1}/${ROUNDS}, ${size} member(s)`);
      }
    }
    const summary = (size: number) => {
      const rs = results[size] ?? [];
      const lat = sortedCopy(rs.flatMap((r) => r.latenciesMs));
      const spread = sortedCopy(rs.flatMap((r) => r.spreadsMs));
      const cpu = rs.reduce((s, r) => s + r.cpuMs, 0) / Math.max(1, rs.length);
      const frames = rs.reduce((s, r) => s + r.frames, 0) / Math.max(1, rs.length);
      return { lat, spread, cpu, frames, samples: lat.length };
    };
    const one = summary(1);
    const many = summary(MEMBERS);
    const extraFrames = many.frames * (MEMBERS - 1);
    const cpuPerBroadcastUs = extraFrames > 0 ? ((many.cpu - one.cpu) * 1000) / extraFrames : NaN;
    const rows = [one, many].map((s, i) => [
      i === 0 ? '1 member' : `${MEMBERS} members`,
      String(s.samples),
      fmt(percentile(s.lat, 50), 3),
      fmt(percentile(s.lat, 99), 3),
      s.spread.length > 0 ? fmt(percentile(s.spread, 50), 3) : '—',
      s.spread.length > 0 ? fmt(percentile(s.spread, 99), 3) : '—',
      fmt(s.cpu, 1),
    ]);
    const out = [
      `# Rooms bench — ${new Date().toISOString()}`,
      '',
      `One chat room, the streaming mock (${CHUNKS} chunks ${GAP_MS} ms apart) behind the OpenAI provider, ${ROUNDS} rounds per size after a warm-up; all members on one machine over loopback WebSockets (\`ws\`).`,
      '',
      table(
        [
          'room',
          'chunk arrivals',
          'latency p50 ms',
          'latency p99 ms',
          'fan-out spread p50 ms',
          'fan-out spread p99 ms',
          'workerd CPU ms / turn',
        ],
        rows,
      ),
      '',
      `Added by ${MEMBERS} members over 1: p50 ${fmt(percentile(many.lat, 50) - percentile(one.lat, 50), 3)} ms, p99 ${fmt(percentile(many.lat, 99) - percentile(one.lat, 99), 3)} ms per chunk and member. workerd CPU per extra broadcast frame (a frame sent to one more member): ${fmt(cpuPerBroadcastUs, 1)} µs.`,
    ].join('\n');
    process.stdout.write(`${out}\n`);
  } finally {
    await w.dispose();
    await upstream.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
