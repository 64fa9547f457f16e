// Single-flight: identical cache misses in flight at the same time share one upstream call.
// Scope is the isolate (where concurrent identical requests meet); see README for why no DO hop.

// A finished flight stays joinable this long after its answer is cached: a twin that looked the
// cache up just before the write landed still finds it here instead of calling upstream again.
// Expiry is checked on access (Date.now), not by a timer, so no stale answer outlives it.
const LINGER_MS = 2_000;

interface Flight<T> {
  value: Promise<T>;
  doneAt: number | undefined;
}

const calls = new Map<string, Flight<unknown>>();

function live<T>(map: Map<string, { doneAt: number | undefined }>, key: string): T | undefined {
  const f = map.get(key);
  if (f && f.doneAt !== undefined && Date.now() - f.doneAt > LINGER_MS) {
    map.delete(key);
    return undefined;
  }
  return f as T | undefined;
}

// `run` resolves with the value and a promise of whether it was cached (only then does it linger).
export async function shareCall<T>(
  key: string,
  run: () => Promise<{ value: T; cached: Promise<boolean> }>,
): Promise<{ value: T; leader: boolean }> {
  const existing = live<Flight<T>>(calls, key);
  if (existing) return { value: await existing.value, leader: false };
  const started = run();
  const flight: Flight<T> = { value: started.then((r) => r.value), doneAt: undefined };
  calls.set(key, flight as Flight<unknown>);
  started.then(
    (r) => r.cached.then((stored) => (stored ? (flight.doneAt = Date.now()) : calls.delete(key))),
    () => calls.delete(key),
  );
  return { value: await flight.value, leader: true };
}

// A stream shared by everyone who asked the same thing: events are buffered so a late joiner
// replays from the start; the upstream is aborted only when every participant has gone.
export class StreamFlight<E> {
  private readonly events: E[] = [];
  private finished = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void)[] = [];
  private participants = 0;

  doneAt: number | undefined;

  constructor(
    source: AsyncIterable<E>,
    private readonly abort: () => void,
    onSettled: (ok: boolean) => void,
  ) {
    void (async () => {
      try {
        for await (const e of source) {
          this.events.push(e);
          this.notify();
        }
      } catch (error) {
        this.failure = { error };
      } finally {
        this.finished = true;
        this.notify();
        onSettled(this.failure === undefined);
      }
    })();
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const w of waiting) w();
  }

  // `signal` is this participant's: when it aborts (its client left) it stops waiting at once.
  async *join(signal: AbortSignal): AsyncGenerator<E> {
    this.participants++;
    let i = 0;
    try {
      for (;;) {
        while (i < this.events.length) yield this.events[i++] as E;
        if (this.finished) {
          if (this.failure) throw this.failure.error;
          return;
        }
        if (signal.aborted) throw signal.reason;
        await new Promise<void>((resolve) => {
          this.wake.push(resolve);
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    } finally {
      this.participants--;
      if (this.participants === 0 && !this.finished) this.abort();
    }
  }
}

const streams = new Map<string, StreamFlight<unknown>>();

export function joinStream<E>(
  key: string,
  signal: AbortSignal,
  linger: boolean,
  start: (signal: AbortSignal) => AsyncIterable<E>,
): { events: AsyncGenerator<E>; leader: boolean } {
  const existing = live<StreamFlight<E>>(streams, key);
  if (existing) return { events: existing.join(signal), leader: false };
  // The upstream call belongs to the flight, not to the first caller: it outlives any one client.
  const controller = new AbortController();
  const flight = new StreamFlight<E>(
    start(controller.signal),
    () => controller.abort(new Error('no listeners left')),
    () => streams.delete(key),
  );
  streams.set(key, flight as StreamFlight<unknown>);
  return { events: flight.join(signal), leader: true };
}

// After a cache clear, this isolate's lingering answers under the prefix must not be handed out.
export function forgetFlights(prefix: string): void {
  for (const key of [...calls.keys()]) if (key.startsWith(prefix)) calls.delete(key);
  for (const key of [...streams.keys()]) if (key.startsWith(prefix)) streams.delete(key);
}
