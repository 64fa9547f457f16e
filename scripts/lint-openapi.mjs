// `npm run lint:openapi`: builds the OpenAPI document from the app (no server) and lints it as a user
// would, `redocly lint --extends recommended`. Redocly exits 0 on warnings; here a warning fails too.
// Problems listed in .redocly.lint-ignore.yaml (each with its reason) are reported as ignored.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from './openapi-document.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Relative to the repository root, where the ignore file names it.
const DOCUMENT = '.tmp/openapi/openapi.json';
const redocly = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'redocly.cmd' : 'redocly');
// No telemetry and no "newer version" look-up: linting needs no network.
const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };

mkdirSync(join(root, dirname(DOCUMENT)), { recursive: true });
writeFileSync(join(root, DOCUMENT), `${JSON.stringify(await buildOpenApiDocument(), null, 2)}\n`);

const lint = (format, stdio) =>
  spawnSync(redocly, ['lint', '--extends', 'recommended', '--format', format, DOCUMENT], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio,
  });

// Redocly's own report, for people reading the log.
lint('stylish', 'inherit');

// The verdict, from its machine-readable totals.
const judged = lint('json', 'pipe');
let totals;
try {
  totals = JSON.parse(judged.stdout).totals;
} catch {
  process.stderr.write(judged.stdout + judged.stderr);
  console.error('lint:openapi: redocly gave no JSON report');
  process.exit(1);
}
console.log(
  `lint:openapi: ${totals.errors} errors, ${totals.warnings} warnings, ${totals.ignored} ignored (.redocly.lint-ignore.yaml)`,
);
if (judged.status !== 0 || totals.errors > 0 || totals.warnings > 0) process.exit(1);
