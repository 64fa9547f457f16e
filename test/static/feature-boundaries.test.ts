import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

// A feature is used by other code only through its index.ts (docs/architecture.md). This reads every
// import of src/ as text and fails on any that reaches into another feature's files.

const SRC = resolve(__dirname, '../../src');
const FEATURES = join(SRC, 'features');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]*)['"]/g;

function relativeImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1] as string);
}

// The feature a path lies in, and the path inside it ('' for the feature folder itself).
function featureOf(path: string): { feature: string; inner: string } | undefined {
  const rel = relative(FEATURES, path);
  if (rel.startsWith('..') || rel === '') return undefined;
  const [feature, ...rest] = rel.split(sep);
  return { feature: feature as string, inner: rest.join('/') };
}

// Whether `spec`, imported by `file`, reaches a non-index file of a feature other than file's own.
function crossesBoundary(file: string, spec: string): boolean {
  const from = featureOf(file);
  const to = featureOf(resolve(dirname(file), spec));
  if (!to || to.feature === from?.feature) return false;
  return !['', 'index', 'index.ts'].includes(to.inner);
}

function boundaryViolations(files: string[]): string[] {
  return files.flatMap((file) =>
    relativeImports(file)
      .filter((spec) => crossesBoundary(file, spec))
      .map((spec) => `${relative(SRC, file)} imports ${spec}`),
  );
}

describe('feature boundaries', () => {
  const files = sourceFiles(SRC);

  it('reads the whole tree (every feature has an index.ts)', () => {
    const features = readdirSync(FEATURES).filter((f) => statSync(join(FEATURES, f)).isDirectory());
    expect(features.length).toBeGreaterThanOrEqual(10);
    for (const f of features) expect(files).toContain(join(FEATURES, f, 'index.ts'));
  });

  it('no code imports a non-index file of another feature', () => {
    expect(boundaryViolations(files)).toEqual([]);
  });

  it('the rule tells a reach into another feature from a use of its index', () => {
    const gateway = join(FEATURES, 'gateway', 'pipeline.ts');
    const app = join(SRC, 'app.ts');
    expect(crossesBoundary(gateway, '../cache/cache')).toBe(true);
    expect(crossesBoundary(gateway, '../cache/')).toBe(false);
    expect(crossesBoundary(gateway, '../cache')).toBe(false);
    expect(crossesBoundary(gateway, './dialects/openai')).toBe(false);
    expect(crossesBoundary(app, './features/cache/routes')).toBe(true);
    expect(crossesBoundary(app, './features/cache')).toBe(false);
    expect(crossesBoundary(join(SRC, 'lib', 'sse.ts'), '../features/gateway/pipeline')).toBe(true);
  });
});
