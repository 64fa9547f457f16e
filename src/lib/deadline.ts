export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Settles with `work`, or with TIMED_OUT once `ms` have passed, whichever comes first; the timer never
 * outlives the race. A rejection of `work` after the deadline is still observed (by the race), so it is
 * never reported as unhandled.
 *
 * @example
 * const r = await withDeadline(limiter.take(policy), 500);
 * if (r === TIMED_OUT) throw new Error('rate limiter did not answer within 500 ms');
 */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
