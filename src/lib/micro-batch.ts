export interface MicroBatchOptions<K, T> {
  // A batch leaves this long after its first item, or as soon as it holds maxItems.
  flushAfterMs: number;
  maxItems: number;
  // Writes one batch; every item of it was added for the same target.
  write(target: K, items: T[]): Promise<void>;
}

interface Batch<K, T> {
  target: K;
  items: T[];
  done: Promise<void>;
  flush(): void;
}

/**
 * A per-isolate micro-batcher: items added within `flushAfterMs` of each other (and for the same target,
 * e.g. the same D1 database or Queue binding) leave together in one `write`, instead of one round trip
 * each. `add` returns the promise of the item's batch: a caller hands it to `waitUntil`, so the invocation
 * that produced the item stays alive until it is written, and sees the write's failure, if any.
 *
 * @example
 * const send = microBatcher({ flushAfterMs: 20, maxItems: 100, write: (q, bodies) => q.sendBatch(...) });
 * ctx.waitUntil(send(env.QUEUE, event).catch(log));
 */
export function microBatcher<K, T>(opts: MicroBatchOptions<K, T>): (target: K, item: T) => Promise<void> {
  let current: Batch<K, T> | undefined;

  const open = (target: K): Batch<K, T> => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batch: Batch<K, T> = {
      target,
      items: [],
      flush: release,
      done: gate.then(() => {
        if (current === batch) current = undefined;
        return opts.write(target, batch.items);
      }),
    };
    setTimeout(release, opts.flushAfterMs);
    return batch;
  };

  return (target, item) => {
    if (!current || current.target !== target) current = open(target);
    const batch = current;
    batch.items.push(item);
    if (batch.items.length >= opts.maxItems) {
      // Full: later items start the next batch at once.
      current = undefined;
      batch.flush();
    }
    return batch.done;
  };
}
