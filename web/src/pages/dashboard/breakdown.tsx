// The period's AI calls by model or by provider: a table (it is the text alternative itself), each row with
// a bar of its share of the requests, drawn in CSS and labelled with the percentage in words.
import type { JSX } from 'preact';
import { fmtInt, fmtMs, fmtPct, fmtUsd } from '../../lib/format';
import { cacheHitRate, errorRate, type Figures } from './figures';

export interface BreakdownRow extends Figures {
  name: string;
  detail?: string;
}

export function Breakdown({
  id,
  title,
  what,
  rows,
}: {
  id: string;
  title: string;
  what: string;
  rows: BreakdownRow[];
}) {
  const all = rows.reduce((n, r) => n + r.requests, 0);
  return (
    <section class="card breakdown" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{title}</h3>
      {rows.length === 0 ? (
        <p class="muted">No AI calls in this period.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">
              {title}: {rows.length} {what}, {fmtInt(all)} requests
            </caption>
            <thead>
              <tr>
                <th scope="col">{what === 'models' ? 'Model' : 'Provider'}</th>
                <th scope="col">Requests</th>
                <th scope="col">Share</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost</th>
                <th scope="col">Mean latency</th>
                <th scope="col">Errors</th>
                <th scope="col">Cache hits</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <Row key={`${r.name}/${r.detail ?? ''}`} row={r} all={all} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Row({ row, all }: { row: BreakdownRow; all: number }): JSX.Element {
  const share = all > 0 ? row.requests / all : 0;
  return (
    <tr>
      <th scope="row">
        {row.name}
        {row.detail ? <span class="muted small"> · {row.detail}</span> : null}
      </th>
      <td>{fmtInt(row.requests)}</td>
      <td>
        <span class="share">
          <span class="share-bar" aria-hidden="true">
            <span style={{ width: `${Math.round(share * 100)}%` }} />
          </span>
          {fmtPct(share)}
        </span>
      </td>
      <td>{fmtInt(row.tokens)}</td>
      <td>{fmtUsd(row.cost_usd)}</td>
      <td>{fmtMs(row.avg_response_time)}</td>
      <td>
        {fmtInt(row.errors)} ({fmtPct(errorRate(row))})
      </td>
      <td>{fmtPct(cacheHitRate(row))}</td>
    </tr>
  );
}
