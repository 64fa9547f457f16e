import { describe, expect, it } from 'vitest';
import { cacheKey, type CacheKeyInput } from './cache-key';

// The exact cache is keyed by a SHA-256 of tenant, provider, model, messages and sampling parameters
// (README, cache): one answer per distinct request and tenant, never shared across tenants.
const base: CacheKeyInput = {
  tenant: 'org:6f1c',
  provider: 'openai',
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is the capital of France?' },
  ],
};

describe('cache key', () => {
  it('is the same for the same input, and a prefixed SHA-256 in hex', async () => {
    const key = await cacheKey(base);
    expect(key).toMatch(/^ck_[0-9a-f]{64}$/);
    expect(await cacheKey({ ...base, messages: base.messages.map((m) => ({ ...m })) })).toBe(key);
  });

  it('does not depend on the order the fields were given in', async () => {
    const reordered: CacheKeyInput = {
      topP: 0.9,
      messages: base.messages,
      temperature: 0.2,
      model: base.model,
      provider: base.provider,
      tenant: base.tenant,
    };
    expect(await cacheKey(reordered)).toBe(await cacheKey({ ...base, temperature: 0.2, topP: 0.9 }));
  });

  it('differs per tenant, including the anonymous scope', async () => {
    const keys = await Promise.all(
      ['org:6f1c', 'org:9a2b', 'anonymous'].map((tenant) => cacheKey({ ...base, tenant })),
    );
    expect(new Set(keys).size).toBe(3);
  });

  it('differs per provider and per model', async () => {
    const keys = await Promise.all([
      cacheKey(base),
      cacheKey({ ...base, provider: 'groq' }),
      cacheKey({ ...base, model: 'gpt-4o' }),
    ]);
    expect(new Set(keys).size).toBe(3);
  });

  it('changes with every sampling parameter, and an explicit value differs from none', async () => {
    const variants: CacheKeyInput[] = [
      base,
      { ...base, temperature: 0 },
      { ...base, temperature: 0.7 },
      { ...base, temperature: 1 },
      { ...base, maxTokens: 1 },
      { ...base, maxTokens: 100 },
      { ...base, topP: 0 },
      { ...base, topP: 0.5 },
      { ...base, stop: ['END'] },
      { ...base, stop: ['a', 'b'] },
      { ...base, stop: ['a,b'] },
    ];
    const keys = await Promise.all(variants.map(cacheKey));
    expect(new Set(keys).size).toBe(variants.length);
  });

  it('depends on the order, role and content of every message', async () => {
    const [system, user] = base.messages;
    if (!system || !user) throw new Error('fixture');
    const variants: CacheKeyInput['messages'][] = [
      [system, user],
      [user, system],
      [user],
      [system, user, { role: 'assistant', content: '' }],
      [system, { ...user, role: 'assistant' }],
      [system, { ...user, content: `${user.content} ` }],
      [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ],
      // Content that looks like a separator must not make two conversations collide.
      [{ role: 'user', content: 'a","b' }],
      [{ role: 'user', content: 'a\nb' }],
      [{ role: 'user', content: 'ab' }],
    ];
    const keys = await Promise.all(variants.map((messages) => cacheKey({ ...base, messages })));
    expect(new Set(keys).size).toBe(variants.length);
  });

  it('does not let one field run into the next', async () => {
    const keys = await Promise.all([
      cacheKey({ ...base, tenant: 'org:a', provider: 'bopenai' }),
      cacheKey({ ...base, tenant: 'org:ab', provider: 'openai' }),
    ]);
    expect(keys[0]).not.toBe(keys[1]);
  });
});
