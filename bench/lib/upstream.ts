// Starts bench/upstream.ts (the mock upstreams) as a child process and waits for its URLs.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './project';

export interface Upstream {
  mock: string; // project's mock upstream (test/mock-upstream), origin
  stream: string; // bench's spaced streaming mock, origin
  pid: number;
  stop(): Promise<void>;
}

export async function startUpstream(chunks: number, gapMs: number): Promise<Upstream> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'upstream.ts')], {
    cwd: ROOT,
    env: { ...process.env, BENCH_STREAM_CHUNKS: String(chunks), BENCH_STREAM_GAP_MS: String(gapMs) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => reject(new Error('mock upstream did not start within 30 s')), 30_000);
    rl.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`mock upstream exited (${code}) before listening`)));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  const info = JSON.parse(line) as { mock: string; stream: string; pid: number };
  return { ...info, stop };
}
