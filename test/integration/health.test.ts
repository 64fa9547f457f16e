import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call } from '../helpers/http';

interface Health {
  status: string;
  version: string;
  service: string;
  timestamp: string;
  environment: string;
  providers_configured: Record<string, boolean>;
  checks: Record<string, { status: string; latency_ms: number }>;
}

// A D1 binding whose every query fails, as a dead database would.
const failingStatement = {
  first: () => Promise.reject(new Error('D1_ERROR: database unavailable')),
  bind: () => failingStatement,
};
const brokenDb = { prepare: () => failingStatement } as unknown as D1Database;

describe('health', () => {
  it.each(['/health', '/internal/health'])('%s answers in seed 002 shape with live checks', async (path) => {
    const res = await call(path);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Health;
    expect(body).toMatchObject({ status: 'healthy', service: 'edgeway', environment: 'test' });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.timestamp).toMatch(/Z$/);
    expect(body.providers_configured).toMatchObject({ openai: false, anthropic: false, local: true });
    expect(body.checks.d1?.status).toBe('ok');
    expect(body.checks.kv?.status).toBe('ok');
    expect(body.checks.r2?.status).toBe('ok');
    expect(body.checks.queue?.status).toBe('ok');
  });

  it('reports providers from configuration', async () => {
    const res = await call(
      '/health',
      {},
      { OPENAI_API_KEY: 'sk-x', ANTHROPIC_API_KEY: 'sk-ant-x', GROQ_API_KEY: 'gsk' },
    );
    const body = (await res.json()) as Health;
    expect(body.providers_configured).toMatchObject({ openai: true, anthropic: true, groq: true, bedrock: false });
    expect(JSON.stringify(body)).not.toContain('sk-x');
  });

  it('is unhealthy with 503 when D1 fails', async () => {
    const res = await call('/health', {}, { DB: brokenDb });
    expect(res.status).toBe(503);
    const body = (await res.json()) as Health;
    expect(body.status).toBe('unhealthy');
    expect(body.checks.d1?.status).toBe('error');
    expect(body.checks.kv?.status).toBe('ok');
    expect(JSON.stringify(body)).not.toContain('D1_ERROR');
  });

  it('is degraded with 503 when the request-log queue refuses a probe or is not bound', async () => {
    const refusing = { send: () => Promise.reject(new Error('queue unavailable')) };
    for (const REQUEST_LOG of [refusing, undefined]) {
      const res = await call('/health', {}, { REQUEST_LOG });
      expect(res.status).toBe(503);
      const body = (await res.json()) as Health;
      expect(body.status).toBe('degraded');
      expect(body.checks).toMatchObject({ d1: { status: 'ok' }, kv: { status: 'ok' }, queue: { status: 'error' } });
      expect(JSON.stringify(body)).not.toContain('queue unavailable');
    }
  });

  it('sends the probe as a message the consumer drops', async () => {
    const sent: unknown[] = [];
    const res = await call('/health', {}, { REQUEST_LOG: { send: async (body: unknown) => void sent.push(body) } });
    expect(res.status).toBe(200);
    expect(sent).toContainEqual({ kind: 'probe', ts: expect.any(Number) });
  });

  it('really queries D1 (a fresh binding answers)', async () => {
    expect(await env.DB.prepare('SELECT 1 AS ok').first()).toEqual({ ok: 1 });
  });
});
