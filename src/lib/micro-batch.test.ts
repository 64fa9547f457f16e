import { describe, expect, it } from 'vitest';
import { microBatcher } from './micro-batch';

// A batcher over an in-memory sink: every write is recorded with its target and items.
function sink(opts: { flushAfterMs?: number; maxItems?: number; maxWeight?: number; fail?: boolean } = {}) {
  const writes: { target: string; items: number[] }[] = [];
  const batcher = microBatcher<string, number>({
    flushAfterMs: opts.flushAfterMs ?? 10,
    maxItems: opts.maxItems ?? 100,
    ...(opts.maxWeight !== undefined ? { weight: (n: number) => n, maxWeight: opts.maxWeight } : {}),
    write: async (target, items) => {
      if (opts.fail) throw new Error('sink refused');
      writes.push({ target, items: [...items] });
    },
  });
  return { writes, batcher };
}

const settledNow = async (p: Promise<unknown>) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 0))]);

describe('microBatcher', () => {
  it('writes items added within the window in one write, per target', async () => {
    const { writes, batcher } = sink();
    const owned = batcher('a', 1);
    void batcher('b', 10);
    void batcher('a', 2);
    void batcher('a', 3);
    await owned;
    await new Promise((r) => setTimeout(r, 20));
    expect(writes).toEqual([
      { target: 'a', items: [1, 2, 3] },
      { target: 'b', items: [10] },
    ]);
  });

  it('hands only the opener the pending write; a later adder is not made to wait on it', async () => {
    const { writes, batcher } = sink({ flushAfterMs: 50 });
    const owner = batcher('a', 1);
    const rider = batcher('a', 2);
    expect(await settledNow(rider)).toBe(true);
    expect(await settledNow(owner)).toBe(false);
    await owner;
    expect(writes).toEqual([{ target: 'a', items: [1, 2] }]);
  });

  it('a request whose item fills the batch writes it at once; the timer later writes nothing more', async () => {
    const { writes, batcher } = sink({ flushAfterMs: 30, maxItems: 3 });
    const owner = batcher('a', 1);
    void batcher('a', 2);
    await batcher('a', 3);
    expect(writes).toEqual([{ target: 'a', items: [1, 2, 3] }]);
    await owner;
    const next = batcher('a', 4);
    await next;
    expect(writes).toEqual([
      { target: 'a', items: [1, 2, 3] },
      { target: 'a', items: [4] },
    ]);
  });

  it('keeps a batch within its weight budget', async () => {
    const { writes, batcher } = sink({ maxWeight: 10 });
    await Promise.all([batcher('a', 4), batcher('a', 4), batcher('a', 4), batcher('a', 12)]);
    await new Promise((r) => setTimeout(r, 20));
    expect(writes.map((w) => w.items)).toEqual([[4, 4], [4], [12]]);
    for (const w of writes) expect(w.items.length === 1 || w.items.reduce((n, x) => n + x, 0) <= 10).toBe(true);
  });

  it('flush writes the open batch now and waits for it', async () => {
    const { writes, batcher } = sink({ flushAfterMs: 10_000 });
    void batcher('a', 1);
    await batcher.flush('a');
    expect(writes).toEqual([{ target: 'a', items: [1] }]);
  });

  it('a failed write reaches the request that owns it, never a rider', async () => {
    const { batcher } = sink({ fail: true });
    const owner = batcher('a', 1);
    const rider = batcher('a', 2);
    await expect(rider).resolves.toBeUndefined();
    await expect(owner).rejects.toThrow('sink refused');
  });
});
