// `npm run dev`: apply D1 migrations to the local database, then serve on http://127.0.0.1:8787.
// Everything runs on Miniflare: no Cloudflare account, no login, no keys. Extra arguments go to
// `wrangler dev` (e.g. `npm run dev -- --port 8788`).
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wrangler = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'wrangler.cmd' : 'wrangler');
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
// `--persist-to=DIR` and `--persist-to DIR` both reach the migration step, so the server and its
// migrations use the same local database.
const extra = process.argv
  .slice(2)
  .flatMap((a) => (a.startsWith('--persist-to=') ? ['--persist-to', a.slice(13)] : [a]));
const persist = extra.includes('--persist-to') ? ['--persist-to', extra[extra.indexOf('--persist-to') + 1]] : [];

spawnSync(process.execPath, [join(root, 'scripts', 'copy-vendor.mjs')], { stdio: 'inherit' });

// The web app (web/ → public/app/): built once before the server starts, so the first page is there, then
// rebuilt on every change while the server runs. EDGEWAY_WEB=skip leaves it as it is (the e2e tests build
// it once for all their servers); EDGEWAY_WEB=once builds without watching.
const vite = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vite.cmd' : 'vite');
const webConfig = ['--config', join(root, 'web', 'vite.config.ts')];
const webMode = process.env.EDGEWAY_WEB ?? 'watch';
let watcher;
if (webMode !== 'skip') {
  const built = spawnSync(vite, ['build', ...webConfig], { cwd: root, env, stdio: 'inherit' });
  if (built.status !== 0) {
    console.error('dev: building the web app failed');
    process.exit(built.status ?? 1);
  }
  if (webMode === 'watch') {
    watcher = spawn(vite, ['build', '--watch', ...webConfig], { cwd: root, env, stdio: 'inherit' });
  }
}

const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', ...persist], {
  cwd: root,
  env: { ...env, CI: 'true' },
  stdio: 'inherit',
});
if (migrate.status !== 0) {
  console.error('dev: applying D1 migrations failed');
  process.exit(migrate.status ?? 1);
}

const hasFlag = (flag) => extra.includes(flag);
const args = [
  'dev',
  ...(hasFlag('--ip') ? [] : ['--ip', '127.0.0.1']),
  ...(hasFlag('--port') ? [] : ['--port', '8787']),
  ...extra,
];
const child = spawn(wrangler, args, { cwd: root, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    watcher?.kill(signal);
    child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  watcher?.kill('SIGTERM');
  process.exit(code ?? (signal ? 1 : 0));
});
