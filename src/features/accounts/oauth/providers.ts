import type { Config } from '../../../config';
import { ApiError } from '../../../lib/errors';
import { base64url, randomToken } from '../../../lib/crypto';

// OpenID Connect sign-in providers (`GET /auth/{provider}/login`). Only Google for now; a new
// provider is one more entry in PROVIDERS. Endpoints default to the provider's real ones and can be
// pointed elsewhere (tests use the mock OpenID provider in test/mock-upstream/oidc.ts).

export interface OAuthProvider {
  id: string;
  clientId: string;
  clientSecret: string;
  authUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  // Accepted `iss` values of its ID tokens.
  issuers: string[];
  scope: string;
}

export const GOOGLE_DEFAULTS = {
  authUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  jwksUrl: 'https://www.googleapis.com/oauth2/v3/certs',
  issuer: 'https://accounts.google.com',
} as const;

function googleIssuers(configured: string | undefined): string[] {
  const issuer = configured?.trim() || GOOGLE_DEFAULTS.issuer;
  // Google signs ID tokens with either form of its issuer (its discovery document names the first).
  return issuer === GOOGLE_DEFAULTS.issuer ? [GOOGLE_DEFAULTS.issuer, 'accounts.google.com'] : [issuer];
}

// Each entry answers undefined while the provider is not configured.
const PROVIDERS = new Map<string, (config: Config) => OAuthProvider | undefined>([
  [
    'google',
    (config) =>
      config.GOOGLE_CLIENT_ID && config.GOOGLE_CLIENT_SECRET
        ? {
            id: 'google',
            clientId: config.GOOGLE_CLIENT_ID,
            clientSecret: config.GOOGLE_CLIENT_SECRET,
            authUrl: config.GOOGLE_AUTH_URL ?? GOOGLE_DEFAULTS.authUrl,
            tokenUrl: config.GOOGLE_TOKEN_URL ?? GOOGLE_DEFAULTS.tokenUrl,
            jwksUrl: config.GOOGLE_JWKS_URL ?? GOOGLE_DEFAULTS.jwksUrl,
            issuers: googleIssuers(config.GOOGLE_ISSUER),
            scope: 'openid email profile',
          }
        : undefined,
  ],
]);

export const OAUTH_PROVIDER_IDS = [...PROVIDERS.keys()];

// Unknown provider → 404; known but without client credentials → 503.
export function oauthProvider(config: Config, id: string): OAuthProvider {
  const resolve = PROVIDERS.get(id);
  if (!resolve) throw new ApiError('RESOURCE_NOT_FOUND', 'Unknown sign-in provider');
  const provider = resolve(config);
  if (!provider) throw new ApiError('SERVICE_UNAVAILABLE', 'Sign-in with this provider is not configured');
  return provider;
}

// Where the provider sends the browser back: BASE_URL when set (needed behind proxies that rewrite
// the host), else the origin the request came to. It must be registered with the provider as is.
export function callbackUrl(config: Config, requestUrl: string, providerId: string): string {
  const base = config.BASE_URL ?? new URL(requestUrl).origin;
  return `${base}/api/v1/auth/${encodeURIComponent(providerId)}/callback`;
}

// PKCE (RFC 7636): a 43-character verifier (256 bits) and its S256 challenge.
export function pkceVerifier(): string {
  return randomToken(32);
}

export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export interface AuthorizationRequest {
  redirectUri: string;
  state: string;
  nonce: string;
  codeChallenge: string;
}

export function authorizationUrl(provider: OAuthProvider, request: AuthorizationRequest): string {
  const url = new URL(provider.authUrl);
  const params: Record<string, string> = {
    client_id: provider.clientId,
    redirect_uri: request.redirectUri,
    response_type: 'code',
    scope: provider.scope,
    state: request.state,
    nonce: request.nonce,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}
