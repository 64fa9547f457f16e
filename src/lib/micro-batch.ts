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

/** Adds an item to its target's open batch; see `microBatcher` for what the returned promise covers. */
export interface MicroBatcher<K, T> {
  (target: K, item: T): Promise<void>;
  // Writes target's open batch now, in the caller's request, then waits (never rejects) for the batches of
  // target that other requests of this isolate are writing: a reader that must see this isolate's own
  // writes waits for it (an admin read, not the hot path).
  flush(target: K): Promise<void>;
}

interface Batch<T> {
  items: T[];
  weight: number;
}

/**
 * A per-isolate micro-batcher: items added within `flushAfterMs` of each other for the same target (e.g.
 * the same D1 database, Queue binding or tenant) leave together in one `write`, instead of one round trip
 * each. Each target has its own open batch, so interleaved targets do not cut each other's batches short.
 *
 * No request ever waits on a promise another request created (workerd cancels such continuations once
 * the creating request is done, and refuses I/O across requests): the request that opens a batch owns its
 * timer and gets the promise of that write (hand it to `waitUntil`, so the invocation lives until the batch
 * is written); a request whose item fills a batch writes it at once, in its own request, and gets that
 * promise; any other request gets a settled promise, its item riding on the owner's write.
 *
 * @example
 * const send = microBatcher({ flushAfterMs: 20, maxItems: 100, write: (q, bodies) => q.sendBatch(...) });
 * ctx.waitUntil(send(env.QUEUE, event).catch(log));
 */
export function microBatcher<K, T>(opts: MicroBatchOptions<K, T>): MicroBatcher<K, T> {
  const open = new Map<K, Batch<T>>();
  // Writes under way, per target, for flush.
  const writing = new Map<K, Set<Promise<void>>>();

  // Takes the batch's items (once) and writes them in the calling request. Awaited, not returned, so a
  // write that fails at once is handled in the same tick (workerd reports a late handler as unhandled).
  const writeOut = async (target: K, batch: Batch<T>): Promise<void> => {
    if (open.get(target) === batch) open.delete(target);
    const items = batch.items.splice(0);
    batch.weight = 0;
    if (items.length === 0) return;
    const write = opts.write(target, items);
    let set = writing.get(target);
    if (!set) writing.set(target, (set = new Set()));
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    set.add(settled);
    try {
      await write;
    } finally {
      set.delete(settled);
      if (set.size === 0 && writing.get(target) === set) writing.delete(target);
    }
  };

  const start = (target: K): { batch: Batch<T>; owned: Promise<void> } => {
    const batch: Batch<T> = { items: [], weight: 0 };
    open.set(target, batch);
    const owned = new Promise<void>((resolve) => setTimeout(resolve, opts.flushAfterMs)).then(async () => {
      await writeOut(target, batch);
    });
    return { batch, owned };
  };

  const add = (target: K, item: T): Promise<void> => {
    const weight = opts.weight?.(item) ?? 0;
    const max = opts.maxWeight ?? Number.POSITIVE_INFINITY;
    const mine: Promise<void>[] = [];
    let batch = open.get(target);
    // Past the size budget: the open batch leaves now, written by this request.
    if (batch && batch.items.length > 0 && batch.weight + weight > max) {
      mine.push(writeOut(target, batch));
      batch = undefined;
    }
    if (!batch) {
      const started = start(target);
      batch = started.batch;
      mine.push(started.owned);
    }
    batch.items.push(item);
    batch.weight += weight;
    // Full: written at once by this request; the owner's timer later finds it empty.
    if (batch.items.length >= opts.maxItems || batch.weight >= max) mine.push(writeOut(target, batch));
    return mine.length === 1 ? (mine[0] as Promise<void>) : Promise.all(mine).then(() => undefined);
  };

  const flush = async (target: K): Promise<void> => {
    const batch = open.get(target);
    const own = batch ? writeOut(target, batch).catch(() => undefined) : Promise.resolve();
    await Promise.all([own, ...(writing.get(target) ?? [])]);
  };

  return Object.assign(add, { flush });
}
