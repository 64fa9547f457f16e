import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { call, expectEnvelope } from '../helpers/http';

// The ConfigError loadConfig throws for `env`; fails the test when it throws nothing (or something else).
function configError(env: Record<string, unknown>): ConfigError {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'loadConfig throws a ConfigError').toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

describe('configuration', () => {
  it('parses embedded defaults with no keys', () => {
    const cfg = loadConfig({
      ENVIRONMENT: 'development',
      ALLOW_ANONYMOUS: 'true',
      CORS_ORIGINS: 'http://localhost:8787',
    });
    expect(cfg.ALLOW_ANONYMOUS).toBe(true);
    expect(cfg.MAX_BODY_BYTES).toBe(1_048_576);
    expect(cfg.OPENAI_API_KEY).toBeUndefined();
    expect(cfg.CORS_ORIGINS).toEqual(['http://localhost:8787']);
  });

  it.each([
    [{ MAX_BODY_BYTES: 'lots' }, 'MAX_BODY_BYTES'],
    [{ PROVIDER_TIMEOUT_MS: '-5' }, 'PROVIDER_TIMEOUT_MS'],
    [{ OPENAI_BASE_URL: 'ftp://files.example' }, 'OPENAI_BASE_URL'],
    [{ ALLOW_ANONYMOUS: 'maybe' }, 'ALLOW_ANONYMOUS'],
    [{ CORS_ORIGINS: 'not a url' }, 'CORS_ORIGINS'],
    [{ ENVIRONMENT: 'production' }, 'JWT_SECRET_KEY'],
    [{ DEFAULT_PROVIDER: 'openai' }, 'DEFAULT_PROVIDER'],
    [{ AWS_REGION: 'evil.example/x' }, 'AWS_REGION'],
    [{ RETRY_MAX_RETRIES: '50' }, 'RETRY_MAX_RETRIES'],
  ])('names the variable at fault: %o', (env, variable) => {
    const err = configError(env);
    expect(err.variables).toContain(variable);
    expect(err.message).toContain(variable);
  });

  it('never puts a value in the error, only the variable name', () => {
    const err = configError({ OPENAI_BASE_URL: 'sk-not-a-url-secret' });
    expect(err.variables).toEqual(['OPENAI_BASE_URL']);
    expect(err.message).toContain('OPENAI_BASE_URL');
    expect(err.message).not.toContain('sk-not-a-url-secret');
  });

  it('answers 503 naming the variable when the deployment is misconfigured', async () => {
    const res = await call('/health', {}, { MAX_BODY_BYTES: 'huge' });
    const body = await expectEnvelope(res, 503, 'SERVICE_UNAVAILABLE');
    expect(body.error.message).toContain('MAX_BODY_BYTES');
  });
});
