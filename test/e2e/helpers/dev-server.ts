// Starts the API the way a developer does (`node scripts/dev.mjs`: local D1 migrations, then
// `wrangler dev --ip 127.0.0.1`) on a free loopback port with its own throwaway state directory,
// and tears the whole process tree down again (dev.mjs -> wrangler -> workerd).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface DevServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  persistDir: string;
  /** Everything the server printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Stops the process tree (SIGTERM, then SIGKILL after a grace period) and removes the state directory. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** How long to wait for GET /health to answer 200. */
  readyTimeoutMs?: number;
  /** Passed to `wrangler dev` as `--var NAME:VALUE`; these win over wrangler.toml and .dev.vars. */
  vars?: Record<string, string>;
  /** How long to wait after SIGTERM before SIGKILL. */
  graceMs?: number;
  /** Serve this state directory (e.g. a stopped server's, to restart it) instead of a new one. */
  persistDir?: string;
  /** Leave the state directory behind on stop (the caller removes it). */
  keepState?: boolean;
}

/** A port nothing listens on right now: bind port 0 on loopback, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The bytes exactly as they came off the wire (node:http never decompresses). */
  body: Buffer;
}

/** A plain node:http request: no automatic decompression, no default Accept-Encoding. */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`timed out: ${options.method ?? 'GET'} ${url}`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export async function startDevServer(options: StartOptions = {}): Promise<DevServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const graceMs = options.graceMs ?? 5_000;
  const port = await freePort();
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), 'edgeway-e2e-'));
  const url = `http://127.0.0.1:${port}`;

  const varArgs = Object.entries(options.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  const args = [join(repoRoot, 'scripts', 'dev.mjs'), '--port', String(port), '--persist-to', persistDir, ...varArgs];

  let log = '';
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    // Its own process group, so the whole tree (wrangler, workerd) can be signalled at once.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // wrangler needs the project's Node (node_modules/.bin/node), whatever PATH the test run had.
      PATH: [join(repoRoot, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
      WRANGLER_SEND_METRICS: 'false',
      CI: 'true',
      NO_COLOR: '1',
      // The e2e project's global setup built the web app once (test/e2e/build-web.ts).
      EDGEWAY_WEB: 'skip',
    },
  });
  const pid = child.pid;
  child.stdout?.on('data', (c: Buffer) => (log += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (log += c.toString('utf8')));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.on('error', (err) => {
      log += `\n[spawn error] ${String(err)}\n`;
      exited ??= { code: null, signal: null };
      resolve();
    });
  });

  // Last resort if the test process dies without running afterAll: never leave a server behind.
  const onExit = () => {
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
  };
  process.on('exit', onExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (pid !== undefined && groupAlive(pid)) {
      killGroup(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (groupAlive(pid) && Date.now() < deadline) await sleep(100);
      if (groupAlive(pid)) killGroup(pid, 'SIGKILL');
      const hardDeadline = Date.now() + 5_000;
      while (groupAlive(pid) && Date.now() < hardDeadline) await sleep(50);
    }
    await Promise.race([exitedPromise, sleep(1_000)]);
    process.off('exit', onExit);
    if (!options.keepState) rmSync(persistDir, { recursive: true, force: true });
  };

  const server: DevServer = { url, port, persistDir, output: () => log, stop };

  const deadline = Date.now() + readyTimeoutMs;
  let lastError = 'no attempt yet';
  while (Date.now() < deadline) {
    if (exited) {
      lastError = `dev server exited early (code ${exited.code}, signal ${exited.signal})`;
      break;
    }
    try {
      const res = await rawRequest(`${url}/health`, { timeoutMs: 5_000 });
      if (res.status === 200) return server;
      lastError = `GET /health answered ${res.status}: ${res.body.toString('utf8').slice(0, 500)}`;
    } catch (err) {
      lastError = String(err);
    }
    await sleep(250);
  }

  await stop();
  const message = `dev server at ${url} not ready within ${readyTimeoutMs} ms: ${lastError}`;
  console.error(`${message}\n----- dev server output -----\n${log}\n----- end of dev server output -----`);
  throw new Error(`${message}\n${log.slice(-4_000)}`);
}

/** POSTs JSON to a running server and returns the JSON answer; any non-2xx fails with its status and body. */
export async function postJson(
  server: Pick<DevServer, 'url'>,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}
