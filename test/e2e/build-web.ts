// Builds the web app (web/ → public/app/) once before the e2e files start their dev servers, which serve
// it as they find it (EDGEWAY_WEB=skip in the dev-server helper).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './helpers/dev-server';

export default function setup(): void {
  const vite = join(repoRoot, 'node_modules', '.bin', 'vite');
  const res = spawnSync(vite, ['build', '--config', join(repoRoot, 'web', 'vite.config.ts')], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (res.status !== 0) throw new Error('building the web app failed');
}
