export interface MicroBatchOptions<K, T> {
  // A batch leaves this long after its first item, or as soon as it holds maxItems.
  flushAfterMs: number;
  maxItems: number;
  // An optional size budget: a batch leaves before an item would take its total weight past maxWeight
  // (an item heavier than that on its own leaves alone), e.g. a Queue's bytes per sendBatch.
  weight?(item: T): number;
  maxWeight?: number;
  // Writes one batch; every item of it was added for the same target.
  write(target: K, items: T[]): Promise<void>;
}

/** Adds an item to its target's open batch; resolves once that batch is written. */
export interface MicroBatcher<K, T> {
  (target: K, item: T): Promise<void>;
  // Sends target's open batch now and settles (never rejects) once every batch of target this isolate
  // has started is written or failed: a reader that must see this isolate's own writes waits for it.
  flush(target: K): Promise<void>;
}

interface Batch<T> {
  items: T[];
  weight: number;
  done: Promise<void>;
  flush(): void;
}

/**
 * A per-isolate micro-batcher: items added within `flushAfterMs` of each other for the same target (e.g.
 * the same D1 database, Queue binding or tenant) leave together in one `write`, instead of one round trip
 * each. Each target has its own open batch, so interleaved targets do not cut each other's batches short.
 * `add` returns the promise of the item's batch: a caller hands it to `waitUntil`, so the invocation that
 * produced the item stays alive until it is written, and sees the write's failure, if any.
 *
 * @example
 * const send = microBatcher({ flushAfterMs: 20, maxItems: 100, write: (q, bodies) => q.sendBatch(...) });
 * ctx.waitUntil(send(env.QUEUE, event).catch(log));
 */
export function microBatcher<K, T>(opts: MicroBatchOptions<K, T>): MicroBatcher<K, T> {
  const open = new Map<K, Batch<T>>();
  // Batches that have not settled yet, per target, for flush.
  const unsettled = new Map<K, Set<Promise<void>>>();

  // Closes target's open batch: later items start the next one.
  const close = (target: K, batch: Batch<T>) => {
    if (open.get(target) === batch) open.delete(target);
  };

  const start = (target: K): Batch<T> => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batch: Batch<T> = {
      items: [],
      weight: 0,
      flush: release,
      // Awaited, not returned: a write that fails at once is then handled in the same tick (returning it
      // would attach the handler a tick late, which workerd reports as an unhandled rejection).
      done: gate.then(async () => {
        close(target, batch);
        await opts.write(target, batch.items);
      }),
    };
    let pending = unsettled.get(target);
    if (!pending) unsettled.set(target, (pending = new Set()));
    const settled = batch.done.then(
      () => undefined,
      () => undefined,
    );
    pending.add(settled);
    void settled.then(() => {
      pending.delete(settled);
      if (pending.size === 0 && unsettled.get(target) === pending) unsettled.delete(target);
    });
    setTimeout(release, opts.flushAfterMs);
    open.set(target, batch);
    return batch;
  };

  const add = (target: K, item: T): Promise<void> => {
    const weight = opts.weight?.(item) ?? 0;
    const max = opts.maxWeight ?? Number.POSITIVE_INFINITY;
    let batch = open.get(target);
    if (batch && batch.weight + weight > max) {
      close(target, batch);
      batch.flush();
      batch = undefined;
    }
    batch ??= start(target);
    batch.items.push(item);
    batch.weight += weight;
    if (batch.items.length >= opts.maxItems || batch.weight >= max) {
      // Full: later items start the next batch at once.
      close(target, batch);
      batch.flush();
    }
    return batch.done;
  };

  const flush = async (target: K): Promise<void> => {
    const batch = open.get(target);
    if (batch) {
      close(target, batch);
      batch.flush();
    }
    const pending = unsettled.get(target);
    if (pending) await Promise.all([...pending]);
  };

  return Object.assign(add, { flush });
}
