// The signed-in session: tokens and the user, kept in localStorage so a reload stays signed in, with
// subscribers so the shell re-renders on sign-in, sign-out, refresh and organization switch.
import type { User } from './api';

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: User;
}

const KEY = 'edgeway.session';
const listeners = new Set<(s: Session | null) => void>();
let current: Session | null = load();

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<Session>;
    return typeof s.accessToken === 'string' && typeof s.refreshToken === 'string' && s.user ? (s as Session) : null;
  } catch {
    return null;
  }
}

export function getSession(): Session | null {
  return current;
}

export function setSession(s: Session): void {
  current = s;
  localStorage.setItem(KEY, JSON.stringify(s));
  for (const l of listeners) l(current);
}

export function clearSession(): void {
  current = null;
  localStorage.removeItem(KEY);
  for (const l of listeners) l(null);
}

export function onSession(listener: (s: Session | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
