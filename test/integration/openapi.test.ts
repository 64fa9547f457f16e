import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { call } from '../helpers/http';

interface Operation {
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

// Pages that serve the documentation itself are not API operations.
const NOT_API = new Set(['/openapi.json', '/docs', '/redoc']);

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every registered route', async () => {
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Doc;
    expect(doc.openapi).toBe('3.1.0');

    const registered = createApp()
      .routes.filter((r) => r.method !== 'ALL' && !NOT_API.has(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
    expect(registered.length).toBeGreaterThan(0);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    for (const route of registered) expect(documented).toContain(route);
  });

  it('gives every operation response schemas and the error envelope', async () => {
    const doc = (await (await call('/openapi.json')).json()) as Doc;
    expect(doc.components.schemas.Error).toBeDefined();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const statuses = Object.keys(op.responses);
        expect(
          statuses.some((s) => s.startsWith('2') || s.startsWith('3')),
          `${method} ${path} success`,
        ).toBe(true);
        expect(statuses, `${method} ${path} errors`).toContain('500');
        for (const s of statuses) {
          const content = op.responses[s]?.content ?? {};
          expect(
            Object.values(content).some((c) => c.schema !== undefined),
            `${method} ${path} ${s}`,
          ).toBe(true);
        }
        if (method === 'post' && op.requestBody)
          expect(op.requestBody.content['application/json']?.schema, `${method} ${path} body`).toBeDefined();
      }
    }
    expect(Object.keys(doc.paths['/api/v1/requests']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['201', '400', '413']),
    );
  });

  it('serves the docs pages from the worker with a CSP', async () => {
    for (const path of ['/docs', '/redoc']) {
      const res = await call(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await res.text();
      expect(html).toContain('/vendor/');
      expect(html).not.toMatch(/https?:\/\//);
    }
  });
});
