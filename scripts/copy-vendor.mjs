// Copies the documentation UIs out of node_modules into public/vendor so the worker serves them
// itself (no CDN at run time). Runs on `npm install` / `npm ci` (postinstall) and before dev/build.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

const copies = [
  ['swagger-ui-dist/package.json', ['swagger-ui-bundle.js', 'swagger-ui.css'], 'swagger-ui'],
  ['redoc/package.json', ['bundles/redoc.standalone.js'], 'redoc'],
];

for (const [anchor, files, target] of copies) {
  let base;
  try {
    base = dirname(require.resolve(anchor));
  } catch {
    console.warn(`copy-vendor: ${anchor.split('/')[0]} is not installed; /docs assets will be missing`);
    continue;
  }
  const out = join(root, 'public', 'vendor', target);
  mkdirSync(out, { recursive: true });
  for (const file of files) {
    const from = join(base, file);
    const to = join(out, file.split('/').pop());
    if (!existsSync(from)) throw new Error(`copy-vendor: ${from} not found`);
    copyFileSync(from, to);
  }
}
