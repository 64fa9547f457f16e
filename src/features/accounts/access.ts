import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import { type Role, ROLES } from '../../db/schema';
import { ApiError } from '../../lib/errors';
import { rank } from './api-keys';
import { identify, type Identity } from './identity';

// Who may call a route. Every route declares one (createApp refuses to build otherwise):
//   public   — anyone, no credentials looked at
//   ai       — AI calls: a member or above, or nobody at all where ALLOW_ANONYMOUS is on
//   ai-read  — reading one's AI requests: any role, or anonymous where ALLOW_ANONYMOUS is on
//   user     — any signed-in caller, whatever the role
//   role     — a role at least as high as `min`
export type Access =
  { kind: 'public' } | { kind: 'ai' } | { kind: 'ai-read' } | { kind: 'user' } | { kind: 'role'; min: Role };

export const PUBLIC: Access = { kind: 'public' };
export const AI: Access = { kind: 'ai' };
export const AI_READ: Access = { kind: 'ai-read' };
export const SIGNED_IN: Access = { kind: 'user' };
export const atLeast = (min: Role): Access => ({ kind: 'role', min });

export const ACCESS_MARK = Symbol('access');
export type AccessMiddleware = MiddlewareHandler<AppEnv> & { [ACCESS_MARK]: Access };

export function allows(access: Access, role: Role | null): boolean {
  switch (access.kind) {
    case 'public':
      return true;
    case 'ai':
      return role !== null && rank(role) >= rank('member');
    case 'ai-read':
    case 'user':
      return role !== null;
    case 'role':
      return role !== null && rank(role) >= rank(access.min);
  }
}

function anonymousOk(access: Access, c: Context<AppEnv>): boolean {
  return (access.kind === 'ai' || access.kind === 'ai-read') && c.var.config.ALLOW_ANONYMOUS;
}

export function protect(access: Access): AccessMiddleware {
  const mw: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (access.kind !== 'public') {
      const who = await identify(c);
      if (who === null) {
        if (!anonymousOk(access, c)) throw new ApiError('AUTHENTICATION_REQUIRED');
      } else if (!allows(access, who.role)) {
        throw new ApiError('INSUFFICIENT_PERMISSIONS');
      }
    }
    await next();
  };
  return Object.assign(mw, { [ACCESS_MARK]: access });
}

export function accessOf(handler: unknown): Access | undefined {
  return typeof handler === 'function' && ACCESS_MARK in handler
    ? (handler as AccessMiddleware)[ACCESS_MARK]
    : undefined;
}

// The identity of a caller that passed protect(): null only for anonymous AI callers.
export async function caller(c: Context<AppEnv>): Promise<Identity | null> {
  return identify(c);
}

// The caller, who must have an account (401 otherwise): for routes whose access admits only signed-in roles.
export async function signedIn(c: Context<AppEnv>): Promise<Identity> {
  const who = await identify(c);
  if (!who) throw new ApiError('AUTHENTICATION_REQUIRED');
  return who;
}

export const ALL_ROLES = ROLES;
export type { Identity };
