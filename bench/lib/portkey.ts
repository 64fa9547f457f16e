// The peer target: the Portkey AI gateway (@portkey-ai/gateway from npm) on Node, its own
// build/start-server.js, in a child process of its own whose CPU time the bench reads from /proc.
// bench/portkey-loopback.mjs is preloaded into it: it listens on 127.0.0.1 only (start-server.js has
// no host option), reports the port it got, cannot connect anywhere but loopback, and exits when the
// bench's end of its stdin closes.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { ExtraHeaders } from './load';
import { ROOT } from './project';
import { DUMMY_KEY } from './workers';

export interface Portkey {
  origin: string;
  pid: number;
  version: string;
  // Headers that route a request through Portkey to the OpenAI-compatible upstream at `baseUrl`
  // (e.g. http://127.0.0.1:PORT/v1): Portkey calls `${baseUrl}/chat/completions`.
  headersFor(baseUrl: string): ExtraHeaders;
  stop(): Promise<void>;
}

export async function startPortkey(log: (msg: string) => void): Promise<Portkey> {
  const require = createRequire(join(ROOT, 'package.json'));
  const pkgPath = require.resolve('@portkey-ai/gateway/package.json');
  const pkg = require(pkgPath) as { version: string };
  const server = join(pkgPath, '..', 'build', 'start-server.js');
  const preload = pathToFileURL(join(ROOT, 'bench', 'portkey-loopback.mjs')).href;
  const child = spawn(process.execPath, ['--import', preload, server, '--port=0', '--headless'], {
    cwd: ROOT,
    // Only what Node needs: no provider keys, no proxies, no Redis from the bench's environment.
    // NODE_ENV=production as a deployment would run it (and no log-viewer UI).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production' },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Its banner and any per-request logging are drained (an unread pipe would block it); the last lines
  // are kept for an error message. stderr lines are passed on.
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  createInterface({ input: child.stdout as Readable }).on('line', keep);
  createInterface({ input: child.stderr as Readable }).on('line', (line) => {
    keep(line);
    log(`portkey: ${line}`);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Portkey did not listen within 30 s')), 30_000);
    const fd3 = child.stdio[3] as Readable;
    createInterface({ input: fd3 }).once('line', (line) => {
      clearTimeout(timer);
      const { port: p } = JSON.parse(line) as { port: number };
      resolve(p);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Portkey exited (${code}) before listening: ${tail.join(' | ')}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  if (child.pid === undefined) throw new Error('Portkey: no pid');
  return {
    origin: `http://127.0.0.1:${port}`,
    pid: child.pid,
    version: pkg.version,
    headersFor: (baseUrl) => ({
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': baseUrl,
      authorization: `Bearer ${DUMMY_KEY}`,
    }),
    stop,
  };
}
