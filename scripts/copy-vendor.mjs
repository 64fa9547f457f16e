// Copies the documentation UIs out of node_modules into public/vendor so the worker serves them
// itself (no CDN at run time). Runs on `npm install` / `npm ci` (postinstall) and before dev/build.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

// ReDoc's footer always loads its logo from a CDN; point it at an inline image so the docs make no
// outside request (the page's CSP would block it anyway).
const OFFLINE_REWRITES = {
  'redoc.standalone.js': [
    [
      'https://cdn.redoc.ly/redoc/logo-mini.svg',
      'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E',
    ],
  ],
};

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
    const rewrites = OFFLINE_REWRITES[file.split('/').pop()];
    if (rewrites) {
      let text = readFileSync(from, 'utf8');
      for (const [needle, replacement] of rewrites) text = text.split(needle).join(replacement);
      writeFileSync(to, text);
    } else {
      copyFileSync(from, to);
    }
  }
}
