// Hash routes (#/playground, #/chats/<id>): the worker serves one static page at /app/, so a reload or a
// shared link never needs a server-side fallback, and the API's own 404s stay untouched.
import { useEffect, useState } from 'preact/hooks';

export function currentPath(): string {
  const h = location.hash.replace(/^#/, '');
  return h.startsWith('/') ? h : '/';
}

export function navigate(path: string): void {
  if (currentPath() !== path) location.hash = path;
}

export function useRoute(): string[] {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const on = () => setPath(currentPath());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return (path.split('?')[0] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
}

// The query part of the hash (#/runs?status=running).
export function routeQuery(): URLSearchParams {
  const h = currentPath();
  const q = h.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
}
