import type { Hono } from 'hono';
import { type Access, accessOf } from './access';

// The OpenAPI document's own route (createApp) describes the API rather than being an operation of it.
const FRAMEWORK_ROUTES = new Set(['GET /openapi.json']);

export interface RouteAccess {
  method: string;
  path: string;
  access: Access;
}

// Every (method, path) the app answers, with the access it declared through protect().
export function routeAccessTable(app: Pick<Hono, 'routes'>): { declared: RouteAccess[]; missing: string[] } {
  const byRoute = new Map<string, Access | undefined>();
  for (const r of app.routes) {
    if (r.method === 'ALL') continue;
    const key = `${r.method} ${r.path}`;
    byRoute.set(key, byRoute.get(key) ?? accessOf(r.handler));
  }
  const declared: RouteAccess[] = [];
  const missing: string[] = [];
  for (const [key, access] of byRoute) {
    if (FRAMEWORK_ROUTES.has(key)) continue;
    const [method = '', path = ''] = key.split(' ');
    if (access) declared.push({ method, path, access });
    else missing.push(key);
  }
  return { declared, missing };
}

// A route cannot be registered without saying who may call it: the app refuses to build.
export function assertEveryRouteDeclaresAccess(app: Pick<Hono, 'routes'>): void {
  const { missing } = routeAccessTable(app);
  if (missing.length > 0) throw new Error(`Routes without a declared access (protect(...)): ${missing.join(', ')}`);
}
