import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { PUBLIC, protect, SIGNED_IN, signedIn } from './access';
import { clearAuthCookies, setAuthCookies } from './cookies';
import { identify, REFRESH_COOKIE } from './identity';
import { verifyAccessToken } from './jwt';
import { checkLoginRate, clientIp } from './login-limit';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords';
import { createSession, type IssuedTokens, revokeSession, rotateRefreshToken } from './sessions';
import { emailAllowed } from './whitelist';
import { asc, eq } from 'drizzle-orm';
import { getDb } from '../../db/client';
import { memberships, organizations, ROLES } from '../../db/schema';
import { createUserWithOrganization, findUser, findUserByEmail, membershipRole, userCount, userView } from './users';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { createRouter, errorResponses } from '../../lib/router';

// Email/password accounts and sessions, under /api/v1/auth.
export const authRoutes = createRouter();

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    username: z.string(),
    full_name: z.string().nullable(),
    organization_id: z.string(),
    role: z.enum(ROLES),
  })
  .openapi('User');

const TokenResponse = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().int(),
    user: UserSchema,
  })
  .openapi('TokenResponse');

const Email = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());
const Password = z.string().min(8).max(256);

const whitelisted = (c: Context<AppEnv>, email: string) => emailAllowed(c.var.config, email);

async function tokenBody(c: Context<AppEnv>, tokens: IssuedTokens, userId: string, organizationId: string) {
  const db = getDb(c.env.DB);
  const [user, role] = await Promise.all([findUser(db, userId), membershipRole(db, userId, organizationId)]);
  if (!user || !role) throw new ApiError('AUTHENTICATION_REQUIRED');
  return {
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    token_type: 'bearer' as const,
    expires_in: tokens.expiresIn,
    user: userView(user, organizationId, role),
  };
}

authRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/auth/register',
    operationId: 'registerUser',
    tags: ['auth'],
    summary: 'Create an account and its personal organization (you are its admin)',
    middleware: [protect(PUBLIC)],
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({
              email: Email,
              password: Password,
              username: z.string().min(1).max(64).optional(),
              full_name: z.string().max(200).optional(),
            }),
          },
        },
      },
    },
    responses: {
      201: { description: 'Registered and signed in', content: { 'application/json': { schema: TokenResponse } } },
      ...errorResponses(400, 403, 409, 429),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const db = getDb(c.env.DB);
    const config = c.var.config;
    // With registration off, only the very first account (the deployment's first admin) may sign up.
    if (!config.REGISTRATION_ENABLED && (await userCount(db)) > 0)
      throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Registration is disabled');
    if (!whitelisted(c, body.email)) throw new ApiError('INSUFFICIENT_PERMISSIONS', 'This email may not register');
    if (await findUserByEmail(db, body.email)) throw new ApiError('CONFLICT', 'An account with this email exists');
    const { userId, organizationId } = await createUserWithOrganization(
      db,
      {
        email: body.email,
        username: body.username ?? body.email.split('@')[0] ?? 'user',
        fullName: body.full_name ?? null,
        passwordHash: await hashPassword(body.password),
      },
      config.DEFAULT_QUOTA_LIMIT,
    ).catch((err: unknown) => {
      if (String(err).includes('UNIQUE')) throw new ApiError('CONFLICT', 'An account with this email exists');
      throw err;
    });
    const tokens = await createSession(db, config, userId, organizationId);
    return c.json(await tokenBody(c, tokens, userId, organizationId), 201);
  },
);

authRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/auth/login',
    operationId: 'loginUser',
    tags: ['auth'],
    summary: 'Sign in with email and password (seed 003)',
    middleware: [protect(PUBLIC)],
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({
              email: Email,
              password: z.string().min(1).max(256),
              // Which of the user's organizations the session acts in (default: the user's default one).
              organization_id: z.string().min(1).max(64).optional(),
            }),
          },
        },
      },
    },
    responses: {
      200: { description: 'Signed in', content: { 'application/json': { schema: TokenResponse } } },
      ...errorResponses(400, 401, 403, 429),
    },
  }),
  async (c) => {
    const { email, password, organization_id: asked } = c.req.valid('json');
    const db = getDb(c.env.DB);
    await checkLoginRate(db, c.var.config, email, clientIp(c.req.raw.headers));
    const user = await findUserByEmail(db, email);
    const ok = user?.passwordHash
      ? await verifyPassword(password, user.passwordHash)
      : (await burnPasswordCheck(password), false);
    if (!user || !ok || !whitelisted(c, email))
      throw new ApiError('AUTHENTICATION_REQUIRED', 'Invalid email or password');
    const organizationId = asked ?? user.defaultOrganizationId;
    if (!organizationId) throw new ApiError('AUTHENTICATION_REQUIRED', 'Invalid email or password');
    // The same answer for an organization that does not exist and one the user is not in.
    if (asked !== undefined && !(await membershipRole(db, user.id, asked))) {
      throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Not a member of this organization');
    }
    const tokens = await createSession(db, c.var.config, user.id, organizationId);
    return c.json(await tokenBody(c, tokens, user.id, organizationId), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/auth/refresh',
    operationId: 'refreshSession',
    tags: ['auth'],
    summary: 'Rotate the refresh token (body `refresh_token` as in seed 003, or the cookie as in seed 004)',
    middleware: [protect(PUBLIC)],
    request: {
      body: {
        required: false,
        content: { 'application/json': { schema: z.object({ refresh_token: z.string().min(1).max(200).optional() }) } },
      },
    },
    responses: {
      200: { description: 'New tokens', content: { 'application/json': { schema: TokenResponse } } },
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const fromBody = c.req.valid('json').refresh_token;
    const fromCookie = getCookie(c, REFRESH_COOKIE);
    const token = fromBody ?? fromCookie;
    if (!token) throw new ApiError('AUTHENTICATION_REQUIRED', 'A refresh token is required');
    const db = getDb(c.env.DB);
    const tokens = await rotateRefreshToken(db, c.var.config, token);
    const claims = await verifyAccessToken(c.var.config, tokens.accessToken);
    if (!claims) throw new ApiError('INTERNAL_ERROR');
    if (!fromBody) setAuthCookies(c, tokens);
    return c.json(await tokenBody(c, tokens, claims.sub, claims.org), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/auth/logout',
    operationId: 'logoutUser',
    tags: ['auth'],
    summary: 'End the session at once (its access and refresh tokens stop working) and clear the cookies',
    middleware: [protect(PUBLIC)],
    responses: {
      200: {
        description: 'Signed out',
        content: { 'application/json': { schema: z.object({ message: z.string() }) } },
      },
      ...errorResponses(401),
    },
  }),
  async (c) => {
    // Logout also works without credentials (to clear cookies); a presented token must be valid.
    const who = await identify(c);
    if (who?.sessionId) await revokeSession(getDb(c.env.DB), who.sessionId, 'logout');
    clearAuthCookies(c);
    return c.json({ message: 'Successfully logged out' }, 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/auth/me',
    operationId: 'getCurrentUser',
    tags: ['auth'],
    summary: 'The signed-in user',
    middleware: [protect(SIGNED_IN)],
    responses: {
      200: { description: 'You', content: { 'application/json': { schema: UserSchema } } },
      ...errorResponses(401),
    },
  }),
  async (c) => {
    const who = await identify(c);
    const user = who ? await findUser(getDb(c.env.DB), who.userId) : undefined;
    if (!who || !user) throw new ApiError('AUTHENTICATION_REQUIRED');
    return c.json(userView(user, who.organizationId, who.role), 200);
  },
);

const MembershipSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    role: z.enum(ROLES),
    current: z.boolean().openapi({ description: 'The organization this credential acts in' }),
  })
  .openapi('Membership');

authRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/auth/organizations',
    operationId: 'listMyOrganizations',
    tags: ['auth'],
    summary: 'The organizations the caller belongs to, with their role in each (an API key: only its own)',
    middleware: [protect(SIGNED_IN)],
    responses: {
      200: {
        description: 'Organizations',
        content: { 'application/json': { schema: z.object({ data: z.array(MembershipSchema) }) } },
      },
      ...errorResponses(401),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const rows = await getDb(c.env.DB)
      .select({ id: organizations.id, name: organizations.name, slug: organizations.slug, role: memberships.role })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .where(eq(memberships.userId, who.userId))
      .orderBy(asc(organizations.name), asc(organizations.id))
      .all();
    // A key belongs to one organization: it does not reveal its creator's other memberships.
    const visible = who.via === 'api_key' ? rows.filter((r) => r.id === who.organizationId) : rows;
    return c.json({ data: visible.map((r) => ({ ...r, current: r.id === who.organizationId })) }, 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/auth/switch-organization',
    operationId: 'switchOrganization',
    tags: ['auth'],
    summary: 'Start a new session in another of your organizations (the current session ends); not with an API key',
    middleware: [protect(SIGNED_IN)],
    request: {
      body: {
        required: true,
        content: {
          'application/json': { schema: z.object({ organization_id: z.string().min(1).max(64) }).strict() },
        },
      },
    },
    responses: {
      200: { description: 'Switched', content: { 'application/json': { schema: TokenResponse } } },
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    // A key is bound to its organization; only a person's session can move.
    if (!who.sessionId)
      throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Switching needs a signed-in session, not an API key');
    const { organization_id: target } = c.req.valid('json');
    const db = getDb(c.env.DB);
    // The same answer for an organization that does not exist and one the caller is not in (as login).
    if (!(await membershipRole(db, who.userId, target)))
      throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Not a member of this organization');
    const tokens = await createSession(db, c.var.config, who.userId, target);
    await revokeSession(db, who.sessionId, 'switch-organization');
    // A cookie client (the Google sign-in) keeps working on the new session; a bearer client reads the body.
    if (who.via === 'cookie') setAuthCookies(c, tokens);
    return c.json(await tokenBody(c, tokens, who.userId, target), 200);
  },
);
