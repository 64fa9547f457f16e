// What the three lists share: filters kept as plain strings, a debounced search box, page-by-page
// navigation on the API's `page`/`limit`, and the load with its loading and error states. Filters that are
// empty are left out of the query, as the list parser treats `?status=` as absent anyway.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { useLoad } from '../../ui/components';
import type { ListPage } from './types';

export const PAGE_SIZE = 10;

export function useList<T>(path: string, initial: Record<string, string>) {
  const [filters, setFilters] = useState(initial);
  // The search box is typed into; the query follows it a moment later, not on every key.
  const [typed, setTyped] = useState(initial.search ?? '');
  const [page, setPage] = useState(1);
  useEffect(() => {
    const t = setTimeout(() => {
      setFilters((f) => (f.search === typed ? f : { ...f, search: typed }));
      setPage(1);
    }, 300);
    return () => clearTimeout(t);
  }, [typed]);
  const q = new URLSearchParams({ limit: String(PAGE_SIZE), page: String(page) });
  for (const [k, v] of Object.entries(filters)) if (v.trim() !== '') q.set(k, v.trim());
  const query = q.toString();
  const load = useLoad((signal) => api<ListPage<T>>(`${path}?${query}`, { signal }), [path, query]);
  return {
    ...load,
    filters,
    typed,
    page,
    setTyped,
    setPage,
    setFilter: (name: string, value: string) => {
      setFilters((f) => ({ ...f, [name]: value }));
      setPage(1);
    },
  };
}

export function Pager({
  page,
  pages,
  total,
  onPage,
  label,
}: {
  page: number;
  pages: number;
  total: number;
  onPage: (p: number) => void;
  label: string;
}): JSX.Element {
  return (
    <nav class="orch-pager" aria-label={`${label} pages`}>
      <button type="button" class="secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span class="muted small" aria-live="polite">
        Page {Math.min(page, Math.max(pages, 1))} of {Math.max(pages, 1)} · {total} in all
      </span>
      <button type="button" class="secondary" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

// Statuses are words on a badge, with a class for colour: the colour is never the only signal.
export function StatusBadge({ status }: { status: string }): JSX.Element {
  const tone =
    status === 'completed' || status === 'active'
      ? 'ok'
      : status === 'failed' || status === 'cancelled'
        ? 'bad'
        : status === 'running' || status === 'started'
          ? 'live'
          : '';
  return <span class={`badge ${tone}`}>{status}</span>;
}
