import { describe, expect, it } from 'vitest';
import { countingLimiter } from '../helpers/counting-limiter';
import { createApiKey, register } from '../helpers/auth';
import { openaiEnv, postJson } from '../helpers/http';

// An API-key caller's AI call takes three tokens: its client bucket, its organization's hourly window and
// its organization's monthly quota (the last two in one object). Asked of the objects every time, that is
// three calls per request; with leases the isolate spends most of them locally (docs/design/rate-limits.md).
// Its 60 sequential calls take a few hundred ms alone, several seconds on a loaded 2-core machine: a longer
// test timeout (never a timed assertion).
describe('the hot path of an API-key caller', () => {
  it('spends limit and quota tokens from its isolate: 60 calls make a handful of object calls', async () => {
    const owner = await register();
    const key = await createApiKey(owner);
    const counting = countingLimiter();
    for (let i = 0; i < 60; i += 1) {
      const res = await postJson(
        '/v1/chat/completions',
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hot path ${i}` }] },
        openaiEnv({ RATE_LIMITER: counting.namespace }),
        { authorization: `Bearer ${key.key}`, 'cache-control': 'no-store' },
      );
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    // Without leases: 180. Each lease grows with the isolate's demand, up to LIMIT_LEASE_MAX (32).
    expect(counting.calls.lease).toBeLessThanOrEqual(30);
    expect(counting.calls.lease).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
