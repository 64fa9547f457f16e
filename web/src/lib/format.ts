// Numbers and dates as people read them, in the browser's locale.
export const fmtInt = (n: number | null | undefined): string => (n == null ? '—' : Math.round(n).toLocaleString());
export const fmtUsd = (n: number | null | undefined): string =>
  n == null ? '—' : n < 0.01 && n > 0 ? `$${n.toFixed(6)}` : `$${n.toFixed(2)}`;
export const fmtMs = (n: number | null | undefined): string =>
  n == null ? '—' : n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`;
export const fmtPct = (n: number | null | undefined): string => (n == null ? '—' : `${(n * 100).toFixed(1)}%`);
export const fmtDate = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—';
export const fmtBytes = (n: number): string =>
  n >= 1_048_576 ? `${(n / 1_048_576).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`;
