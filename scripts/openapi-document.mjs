// Writes the OpenAPI document that GET /openapi.json serves, built from the app itself in Node: no
// server, no bindings. Usage: node scripts/openapi-document.mjs [out.json] (default: stdout).
import { mkdirSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { register as registerTsx } from 'tsx/esm/api';

// `cloudflare:workers` and `cloudflare:workflows` are workerd built-ins; the app only imports base classes
// from them (for Durable Objects and a Workflow never instantiated here), so empty classes stand in.
const stubs = {
  'cloudflare:workers': 'export class DurableObject {} export class WorkflowEntrypoint {}',
  'cloudflare:workflows': 'export class NonRetryableError extends Error {}',
};
const hooks = `const stubs = ${JSON.stringify(stubs)};
export async function resolve(specifier, context, next) {
  if (specifier in stubs)
    return { url: 'data:text/javascript,' + encodeURIComponent(stubs[specifier]), shortCircuit: true };
  return next(specifier, context);
}`;

/** The document, as the app builds it. */
export async function buildOpenApiDocument() {
  registerTsx();
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  // A URL rather than a literal path, so that tsc (tsconfig.node.json checks scripts/) does not pull the
  // worker's sources into a Node program.
  const { createApp, openApiDocument } = await import(new URL('../src/app.ts', import.meta.url).href);
  return openApiDocument(createApp());
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const json = `${JSON.stringify(await buildOpenApiDocument(), null, 2)}\n`;
  const out = process.argv[2];
  if (out) {
    mkdirSync(dirname(resolve(out)), { recursive: true });
    writeFileSync(out, json);
  } else {
    process.stdout.write(json);
  }
}
