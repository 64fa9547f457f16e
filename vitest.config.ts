import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig(async () => {
  const migrations = await readD1Migrations('./migrations');
  return {
    test: {
      // workerd also rejects an internal promise of a response body whose connection is cut or whose
      // pending read is aborted (cloudflare/workerd#501), besides the reader, which our code handles;
      // the mock upstream cuts and hangs connections on purpose, and timeouts abort them. Only these
      // exact runtime errors are let through; any other unhandled error still fails the run.
      onUnhandledError: (error: { message?: string; name?: string }) =>
        !(
          error.message === 'Network connection lost.' ||
          (error.name === 'AbortError' && error.message === 'The operation was aborted')
        ),
      projects: [
        {
          plugins: [
            cloudflareTest(({ inject }) => ({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  ENVIRONMENT: 'test',
                  TEST_MIGRATIONS: migrations,
                  MOCK_UPSTREAM_URL: inject('mockUpstreamUrl'),
                  // Generous limits for the suite, whose files fire many requests from one client or
                  // organization; test/integration/rate-limit.test.ts overrides them with the real ones.
                  RATE_LIMIT_PER_MINUTE: '100000',
                  RATE_LIMIT_BURST: '100000',
                  TIER_LIMIT_FREE: '100000',
                  TIER_LIMIT_PRO: '100000',
                  TIER_LIMIT_ENTERPRISE: '100000',
                  WS_CONNECTIONS_PER_MINUTE: '100000',
                  // Work that runs outside a test's request (Workflow steps: test/integration/orchestration.test.ts)
                  // cannot take env overrides: Groq, unused by the rest of the suite, points at the mock upstream.
                  GROQ_API_KEY: 'gsk-suite-mock',
                  GROQ_BASE_URL: `${String(inject('mockUpstreamUrl'))}/v1`,
                  // Orchestration: engine retries after 100 ms, and a cancel seen within 100 ms.
                  ORCHESTRATION_RETRY_DELAY_MS: '100',
                  ORCHESTRATION_CANCEL_POLL_MS: '100',
                  // Socket.IO heartbeats a test can see (test/integration/socket-io.test.ts).
                  SIO_PING_INTERVAL_MS: '1000',
                  SIO_PING_TIMEOUT_MS: '2000',
                  // The suite checks that logout, revocation and role changes act on the very next
                  // request; test/integration/identity-cache.test.ts turns the cache on and tests its bound.
                  IDENTITY_CACHE_TTL_SECONDS: '0',
                  // Webhooks (test/integration/webhooks.test.ts): retries after at most 1 s instead of the
                  // production schedule, 5 attempts, a 2 s deadline per attempt, and the mock upstream's
                  // DNS-over-HTTPS answers for names (no internet in tests).
                  WEBHOOK_RETRY_MAX_DELAY_SECONDS: '1',
                  WEBHOOK_MAX_ATTEMPTS: '5',
                  WEBHOOK_TIMEOUT_MS: '2000',
                  WEBHOOK_DOH_URL: `${inject('mockUpstreamUrl')}/__doh`,
                },
                // AI calls' `requests` rows arrive through the request-log queue's consumer: the suite
                // delivers after 50 ms instead of wrangler.toml's 1 s, so a test reading a row right after
                // its request waits less. Otherwise as wrangler.toml (this entry replaces the toml's).
                queueConsumers: {
                  'edgeway-request-log': {
                    maxBatchSize: 100,
                    maxBatchTimeout: 0.05,
                    maxRetries: 3,
                    deadLetterQueue: 'edgeway-request-log-dlq',
                  },
                  // As wrangler.toml, but delivered after 50 ms (Miniflare's defaults differ, so all are set).
                  'edgeway-webhooks': {
                    maxBatchSize: 10,
                    maxBatchTimeout: 0.05,
                    maxRetries: 30,
                    deadLetterQueue: 'edgeway-webhooks-dlq',
                  },
                },
              },
            })),
          ],
          test: {
            name: 'workers',
            globalSetup: ['./test/global-setup.ts'],
            include: ['test/integration/**/*.test.ts', 'src/**/*.test.ts'],
            setupFiles: ['./test/helpers/apply-migrations.ts'],
          },
        },
        {
          // Checks that read the source tree as text (no runtime needed).
          test: { name: 'static', include: ['test/static/**/*.test.ts'], environment: 'node' },
        },
        {
          test: {
            name: 'e2e',
            include: ['test/e2e/**/*.test.ts'],
            globalSetup: ['./test/e2e/build-web.ts'],
            environment: 'node',
            testTimeout: 60_000,
            hookTimeout: 120_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
