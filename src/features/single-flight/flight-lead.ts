import type { CompleteLeader } from './flight-complete';
import type { StreamLeader } from './flight-stream';
import { Audience, errorLine, type FlightLine } from './flight';

export interface LeadOptions<C> {
  // undefined: nobody can follow (no single-flight for this call); the leader is alone.
  channel: C | undefined;
  // The leader's own client: when it leaves, the upstream call goes on while followers listen.
  signal: AbortSignal;
  // Whether late twins may be handed the answer for a moment (only if it is being cached).
  linger: boolean;
  waitUntil(promise: Promise<unknown>): void;
}

// A non-streaming call led for everyone: followers get its result line, or share its failure.
export function leadCall<T>(
  opts: LeadOptions<CompleteLeader> & { toLine(value: T): FlightLine },
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const audience = new Audience(opts.channel);
  if (opts.signal.aborted) audience.leave();
  else opts.signal.addEventListener('abort', () => audience.leave(), { once: true });
  const work = run(audience.signal).then(
    (value) => {
      opts.waitUntil(opts.channel?.settle(opts.toLine(value), opts.linger) ?? Promise.resolve());
      return value;
    },
    (err: unknown) => {
      // Given up for want of listeners: nothing to tell anyone. Otherwise followers share the failure.
      opts.waitUntil(opts.channel?.settle(audience.signal.aborted ? null : errorLine(err), false) ?? Promise.resolve());
      throw err;
    },
  );
  opts.waitUntil(work.catch(() => undefined));
  return work;
}

// A stream led for everyone: each event goes to the leader's own client (buffered, so a slow client
// never holds followers back) and to the flight as it arrives.
export function leadStream<E>(
  opts: LeadOptions<StreamLeader> & { toLine(event: E): FlightLine },
  start: (signal: AbortSignal) => AsyncIterable<E>,
): AsyncGenerator<E> {
  const audience = new Audience(opts.channel);
  const events: E[] = [];
  let finished = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pump = (async () => {
    try {
      for await (const event of start(audience.signal)) {
        events.push(event);
        opts.channel?.send(opts.toLine(event));
        notify();
      }
      opts.channel?.end(opts.linger);
    } catch (error) {
      failure = { error };
      if (audience.signal.aborted) opts.channel?.abandon();
      else {
        opts.channel?.send(errorLine(error));
        opts.channel?.end(false);
      }
    } finally {
      finished = true;
      notify();
    }
  })();
  opts.waitUntil(pump);
  const signal = opts.signal;
  signal.addEventListener('abort', notify, { once: true });
  return (async function* local(): AsyncGenerator<E> {
    let i = 0;
    try {
      for (;;) {
        while (i < events.length) yield events[i++] as E;
        if (finished) {
          if (failure) throw failure.error;
          return;
        }
        if (signal.aborted) throw signal.reason;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', notify);
      if (!finished) audience.leave();
    }
  })();
}
