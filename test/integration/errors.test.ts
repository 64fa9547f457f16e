import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { ApiError } from '../../src/lib/errors';
import { BASE, call, expectEnvelope } from '../helpers/http';

describe('the one error envelope', () => {
  it('answers an unknown route with 404 RESOURCE_NOT_FOUND', async () => {
    await expectEnvelope(await call('/api/v1/nope'), 404, 'RESOURCE_NOT_FOUND');
    await expectEnvelope(await call('/definitely/not/here', { method: 'POST' }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('answers a wrong method with 405 and an Allow header', async () => {
    const res = await call('/api/v1/requests', { method: 'DELETE' });
    expect(res.headers.get('allow')).toBe('POST');
    await expectEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
    const get = await call('/api/v1/requests/1', { method: 'PUT' });
    expect(get.headers.get('allow')).toContain('GET');
    await expectEnvelope(get, 405, 'METHOD_NOT_ALLOWED');
  });

  it('turns a thrown bug into 500 INTERNAL_ERROR without stack, SQL or secret', async () => {
    const app = createApp();
    app.get('/boom', () => {
      throw new Error('D1_ERROR: SELECT password_hash FROM users WHERE api_key = sk-live-secret');
    });
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`${BASE}/boom`), env, ctx);
    await waitOnExecutionContext(ctx);
    const text = await res.clone().text();
    const body = await expectEnvelope(res, 500, 'INTERNAL_ERROR');
    expect(body.error.message).toBe('An unexpected error occurred');
    for (const leak of ['SELECT', 'sk-live-secret', 'password_hash', 'at ', '.ts:']) expect(text).not.toContain(leak);
  });

  it('keeps the status, message, details and headers of an ApiError', async () => {
    const app = createApp();
    app.get('/limited', () => {
      throw new ApiError('RATE_LIMIT_EXCEEDED', undefined, { headers: { 'Retry-After': '7' } });
    });
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`${BASE}/limited`), env, ctx);
    expect(res.headers.get('retry-after')).toBe('7');
    await expectEnvelope(res, 429, 'RATE_LIMIT_EXCEEDED');
  });
});

describe('global middleware', () => {
  it('echoes a sane X-Request-ID and replaces an unsafe one', async () => {
    const sane = await call('/health', { headers: { 'x-request-id': 'client-id_123:abc' } });
    expect(sane.headers.get('x-request-id')).toBe('client-id_123:abc');
    for (const bad of ['has space', 'x'.repeat(200), 'a"b', '<script>', '../../etc']) {
      const res = await call('/health', { headers: { 'x-request-id': bad } });
      expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    }
    const none = await call('/health');
    expect(none.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('sets X-Process-Time in seconds on success and error responses', async () => {
    for (const res of [await call('/health'), await call('/nope')]) {
      expect(res.headers.get('x-process-time')).toMatch(/^\d+\.\d{4}$/);
    }
  });

  it('sends Cache-Control: no-store and secure headers on API responses', async () => {
    const res = await call('/api/v1/requests/1');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toContain('max-age=');
  });

  it('allows only configured CORS origins, with credentials', async () => {
    const ok = await call('/health', { headers: { origin: 'http://localhost:8787' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:8787');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await call('/health', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await call('/api/v1/requests', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8787',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('lets browser code send and read the cache headers of the API guide', async () => {
    const preflight = await call('/v1/chat/completions', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8787',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-cache-similarity-threshold, cache-control',
      },
    });
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['x-cache-similarity-threshold', 'cache-control', 'x-api-key']) expect(allowed).toContain(h);
    const res = await call('/health', { headers: { origin: 'http://localhost:8787' } });
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
    for (const h of [
      'x-cache-status',
      'x-cache-similarity',
      'x-ratelimit-remaining',
      'retry-after',
      'x-total-count',
      'link',
    ])
      expect(exposed).toContain(h);
  });

  it('never sends credentials with a wildcard origin', async () => {
    const res = await call('/health', { headers: { origin: 'https://any.example' } }, { CORS_ORIGINS: '*' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('marks compressible answers for gzip only when the client asked for it', async () => {
    const asked = await call('/openapi.json', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(asked.headers.get('content-encoding')).toBe('gzip');
    const notAsked = await call('/openapi.json', { headers: { 'accept-encoding': 'identity' } });
    expect(notAsked.headers.get('content-encoding')).toBeNull();
  });
});

describe('logs', () => {
  it('never print configured secrets or credential-shaped strings', async () => {
    const lines: string[] = [];
    const original = console.error;
    console.error = (line: string) => lines.push(line);
    try {
      const app = createApp();
      app.get('/boom', () => {
        throw new Error(
          'upstream said: invalid key my-configured-openai-key-123 / sk-live-abcdef123 / Bearer eyJhbGciOi.x.y',
        );
      });
      const ctx = createExecutionContext();
      await app.fetch(
        new Request(`${BASE}/boom`),
        { ...env, OPENAI_API_KEY: 'my-configured-openai-key-123' } as Env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
    } finally {
      console.error = original;
    }
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join('\n');
    for (const secret of ['my-configured-openai-key-123', 'sk-live-abcdef123', 'eyJhbGciOi'])
      expect(all).not.toContain(secret);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ level: 'error', msg: 'unhandled error' });
  });
});
