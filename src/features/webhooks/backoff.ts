// The wait before each retry of a failed delivery, in seconds: after attempt 1 about 5 s, then 30 s, 2 min,
// 10 min, 30 min, 1 h, 2 h, 4 h, 8 h and 12 h (Queues delay a message at most 12 h), each ±20 % so
// endpoints that failed together are not retried together. With the default 11 attempts a delivery is
// tried for about 28 hours before it is dead.
export const RETRY_SCHEDULE_SECONDS = [5, 30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200] as const;

const QUEUE_MAX_DELAY_SECONDS = 43_200;
const JITTER = 0.2;

/**
 * Seconds to wait after failed attempt number `attempt` (1-based), capped at `maxDelaySeconds`.
 *
 * @example
 * retryDelaySeconds(1, 43_200, () => 0.5) // 5
 */
export function retryDelaySeconds(
  attempt: number,
  maxDelaySeconds: number,
  random: () => number = Math.random,
): number {
  const index = Math.min(Math.max(attempt, 1), RETRY_SCHEDULE_SECONDS.length) - 1;
  const base = RETRY_SCHEDULE_SECONDS[index] ?? QUEUE_MAX_DELAY_SECONDS;
  const jittered = base * (1 - JITTER + 2 * JITTER * random());
  return Math.max(0, Math.min(Math.round(jittered), maxDelaySeconds, QUEUE_MAX_DELAY_SECONDS));
}
