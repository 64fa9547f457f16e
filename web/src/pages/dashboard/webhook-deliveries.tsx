// A webhook's delivery log (GET /api/v1/webhooks/{id}/deliveries, newest first, a page at a time): each
// delivery's event, status, attempts, last response code and error. While a delivery is still pending the
// log refreshes itself (a test sent a moment ago shows its outcome without a click); Refresh does it now.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { fmtDate, fmtInt } from '../../lib/format';
import { Busy, ErrorNote, useLoad } from '../../ui/components';

export interface Delivery {
  id: string;
  webhook_id: string;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed' | 'dead';
  attempts: number;
  last_response_code: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}

interface DeliveryPage {
  data: Delivery[];
  pagination: { total: number; page: number; pages: number; has_next: boolean; has_prev: boolean };
}

const PAGE_SIZE = 10;
const POLL_MS = 1500;
// Stop polling after this many rounds: a delivery retried with backoff can stay pending for minutes.
const MAX_POLLS = 40;

const STATUS_CLASS: Record<Delivery['status'], string> = { succeeded: 'ok', pending: '', failed: 'bad', dead: 'bad' };

export function Deliveries({ webhookId, version }: { webhookId: string; version: number }): JSX.Element {
  const [page, setPage] = useState(1);
  const [polls, setPolls] = useState(0);
  const { data, error, loading, reload } = useLoad(
    (signal) =>
      api<DeliveryPage>(
        `/api/v1/webhooks/${encodeURIComponent(webhookId)}/deliveries?limit=${PAGE_SIZE}&offset=${(page - 1) * PAGE_SIZE}`,
        { signal },
      ),
    [webhookId, page, version],
  );
  // A new test (version bumps): poll again from the start.
  useEffect(() => setPolls(0), [version]);
  const pending = data?.data.some((d) => d.status === 'pending') ?? false;
  useEffect(() => {
    if (!pending || loading || polls >= MAX_POLLS) return;
    const t = setTimeout(() => {
      setPolls((n) => n + 1);
      reload();
    }, POLL_MS);
    return () => clearTimeout(t);
  }, [pending, loading, polls, data]);

  const headingId = `deliveries-${webhookId}`;
  return (
    <section aria-labelledby={headingId} class="deliveries">
      <div class="hook-head">
        <h3 id={headingId}>Delivery log</h3>
        <button type="button" class="secondary" onClick={reload} disabled={loading}>
          Refresh log
        </button>
      </div>
      <ErrorNote error={error} />
      {loading && !data ? <Busy label="Loading deliveries…" /> : null}
      <p class="visually-hidden" role="status">
        {data ? `${fmtInt(data.pagination.total)} deliveries${pending ? ', one or more pending' : ''}` : ''}
      </p>
      {data && data.data.length === 0 ? <p class="muted">No deliveries yet. Send a test to see one here.</p> : null}
      {data && data.data.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Deliveries of this webhook, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Response</th>
                <th scope="col">Duration</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {data.data.map((d) => (
                <tr key={d.id} data-delivery={d.id}>
                  <td>{fmtDate(d.created_at)}</td>
                  <td>
                    <code>{d.event_type}</code>
                  </td>
                  <td>
                    <span class={`badge ${STATUS_CLASS[d.status]}`}>{d.status}</span>
                  </td>
                  <td>{d.attempts}</td>
                  <td>{d.last_response_code ?? '—'}</td>
                  <td>{d.last_duration_ms == null ? '—' : `${d.last_duration_ms} ms`}</td>
                  <td class="small">{d.last_error ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {data && data.pagination.pages > 1 ? (
        <nav class="row" aria-label="Delivery log pages">
          <button
            type="button"
            class="secondary"
            disabled={!data.pagination.has_prev}
            onClick={() => setPage((p) => p - 1)}
          >
            Newer
          </button>
          <span class="small">
            Page {data.pagination.page} of {data.pagination.pages}
          </span>
          <button
            type="button"
            class="secondary"
            disabled={!data.pagination.has_next}
            onClick={() => setPage((p) => p + 1)}
          >
            Older
          </button>
        </nav>
      ) : null}
    </section>
  );
}
