import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { PUBLIC, protect } from '../access';
import { setAuthCookies } from '../cookies';
import { constantTimeEqual } from '../../../lib/crypto';
import { authorizationUrl, callbackUrl, OAUTH_PROVIDER_IDS, oauthProvider, pkceChallenge } from './providers';
import { exchangeCode, type ExternalIdentity, OAuthFailure, verifyIdToken } from './oidc';
import {
  createLoginToken,
  createOAuthState,
  OAUTH_STATE_TTL_SECONDS,
  purgeExpired,
  takeLoginToken,
  takeOAuthState,
} from './store';
import { resolveExternalUser } from './users';
import { createSession } from '../sessions';
import { issueTokensForSession } from '../session-tokens';
import { emailAllowed } from '../whitelist';
import { getDb } from '../../../db/client';
import { findUser, userView } from '../users';
import { ApiError } from '../../../lib/errors';
import { createRouter, ErrorSchema, errorResponses } from '../../../lib/router';
import { UserSchema } from '../auth-routes';

// The OAuth / OpenID Connect login flow, under /api/v1 (all public: they are how one
// signs in). Browser round trip:
//   GET /auth/{provider}/login          → 302 to the provider (state + PKCE S256 + nonce stored)
//   GET /auth/{provider}/callback       → code exchanged, ID token verified, user found or created,
//                                         session opened → 302 with a one-time login token (60 s)
//   GET /auth/login-success-redirect    → 302 to validate-token (see below)
//   GET /auth/validate-token            → login token consumed, HTTP-only cookies set, 200 {user}
export const oauthRoutes = createRouter();

// Binds the state to the browser that started the login (RFC 6749 §10.12): a callback URL carrying
// someone else's code and state is refused, so nobody can be signed in to an attacker's account.
const STATE_COOKIE = 'ew_oauth_state';
const AUTH_PATH = '/api/v1/auth';
// The web app's page that finishes a sign-in (web/src/pages/oauth-callback.tsx).
const APP_OAUTH_LANDING = '/app/#/oauth';

const ProviderParam = z.object({
  provider: z
    .string()
    .min(1)
    .max(32)
    .openapi({
      param: { name: 'provider', in: 'path' },
      example: 'google',
      description: `One of: ${OAUTH_PROVIDER_IDS.join(', ')}`,
    }),
});

const TokenQuery = z.object({
  token: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: 'token', in: 'query' }, description: 'The one-time login token' }),
});

// An empty text/plain body, so the OpenAPI document has a schema for every response.
const redirectTo = (c: Context, location: string) =>
  c.text('', 302, { Location: location, 'Cache-Control': 'no-store' });

const redirectResponse = (description: string) => ({
  description,
  headers: { Location: { description: 'Where the browser goes next', schema: { type: 'string' as const } } },
  content: { 'text/plain': { schema: z.string().max(0).openapi({ description: 'Empty body' }) } },
});

// A redirect's success is its 302; these steps never answer 2xx. `default` says that any status not
// listed comes in the error envelope, which is also what OpenAPI linters accept in place of a 2xx.
const otherStatuses = {
  default: {
    description: 'Any other status: the error envelope',
    content: { 'application/json': { schema: ErrorSchema } },
  },
};

const LoginResult = z
  .object({
    user: UserSchema,
    expires_in: z.number().int().openapi({ description: 'Lifetime of the access cookie in seconds' }),
  })
  .openapi('OAuthLoginResult');

const invalidState = () =>
  new ApiError('VALIDATION_ERROR', 'The login request is invalid or has expired; start again', {
    details: [{ field: 'state', message: 'Unknown, expired or already used' }],
  });

function sameText(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  return constantTimeEqual(encoder.encode(a), encoder.encode(b));
}

oauthRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/auth/{provider}/login',
    operationId: 'startOAuthLogin',
    tags: ['auth'],
    summary: 'Start signing in with an OAuth provider (seed 004; `google`)',
    middleware: [protect(PUBLIC)],
    request: { params: ProviderParam },
    responses: {
      302: redirectResponse("To the provider's sign-in page"),
      ...errorResponses(400, 404, 503),
      ...otherStatuses,
    },
  }),
  async (c) => {
    const config = c.var.config;
    const provider = oauthProvider(config, c.req.valid('param').provider);
    const db = getDb(c.env.DB);
    const pending = await createOAuthState(db, provider.id);
    c.executionCtx.waitUntil(
      purgeExpired(db).catch((err: unknown) => c.var.log.warn('oauth purge failed', { error: String(err) })),
    );
    setCookie(c, STATE_COOKIE, pending.state, {
      httpOnly: true,
      secure: true,
      sameSite: 'Lax', // sent on the provider's top-level redirect back to us
      path: AUTH_PATH,
      maxAge: OAUTH_STATE_TTL_SECONDS,
    });
    const location = authorizationUrl(provider, {
      redirectUri: callbackUrl(config, c.req.url, provider.id),
      state: pending.state,
      nonce: pending.nonce,
      codeChallenge: await pkceChallenge(pending.codeVerifier),
    });
    return redirectTo(c, location);
  },
);

oauthRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/auth/{provider}/callback',
    operationId: 'completeOAuthLogin',
    tags: ['auth'],
    summary: 'Where the provider sends the browser back; signs in and hands over a one-time login token',
    middleware: [protect(PUBLIC)],
    request: {
      params: ProviderParam,
      query: z.object({
        state: z.string().min(1).max(512),
        code: z.string().min(1).max(4096).optional(),
        error: z.string().max(200).optional(),
      }),
    },
    responses: {
      302: redirectResponse('To /api/v1/auth/login-success-redirect?token=…'),
      ...errorResponses(400, 401, 403, 404, 409, 502, 503),
      ...otherStatuses,
    },
  }),
  async (c) => {
    const config = c.var.config;
    const provider = oauthProvider(config, c.req.valid('param').provider);
    const query = c.req.valid('query');
    const db = getDb(c.env.DB);

    const bound = getCookie(c, STATE_COOKIE);
    deleteCookie(c, STATE_COOKIE, { path: AUTH_PATH, secure: true });
    if (!bound || !sameText(bound, query.state)) throw invalidState();
    const pending = await takeOAuthState(db, query.state, provider.id);
    if (!pending) throw invalidState();
    // e.g. error=access_denied when the user cancels at the provider; its text is not echoed.
    if (query.error !== undefined) throw new ApiError('AUTHENTICATION_REQUIRED', 'Sign-in was cancelled or refused');
    if (query.code === undefined) {
      throw new ApiError('VALIDATION_ERROR', undefined, { details: [{ field: 'code', message: 'Required' }] });
    }

    let identity: ExternalIdentity;
    try {
      const idToken = await exchangeCode(provider, {
        code: query.code,
        codeVerifier: pending.codeVerifier,
        redirectUri: callbackUrl(config, c.req.url, provider.id),
      });
      identity = await verifyIdToken(provider, idToken, pending.nonce);
    } catch (err) {
      if (!(err instanceof OAuthFailure)) throw err;
      c.var.log.warn('oauth sign-in failed', { provider: provider.id, kind: err.kind, reason: err.message });
      if (err.kind === 'unavailable')
        throw new ApiError('INTEGRATION_ERROR', 'The sign-in provider could not be reached');
      throw new ApiError('AUTHENTICATION_REQUIRED', 'Sign-in failed');
    }

    if (!emailAllowed(config, identity.email))
      throw new ApiError('INSUFFICIENT_PERMISSIONS', 'This email may not sign in');
    const { user } = await resolveExternalUser(db, config, provider.id, identity);
    if (!user.defaultOrganizationId) throw new ApiError('AUTHENTICATION_REQUIRED', 'Sign-in failed');
    // createSession also mints tokens; they are dropped (never sent), validate-token issues the ones used.
    const session = await createSession(db, config, user.id, user.defaultOrganizationId);
    const token = await createLoginToken(db, session.sessionId);
    return redirectTo(c, `${AUTH_PATH}/login-success-redirect?token=${encodeURIComponent(token)}`);
  },
);

// The hop between the callback and validate-token (originally a frontend page that handed the temporary token
// on): it sends the browser to the web app's landing (/app/#/oauth?token=…), which spends the token with
// validate-token and turns the cookie session into the app's bearer session. The token rides in the URL
// fragment, which browsers never send to a server or a log. It neither reads nor spends the token; an API
// client without the app calls validate-token itself with the token of the callback's redirect.
oauthRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/auth/login-success-redirect',
    operationId: 'forwardLoginToken',
    tags: ['auth'],
    summary:
      'Post-login hop (seed 004): forwards the one-time login token to the web app, which spends it at validate-token',
    middleware: [protect(PUBLIC)],
    request: { query: TokenQuery },
    responses: {
      302: redirectResponse('To /app/#/oauth?token=… (the web app calls validate-token)'),
      ...errorResponses(400),
      ...otherStatuses,
    },
  }),
  async (c) => {
    const { token } = c.req.valid('query');
    return redirectTo(c, `${APP_OAUTH_LANDING}?token=${encodeURIComponent(token)}`);
  },
);

oauthRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/auth/validate-token',
    operationId: 'redeemLoginToken',
    tags: ['auth'],
    summary: 'Spend the one-time login token (60 s) and set the HTTP-only auth cookies',
    middleware: [protect(PUBLIC)],
    request: { query: TokenQuery },
    responses: {
      200: { description: 'Signed in; cookies set', content: { 'application/json': { schema: LoginResult } } },
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const { token } = c.req.valid('query');
    const db = getDb(c.env.DB);
    const sessionId = await takeLoginToken(db, token);
    const grant = sessionId ? await issueTokensForSession(db, c.var.config, sessionId) : undefined;
    const user = grant ? await findUser(db, grant.userId) : undefined;
    if (!grant || !user) throw new ApiError('AUTHENTICATION_REQUIRED', 'Invalid or expired login token');
    setAuthCookies(c, grant.tokens);
    c.header('Cache-Control', 'no-store');
    return c.json({ user: userView(user, grant.organizationId, grant.role), expires_in: grant.tokens.expiresIn }, 200);
  },
);
