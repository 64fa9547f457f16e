import { base64url, constantTimeEqual, fromBase64url } from '../../lib/crypto';

// Workers' WebCrypto refuses PBKDF2 above 100,000 iterations in production (Miniflare does not
// enforce it, so test/integration/auth-passwords.test.ts does): use exactly the ceiling.
export const PBKDF2_MAX_ITERATIONS = 100_000;
export const PBKDF2_ITERATIONS = PBKDF2_MAX_ITERATIONS;
const SALT_BYTES = 16;
const KEY_BITS = 256;

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  if (iterations > PBKDF2_MAX_ITERATIONS) throw new Error('PBKDF2 iterations above the Workers limit');
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, KEY_BITS);
  return new Uint8Array(bits);
}

// Format: pbkdf2_sha256$<iterations>$<salt b64url>$<hash b64url>, so the cost can change later.
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return `pbkdf2_sha256$${PBKDF2_ITERATIONS}$${base64url(salt)}$${base64url(hash)}`;
}

export function iterationsOf(stored: string): number | undefined {
  const [scheme, iterations] = stored.split('$');
  return scheme === 'pbkdf2_sha256' ? Number(iterations) : undefined;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterations, salt, hash] = stored.split('$');
  const n = Number(iterations);
  if (scheme !== 'pbkdf2_sha256' || !salt || !hash || !Number.isInteger(n) || n < 1 || n > PBKDF2_MAX_ITERATIONS)
    return false;
  const derived = await derive(password, fromBase64url(salt), n);
  return constantTimeEqual(derived, fromBase64url(hash));
}

// Spent on unknown accounts too, so response time does not reveal which emails exist.
let dummy: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('edgeway-timing-equalizer');
  await verifyPassword(password, await dummy);
}
