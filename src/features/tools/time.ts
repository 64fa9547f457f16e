import { z } from 'zod';
import { defineTool, ToolError } from './types';

// The current time, in UTC and in an IANA time zone the runtime's Intl knows (validated by asking Intl,
// so a name it does not know is the model's mistake in words, not a RangeError).

export function validTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const PART_TYPES = ['year', 'month', 'day', 'hour', 'minute', 'second', 'weekday'] as const;
type Parts = Record<(typeof PART_TYPES)[number], string>;

function partsIn(date: Date, timeZone: string): Parts {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    weekday: 'long',
  });
  const parts = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
  const out = {} as Parts;
  for (const t of PART_TYPES) out[t] = String(parts[t] ?? '');
  return out;
}

// "+05:30" / "-04:00": the zone's wall clock minus UTC at that instant.
function offsetOf(date: Date, p: Parts): string {
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const minutes = Math.round((wall - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function timeIn(date: Date, timeZone: string) {
  if (!validTimeZone(timeZone))
    throw new ToolError(`Unknown time zone '${timeZone}' (use an IANA name like Europe/Paris)`);
  const p = partsIn(date, timeZone);
  const offset = offsetOf(date, p);
  return {
    utc: date.toISOString(),
    timezone: timeZone,
    local: `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${offset === '+00:00' ? 'Z' : offset}`,
    weekday: p.weekday,
    utcOffset: offset,
    unixSeconds: Math.floor(date.getTime() / 1000),
  };
}

export const getTime = defineTool({
  name: 'get_time',
  description: 'The current date and time, in UTC and in the given IANA time zone (default UTC).',
  parameters: {
    type: 'object',
    properties: { timezone: { type: 'string', description: 'IANA time zone, e.g. Europe/Paris', maxLength: 64 } },
    additionalProperties: false,
  },
  args: z.object({ timezone: z.string().min(1).max(64).optional() }),
  enabled: () => true,
  run: ({ timezone }) => Promise.resolve(timeIn(new Date(), timezone ?? 'UTC')),
});
