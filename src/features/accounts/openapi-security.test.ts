import { createRoute, OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../env';
import { AI, AI_READ, type Access, atLeast, protect, PUBLIC, SIGNED_IN } from './access';
import { declareSecurity, securityFor } from './openapi-security';

const CREDENTIALS = [{ bearerJwt: [] }, { apiKeyBearer: [] }, { apiKeyHeader: [] }, { accessCookie: [] }];

function appWith(
  routes: { method: RouteConfig['method']; path: string; access?: Access; security?: RouteConfig['security'] }[],
) {
  const app = new OpenAPIHono<AppEnv>();
  for (const r of routes) {
    app.openapi(
      createRoute({
        method: r.method,
        path: r.path,
        ...(r.access ? { middleware: [protect(r.access)] } : {}),
        ...(r.security ? { security: r.security } : {}),
        responses: { 204: { description: 'Done' } },
      }),
      (c) => c.body(null, 204),
    );
  }
  return app;
}

const documentOf = (app: OpenAPIHono<AppEnv>) =>
  app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });

describe('securityFor', () => {
  it('asks nothing of public routes, offers "no credential" only where ALLOW_ANONYMOUS can admit', () => {
    expect(securityFor(PUBLIC)).toEqual([]);
    expect(securityFor(AI)).toEqual([...CREDENTIALS, {}]);
    expect(securityFor(AI_READ)).toEqual([...CREDENTIALS, {}]);
    expect(securityFor(SIGNED_IN)).toEqual(CREDENTIALS);
    expect(securityFor(atLeast('viewer'))).toEqual(CREDENTIALS);
    expect(securityFor(atLeast('admin'))).toEqual(CREDENTIALS);
  });
});

describe('declareSecurity', () => {
  it("gives every operation the security of its route's protect(), path parameters included", () => {
    const app = appWith([
      { method: 'get', path: '/open', access: PUBLIC },
      { method: 'post', path: '/calls/{id}', access: AI },
      { method: 'delete', path: '/keys/{id}', access: atLeast('admin') },
    ]);
    const doc = documentOf(app);
    declareSecurity(doc, app);
    expect(doc.paths?.['/open']?.get?.security).toEqual([]);
    expect(doc.paths?.['/calls/{id}']?.post?.security).toEqual([...CREDENTIALS, {}]);
    expect(doc.paths?.['/keys/{id}']?.delete?.security).toEqual(CREDENTIALS);
    expect(Object.keys(doc.components?.securitySchemes ?? {}).sort()).toEqual(
      ['accessCookie', 'apiKeyBearer', 'apiKeyHeader', 'bearerJwt'].sort(),
    );
  });

  it('refuses to document a route that declares no access', () => {
    const app = appWith([{ method: 'get', path: '/forgotten' }]);
    expect(() => declareSecurity(documentOf(app), app)).toThrow(/GET \/forgotten/);
  });

  it("keeps a public route's own security (a secret it checks itself), refuses it elsewhere", () => {
    const own: Record<string, string[]>[] = [{ metricsToken: [] }, {}];
    const open = appWith([{ method: 'get', path: '/metrics', access: PUBLIC, security: own }]);
    const openDoc = documentOf(open);
    declareSecurity(openDoc, open);
    expect(openDoc.paths?.['/metrics']?.get?.security).toEqual(own);

    const guarded = appWith([{ method: 'get', path: '/admin', access: atLeast('admin'), security: [{}] }]);
    expect(() => declareSecurity(documentOf(guarded), guarded)).toThrow(/GET \/admin declares its own security/);
  });
});
