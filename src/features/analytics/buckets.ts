// Time windows and buckets of the analytics figures, all in UTC. Why: docs/design/analytics.md#windows-and-buckets

export const GRANULARITIES = ['hour', 'day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

// 1970-01-01 was a Thursday: day 0 is weekday 3 counting from Monday = 0.
const EPOCH_WEEKDAY = 3;

// 00:00 UTC of the first of the `days` calendar days that end with today.
export function usageWindowStart(now: number, days: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
}

// The start of the bucket holding `ms`: the hour, the day, the ISO week (Monday) or the month.
export function bucketStart(ms: number, granularity: Granularity): number {
  switch (granularity) {
    case 'hour':
      return Math.floor(ms / HOUR_MS) * HOUR_MS;
    case 'day':
      return Math.floor(ms / DAY_MS) * DAY_MS;
    case 'week': {
      const day = Math.floor(ms / DAY_MS);
      return (day - ((day + EPOCH_WEEKDAY) % 7)) * DAY_MS;
    }
    case 'month': {
      const d = new Date(ms);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

function nextBucket(start: number, granularity: Granularity): number {
  switch (granularity) {
    case 'hour':
      return start + HOUR_MS;
    case 'day':
      return start + DAY_MS;
    case 'week':
      return start + 7 * DAY_MS;
    case 'month': {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}

// An hour is an ISO timestamp (2024-01-15T10:00:00.000Z); a day, week or month is the date it starts
// (2024-01-15; a week starts on Monday, a month on its first day).
export function bucketLabel(start: number, granularity: Granularity): string {
  const iso = new Date(start).toISOString();
  return granularity === 'hour' ? iso : iso.slice(0, 10);
}

// Every bucket from the one holding `from` to the one holding `to`, in order.
export function bucketStarts(from: number, to: number, granularity: Granularity): number[] {
  const out: number[] = [];
  for (let b = bucketStart(from, granularity); b <= to; b = nextBucket(b, granularity)) out.push(b);
  return out;
}

// The minute rollups' period_start format (consumer.ts: strftime('%Y-%m-%dT%H:%MZ')).
export function minuteKey(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

// The day rollups' period_start format (strftime('%Y-%m-%d')).
export function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// Rounded to `digits` decimals (figures are JSON numbers, not strings).
export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// part ÷ whole in percent with two decimals; null when there is nothing to divide by.
export function percent(part: number, whole: number): number | null {
  return whole > 0 ? round((part / whole) * 100, 2) : null;
}
