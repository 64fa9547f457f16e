import { decodeProtectedHeader, errors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../../config';
import type { Role } from '../../db/schema';

const ALGORITHM = 'HS256';
const AUDIENCE = 'edgeway-api';
const CLOCK_SKEW_SECONDS = 30;
// Only for development and tests; config validation refuses production without JWT_SECRET_KEY.
const DEV_SECRET = 'edgeway-development-only-insecure-jwt-secret-key';

const keys = new WeakMap<Config, Uint8Array>();
function secret(config: Config): Uint8Array {
  let key = keys.get(config);
  if (!key) {
    key = new TextEncoder().encode(config.JWT_SECRET_KEY ?? DEV_SECRET);
    keys.set(config, key);
  }
  return key;
}

export function issuer(config: Config): string {
  return config.BASE_URL ?? 'edgeway';
}

export interface AccessClaims {
  sub: string;
  sid: string;
  org: string;
  role: Role;
}

export async function signAccessToken(config: Config, claims: AccessClaims): Promise<string> {
  return new SignJWT({ sid: claims.sid, org: claims.org, role: claims.role })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(issuer(config))
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${config.ACCESS_TOKEN_TTL_SECONDS}s`)
    .sign(secret(config));
}

// Pinned algorithm (no `none`, no RS/HS confusion), issuer, audience and expiry all checked.
export async function verifyAccessToken(config: Config, token: string): Promise<AccessClaims | undefined> {
  try {
    // Refused before verification is even attempted: only our one algorithm exists here.
    if (decodeProtectedHeader(token).alg !== ALGORITHM) return undefined;
    const { payload } = await jwtVerify(token, secret(config), {
      algorithms: [ALGORITHM],
      issuer: issuer(config),
      audience: AUDIENCE,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    const { sub, sid, org, role } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof org !== 'string' || typeof role !== 'string')
      return undefined;
    return { sub, sid, org, role: role as Role };
  } catch (err) {
    if (err instanceof errors.JOSEError) return undefined;
    throw err;
  }
}

export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token);
}
