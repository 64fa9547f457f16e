import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../../env';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './identity';
import type { IssuedTokens } from './sessions';

const REFRESH_PATH = '/api/v1/auth';

// HTTP-only so scripts cannot read them, Secure (browsers accept it on localhost too) and SameSite=Lax
// so other sites cannot send them with their own POSTs.
export function setAuthCookies(c: Context<AppEnv>, tokens: IssuedTokens): void {
  setCookie(c, ACCESS_COOKIE, tokens.accessToken, {
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    path: '/',
    maxAge: tokens.expiresIn,
  });
  setCookie(c, REFRESH_COOKIE, tokens.refreshToken, {
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    path: REFRESH_PATH,
    maxAge: tokens.refreshExpiresIn,
  });
}

export function clearAuthCookies(c: Context<AppEnv>): void {
  deleteCookie(c, ACCESS_COOKIE, { path: '/', secure: true });
  deleteCookie(c, REFRESH_COOKIE, { path: REFRESH_PATH, secure: true });
}
