import type { Config } from '../../config';
import { base64url, fromBase64url } from '../../lib/crypto';
import { ApiError } from '../../lib/errors';

// Signing secrets in the Standard Webhooks form `whsec_<base64 of 24–64 random bytes>`, and their
// encryption at rest: AES-256-GCM with a key derived (HKDF-SHA-256) from WEBHOOK_SECRET_KEY, the row's
// webhook id bound in as additional data so a ciphertext copied onto another row does not decrypt.

const PREFIX = 'whsec_';
const MIN_BYTES = 24;
const MAX_BYTES = 64;
const GENERATED_BYTES = 32;
const FORMAT = 'v1';
// Only for development and tests; production refuses to make or send webhooks without WEBHOOK_SECRET_KEY.
const DEV_KEY = 'edgeway-development-only-insecure-webhook-secret-key';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

// The raw key bytes of a `whsec_` secret, or null if it is not one (standard base64, 24–64 bytes).
export function secretBytes(secret: string): Uint8Array | null {
  if (!secret.startsWith(PREFIX)) return null;
  const b64 = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return null;
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
  if (bytes.byteLength < MIN_BYTES || bytes.byteLength > MAX_BYTES) return null;
  return bytes;
}

export const SECRET_FORMAT_MESSAGE = `must be a Standard Webhooks secret: whsec_ followed by the base64 of ${MIN_BYTES} to ${MAX_BYTES} bytes`;

export function generateSecret(): string {
  return `${PREFIX}${toBase64(crypto.getRandomValues(new Uint8Array(GENERATED_BYTES)))}`;
}

const keys = new WeakMap<Config, Promise<CryptoKey>>();

function encryptionKey(config: Config): Promise<CryptoKey> {
  let key = keys.get(config);
  if (!key) {
    const material = config.WEBHOOK_SECRET_KEY ?? (config.ENVIRONMENT === 'production' ? undefined : DEV_KEY);
    if (material === undefined) {
      throw new ApiError('SERVICE_UNAVAILABLE', 'Webhooks are not configured (WEBHOOK_SECRET_KEY is not set)');
    }
    key = crypto.subtle.importKey('raw', encoder.encode(material), 'HKDF', false, ['deriveKey']).then((ikm) =>
      crypto.subtle.deriveKey(
        {
          name: 'HKDF',
          hash: 'SHA-256',
          salt: encoder.encode('edgeway-webhooks'),
          info: encoder.encode('secret-v1'),
        },
        ikm,
        { name: 'AES-GCM', length: 256 },
        false,
        ['encrypt', 'decrypt'],
      ),
    );
    keys.set(config, key);
  }
  return key;
}

// `v1.<iv>.<ciphertext>` (base64url): what the webhooks row stores.
export async function encryptSecret(config: Config, webhookId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(webhookId) },
    await encryptionKey(config),
    encoder.encode(secret),
  );
  return `${FORMAT}.${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
}

export async function decryptSecret(config: Config, webhookId: string, stored: string): Promise<string> {
  const [format, iv, sealed] = stored.split('.');
  if (format !== FORMAT || iv === undefined || sealed === undefined) throw new Error('unknown secret format');
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64url(iv), additionalData: encoder.encode(webhookId) },
    await encryptionKey(config),
    fromBase64url(sealed),
  );
  return decoder.decode(plain);
}

/**
 * The Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
 * keyed with the secret's decoded bytes.
 *
 * @example
 * await signPayload(generateSecret(), deliveryId, Math.floor(Date.now() / 1000), body) // 'v1,<base64>'
 */
export async function signPayload(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const raw = secretBytes(secret);
  if (!raw) throw new Error('invalid webhook secret');
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}
