import type { LIVE_GAUGES } from '../../db/schema';
import type { Logger } from '../../lib/log';

export type LiveGauge = (typeof LIVE_GAUGES)[number];

// One gauge moved by `delta` (never below 0: a close counted twice must not drive it negative). Called by the
// realtime objects when a socket or room opens or closes, in waitUntil: never on a frame's path, and a
// failure only costs the gauge's accuracy. Why: docs/design/rooms.md#metrics
export async function adjustLiveGauge(db: D1Database, log: Logger, name: LiveGauge, delta: number): Promise<void> {
  try {
    await db
      .prepare(
        'INSERT INTO live_gauges (name, value) VALUES (?1, MAX(0, ?2)) ON CONFLICT(name) DO UPDATE SET value = MAX(0, value + ?2)',
      )
      .bind(name, delta)
      .run();
  } catch (err) {
    log.warn('live gauge not updated', { gauge: name, error: String(err) });
  }
}
