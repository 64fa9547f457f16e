// The provider's own timeout, combined with the caller's signal. For complete() it runs once over the
// whole call; for stream() it is re-armed before every read, so it bounds the wait for each chunk and
// never cuts off a long answer that keeps flowing (the gateway's router does the same per event).
export interface Deadline {
  readonly signal: AbortSignal;
  arm(): void;
  pause(): void;
  timedOut(): boolean;
  dispose(): void;
}

export function startDeadline(ms: number, parent: AbortSignal): Deadline {
  const controller = new AbortController();
  let fired = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pause = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const arm = () => {
    pause();
    timer = setTimeout(() => {
      fired = true;
      controller.abort(new DOMException('The provider did not answer in time', 'TimeoutError'));
    }, ms);
  };
  arm();
  return {
    signal: AbortSignal.any([parent, controller.signal]),
    arm,
    pause,
    timedOut: () => fired,
    dispose: pause,
  };
}

// Settles with `promise`, or rejects as soon as `signal` aborts (a body read may not notice on its own).
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
