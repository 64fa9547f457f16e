import { z } from 'zod';
import type { Config } from '../../config';
import { ToolError } from './types';
import { callUpstream } from './upstream';

// Google's service-account flow (OAuth 2.0 JWT bearer grant, RFC 7523): a JWT signed RS256 with the
// account's private key (WebCrypto; the key never leaves this module), exchanged at the token URL for an
// access token, which is kept in the isolate until a minute before it expires.

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
const ASSERTION_TTL_SECONDS = 3600;
const REFRESH_MARGIN_MS = 60_000;

const ServiceAccount = z.object({
  client_email: z.string().min(1),
  private_key: z.string().includes('PRIVATE KEY'),
  private_key_id: z.string().optional(),
});
type ServiceAccount = z.infer<typeof ServiceAccount>;

const TokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
  token_type: z.string().optional(),
});

// The configured key, or undefined when it is not usable (the adapter is then off, never half on).
export function serviceAccountOf(config: Config): ServiceAccount | undefined {
  const raw = config.GOOGLE_CALENDAR_SERVICE_ACCOUNT;
  if (!raw) return undefined;
  try {
    const parsed = ServiceAccount.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const b64urlText = (text: string) => b64url(new TextEncoder().encode(text));

function pemBody(pem: string): Uint8Array {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const bin = atob(body);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function signingKey(account: ServiceAccount): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey(
      'pkcs8',
      pemBody(account.private_key),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['sign'],
    );
  } catch {
    throw new ToolError('The Google Calendar service account key cannot be used (not an RSA PKCS#8 key)');
  }
}

export async function serviceAccountAssertion(
  account: ServiceAccount,
  tokenUrl: string,
  nowMs: number,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(account.private_key_id ? { kid: account.private_key_id } : {}) };
  const claims = {
    iss: account.client_email,
    scope: CALENDAR_SCOPE,
    aud: tokenUrl,
    iat,
    exp: iat + ASSERTION_TTL_SECONDS,
  };
  const input = `${b64urlText(JSON.stringify(header))}.${b64urlText(JSON.stringify(claims))}`;
  const key = await signingKey(account);
  const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

// Per isolate, by token URL and a digest of the key (so another key never gets this key's token).
const tokens = new Map<string, CachedToken>();
const pending = new Map<string, Promise<CachedToken>>();

async function cacheKey(raw: string, tokenUrl: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${tokenUrl}\n${raw}`));
  return b64url(new Uint8Array(digest));
}

// For tests: forget cached tokens.
export function clearGoogleTokens(): void {
  tokens.clear();
  pending.clear();
}

export async function calendarAccessToken(config: Config, signal: AbortSignal): Promise<string> {
  const account = serviceAccountOf(config);
  if (!account) throw new ToolError('Google Calendar is not configured');
  const tokenUrl = config.GOOGLE_TOKEN_URL ?? GOOGLE_TOKEN_URL;
  const key = await cacheKey(config.GOOGLE_CALENDAR_SERVICE_ACCOUNT ?? '', tokenUrl);
  const cached = tokens.get(key);
  if (cached && cached.expiresAt - REFRESH_MARGIN_MS > Date.now()) return cached.token;
  // Concurrent calls in one isolate share one exchange.
  let inFlight = pending.get(key);
  if (!inFlight) {
    inFlight = (async () => {
      const assertion = await serviceAccountAssertion(account, tokenUrl, Date.now());
      const answer = await callUpstream(
        {
          service: 'The Google token endpoint',
          url: tokenUrl,
          init: {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
          },
          signal,
        },
        TokenAnswer,
      );
      const entry = { token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000 };
      tokens.set(key, entry);
      return entry;
    })().finally(() => pending.delete(key));
    pending.set(key, inFlight);
  }
  return (await inFlight).token;
}
