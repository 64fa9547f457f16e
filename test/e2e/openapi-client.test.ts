// A client generator accepts /openapi.json: openapi-typescript turns the document the app builds into
// types, and a small openapi-fetch client typechecks against them — and misuses of the API do not.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir = '';

// Every line marked @ts-expect-error must fail to typecheck; if the types let it through, TypeScript
// reports the directive as unused and the test fails.
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, operations, paths } from './schema';

const client = createClient<paths>({ baseUrl: 'https://edgeway.example' });
const auth = { headers: { Authorization: 'Bearer ew_example' } };

export async function use(): Promise<void> {
  const keys = await client.GET('/api/v1/auth/api-keys', auth);
  const prefixes: string[] = (keys.data?.data ?? []).map((k) => k.prefix);
  const code: string | undefined = keys.error?.error.code;

  const created = await client.POST('/api/v1/auth/api-keys', { ...auth, body: { name: 'ci', role: 'member' } });
  const secret: string | undefined = created.data?.key;
  await client.DELETE('/api/v1/auth/api-keys/{id}', { ...auth, params: { path: { id: 'key_1' } } });

  const chat = await client.POST('/v1/chat/completions', {
    ...auth,
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] },
  });
  const health: components['schemas']['Health'] | undefined = (await client.GET('/health')).data;
  type Listed = operations['listApiKeys']['responses'][200]['content']['application/json'];
  const listed: Listed | undefined = keys.data;

  // @ts-expect-error a path the API does not have
  await client.GET('/api/v1/no-such-route');
  // @ts-expect-error the key's name is required
  await client.POST('/api/v1/auth/api-keys', { ...auth, body: { role: 'member' } });
  // @ts-expect-error not a role
  await client.POST('/api/v1/auth/api-keys', { ...auth, body: { name: 'ci', role: 'superuser' } });
  // @ts-expect-error the path parameter is missing
  await client.DELETE('/api/v1/auth/api-keys/{id}', auth);
  // @ts-expect-error a prefix is a string
  const wrong: number | undefined = keys.data?.data[0]?.prefix;
  // @ts-expect-error the method is not served on this path
  await client.PUT('/api/v1/auth/api-keys', auth);

  void [prefixes, code, secret, chat, health, listed, wrong];
}
`;

function typeErrors(file: string): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: [],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : '?';
    return `${d.file?.fileName ?? ''}:${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('a typed client generated from the OpenAPI document', () => {
  beforeAll(() => {
    // Inside the repository (.tmp/ is ignored), so `openapi-fetch` resolves from its node_modules.
    mkdirSync(join(root, '.tmp'), { recursive: true });
    dir = mkdtempSync(join(root, '.tmp', 'openapi-client-'));
    execFileSync(process.execPath, [join(root, 'scripts', 'openapi-document.mjs'), join(dir, 'openapi.json')], {
      cwd: root,
    });
    // The generator's own command line, as a user would run it.
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'),
        join(dir, 'openapi.json'),
        '-o',
        join(dir, 'schema.d.ts'),
      ],
      { cwd: root, stdio: 'pipe' },
    );
    writeFileSync(join(dir, 'client.ts'), CLIENT);
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('typechecks a client that uses the API correctly, and rejects each misuse', () => {
    expect(typeErrors(join(dir, 'client.ts'))).toEqual([]);
  }, 120_000);
});
