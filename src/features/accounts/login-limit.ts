import { sql } from 'drizzle-orm';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { loginAttempts } from '../../db/schema';
import { ApiError } from '../../lib/errors';

// One atomic upsert per key: the window resets when it has passed, else the count goes up. D1 runs
// it as a single statement, so parallel guesses cannot slip past the limit.
async function hit(db: Database, key: string, windowSeconds: number): Promise<{ count: number; resetAt: number }> {
  const now = Math.floor(Date.now() / 1000);
  const row = await db
    .insert(loginAttempts)
    .values({ key, windowStart: now, count: 1 })
    .onConflictDoUpdate({
      target: loginAttempts.key,
      set: {
        count: sql`CASE WHEN ${loginAttempts.windowStart} <= ${now - windowSeconds} THEN 1 ELSE ${loginAttempts.count} + 1 END`,
        windowStart: sql`CASE WHEN ${loginAttempts.windowStart} <= ${now - windowSeconds} THEN ${now} ELSE ${loginAttempts.windowStart} END`,
      },
    })
    .returning({ count: loginAttempts.count, windowStart: loginAttempts.windowStart })
    .get();
  return { count: row?.count ?? 1, resetAt: (row?.windowStart ?? now) + windowSeconds };
}

export async function checkLoginRate(db: Database, config: Config, email: string, ip: string): Promise<void> {
  const [account, address] = await Promise.all([
    hit(db, `account:${email.toLowerCase()}`, config.LOGIN_WINDOW_SECONDS),
    hit(db, `ip:${ip}`, config.LOGIN_WINDOW_SECONDS),
  ]);
  const over =
    account.count > config.LOGIN_MAX_ATTEMPTS_PER_ACCOUNT
      ? account
      : address.count > config.LOGIN_MAX_ATTEMPTS_PER_IP
        ? address
        : undefined;
  if (over) {
    const retryAfter = Math.max(1, over.resetAt - Math.floor(Date.now() / 1000));
    throw new ApiError('RATE_LIMIT_EXCEEDED', 'Too many login attempts; try again later', {
      headers: { 'Retry-After': String(retryAfter) },
    });
  }
}

export function clientIp(headers: Headers): string {
  // Only Cloudflare's header: it cannot be forged by the client, unlike X-Forwarded-For or X-Real-IP.
  return headers.get('cf-connecting-ip') ?? 'local';
}
