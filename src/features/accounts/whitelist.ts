import type { Config } from '../../config';

// EMAIL_WHITELIST: when set, only these emails may register or sign in, by any method.
export function emailAllowed(config: Config, email: string): boolean {
  const list = config.EMAIL_WHITELIST.map((e) => e.toLowerCase());
  return list.length === 0 || list.includes(email.toLowerCase());
}
