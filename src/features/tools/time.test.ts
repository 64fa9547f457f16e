import { describe, expect, it } from 'vitest';
import { getTime, timeIn, validTimeZone } from './time';
import { ToolError } from './types';

describe('get_time', () => {
  const instant = new Date('2026-07-01T12:34:56.789Z');

  it('answers UTC and a zone with its offset (daylight saving included)', () => {
    expect(timeIn(instant, 'UTC')).toMatchObject({
      utc: '2026-07-01T12:34:56.789Z',
      local: '2026-07-01T12:34:56Z',
      utcOffset: '+00:00',
      weekday: 'Wednesday',
    });
    expect(timeIn(instant, 'Europe/Paris')).toMatchObject({ local: '2026-07-01T14:34:56+02:00', utcOffset: '+02:00' });
    expect(timeIn(new Date('2026-01-15T12:00:00Z'), 'Europe/Paris').utcOffset).toBe('+01:00');
    expect(timeIn(instant, 'Asia/Kolkata').utcOffset).toBe('+05:30');
    expect(timeIn(instant, 'America/New_York')).toMatchObject({ local: '2026-07-01T08:34:56-04:00' });
  });

  it('refuses a zone Intl does not know, as a tool error naming it', () => {
    expect(validTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(() => timeIn(instant, 'Mars/Olympus_Mons')).toThrow(ToolError);
    expect(() => timeIn(instant, 'Mars/Olympus_Mons')).toThrow(/Mars\/Olympus_Mons/);
  });

  it('checks its arguments and defaults to UTC', async () => {
    expect(getTime.args.safeParse({ timezone: 42 }).success).toBe(false);
    const now = (await getTime.run({}, undefined as never)) as { timezone: string; utc: string };
    expect(now.timezone).toBe('UTC');
    expect(Math.abs(Date.parse(now.utc) - Date.now())).toBeLessThan(5_000);
  });
});
