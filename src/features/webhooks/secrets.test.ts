import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { retryDelaySeconds, RETRY_SCHEDULE_SECONDS } from './backoff';
import { decryptSecret, encryptSecret, generateSecret, secretBytes, signPayload } from './secrets';

const b64 = (n: number) => btoa(String.fromCharCode(...new Uint8Array(n).fill(7)));

describe('webhook secrets', () => {
  it('generates Standard Webhooks secrets of 32 random bytes', () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(secretBytes(a)?.byteLength).toBe(32);
    expect(generateSecret()).not.toBe(a);
  });

  it.each([
    ['24 bytes', `whsec_${b64(24)}`, true],
    ['64 bytes', `whsec_${b64(64)}`, true],
    ['23 bytes', `whsec_${b64(23)}`, false],
    ['65 bytes', `whsec_${b64(65)}`, false],
    ['no prefix', b64(32), false],
    ['base64url alphabet', `whsec_${b64(32).replace(/\+|\//g, '-')}_`, false],
    ['not base64', 'whsec_not base64!', false],
    ['seed 003 example', 'optional_secret_for_verification', false],
  ])('accepts or refuses a given secret: %s', (_name, secret, ok) => {
    expect(secretBytes(secret) !== null).toBe(ok);
  });

  it('encrypts at rest, bound to its webhook: the ciphertext holds no plaintext and opens only for its row', async () => {
    const config = loadConfig({ ENVIRONMENT: 'test' });
    const secret = generateSecret();
    const sealed = await encryptSecret(config, 'hook-1', secret);
    expect(sealed).not.toContain(secret);
    expect(sealed).not.toContain(secret.slice(6));
    expect(await encryptSecret(config, 'hook-1', secret)).not.toBe(sealed); // fresh IV each time
    expect(await decryptSecret(config, 'hook-1', sealed)).toBe(secret);
    await expect(decryptSecret(config, 'hook-2', sealed)).rejects.toThrow();
    const otherKey = loadConfig({ ENVIRONMENT: 'test', WEBHOOK_SECRET_KEY: 'another-key-of-at-least-32-characters!!' });
    await expect(decryptSecret(otherKey, 'hook-1', sealed)).rejects.toThrow();
  });

  it('refuses to make secrets in production without WEBHOOK_SECRET_KEY', async () => {
    const config = loadConfig({ ENVIRONMENT: 'production', JWT_SECRET_KEY: 'x'.repeat(40) });
    await expect(encryptSecret(config, 'hook-1', generateSecret())).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
  });

  it('signs as the standardwebhooks package verifies', async () => {
    const secret = generateSecret();
    const body = JSON.stringify({ type: 'project.created', timestamp: new Date().toISOString(), data: { id: 'p1' } });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signPayload(secret, 'delivery-1', timestamp, body);
    const headers = {
      'webhook-id': 'delivery-1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(signature).toBe(new Webhook(secret).sign('delivery-1', new Date(timestamp * 1000), body));
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });
});

describe('retry backoff', () => {
  it('follows the schedule within ±20 %, capped', () => {
    const schedule = [5, 30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200];
    expect([...RETRY_SCHEDULE_SECONDS]).toEqual(schedule);
    schedule.forEach((s, i) => {
      expect(retryDelaySeconds(i + 1, 43_200, () => 0.5)).toBe(s);
      expect(retryDelaySeconds(i + 1, 43_200, () => 0)).toBe(Math.min(43_200, Math.round(s * 0.8)));
      expect(retryDelaySeconds(i + 1, 43_200, () => 1)).toBe(Math.min(43_200, Math.round(s * 1.2)));
    });
    expect(retryDelaySeconds(40, 43_200, () => 1)).toBe(43_200); // Queues' longest delay
    expect(retryDelaySeconds(3, 1, () => 0.5)).toBe(1);
    expect(retryDelaySeconds(3, 0, () => 0.5)).toBe(0);
  });
});
