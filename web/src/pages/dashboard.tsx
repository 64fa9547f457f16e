// The organization's traffic: requests, tokens, cost, latency, errors and the cache over a chosen period,
// drawn as uPlot charts (this page's own chunk loads uPlot, so no other page pays for it), the latency
// percentiles of the period, and the AI calls by model and by provider. Everything comes from the public
// analytics API: GET /api/v1/analytics/usage (series and breakdowns) and /performance (percentiles).
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api } from '../lib/api';
import { fmtInt, fmtMs, fmtPct, fmtUsd } from '../lib/format';
import { Busy, ErrorNote, Page, Select, useLoad } from '../ui/components';
import { Breakdown } from './dashboard/breakdown';
import {
  bucketName,
  bucketSeconds,
  cacheHitRate,
  errorRate,
  type Performance,
  peak,
  PERIODS,
  type Period,
  ratio,
  totals,
  type Usage,
} from './dashboard/figures';
import { type ChartSeries, TimeChart, type TimeChartProps } from './dashboard/time-chart';
import './dashboard/dashboard.css';

interface Loaded {
  usage: Usage;
  // Its own failure (e.g. a period longer than request events are kept) leaves the rest of the page usable.
  performance: Performance | { error: unknown };
}

async function loadFigures(period: Period, signal: AbortSignal): Promise<Loaded> {
  const usage = api<Usage>(`/api/v1/analytics/usage?days=${period.days}&granularity=${period.granularity}`, {
    signal,
  });
  const performance = api<Performance>(`/api/v1/analytics/performance?days=${period.performanceDays}`, {
    signal,
  }).catch((error: unknown) => ({ error }));
  return { usage: await usage, performance: await performance };
}

const asCount = (n: number) => fmtInt(n);
const asPct = (n: number) => fmtPct(n);
const asUsd = (n: number) => fmtUsd(n);
const asMs = (n: number) => fmtMs(n);

// Every chart of the period, with a summary sentence of its total or mean and its busiest bucket.
function chartsOf(usage: Usage, period: Period): TimeChartProps[] {
  const rows = usage.api_usage;
  const x = rows.map((r) => bucketSeconds(r.date));
  const names = rows.map((r) => bucketName(r.date, usage.window.granularity));
  const sum = totals(rows);
  const span = period.label.toLowerCase();
  const line = (label: string, values: (number | null)[], colorVar: string): ChartSeries => ({
    label,
    values,
    colorVar,
  });
  const busiest = (values: (number | null)[], format: (n: number) => string) => {
    const p = peak(values, names);
    return p && p.value > 0 ? ` Highest: ${format(p.value)} (${p.name}).` : '';
  };
  const requests = rows.map((r) => r.requests);
  const errors = rows.map((r) => r.errors);
  const tokens = rows.map((r) => r.tokens);
  const cost = rows.map((r) => r.cost_usd);
  const latency = rows.map((r) => r.avg_response_time);
  const errorRates = rows.map((r) => errorRate(r));
  const hitRates = rows.map((r) => cacheHitRate(r));
  return [
    {
      id: 'chart-requests',
      title: 'Requests',
      summary: `${fmtInt(sum.requests)} requests, ${fmtInt(sum.errors)} of them errors, ${span}.${busiest(requests, asCount)}`,
      x,
      xLabels: names,
      series: [line('Requests', requests, '--chart-1'), line('Errors', errors, '--chart-bad')],
      format: asCount,
    },
    {
      id: 'chart-tokens',
      title: 'Tokens',
      summary: `${fmtInt(sum.tokens)} tokens (prompt and completion), ${span}.${busiest(tokens, asCount)}`,
      x,
      xLabels: names,
      series: [line('Tokens', tokens, '--chart-2')],
      format: asCount,
    },
    {
      id: 'chart-cost',
      title: 'Cost',
      summary: `${fmtUsd(sum.cost_usd)} in total, ${span}.${busiest(cost, asUsd)}`,
      x,
      xLabels: names,
      series: [line('Cost (USD)', cost, '--chart-3')],
      format: asUsd,
    },
    {
      id: 'chart-latency',
      title: 'Mean latency',
      summary: `Mean request latency ${fmtMs(sum.avg_response_time)}, ${span}.${busiest(latency, asMs)}`,
      x,
      xLabels: names,
      series: [line('Mean latency', latency, '--chart-4')],
      format: asMs,
    },
    {
      id: 'chart-errors',
      title: 'Error rate',
      summary: `${fmtPct(errorRate(sum))} of requests answered with an error (4xx or 5xx), ${span}.${busiest(errorRates, asPct)}`,
      x,
      xLabels: names,
      series: [line('Error rate', errorRates, '--chart-bad')],
      format: asPct,
    },
    {
      id: 'chart-cache',
      title: 'Cache hit rate',
      summary: `${fmtPct(cacheHitRate(sum))} of cache lookups answered from the cache (${fmtInt(sum.cache_hits)} hits), ${span}.${busiest(hitRates, asPct)}`,
      x,
      xLabels: names,
      series: [line('Cache hit rate', hitRates, '--chart-ok')],
      format: asPct,
    },
  ];
}

function Tiles({ usage, performance }: Loaded): JSX.Element {
  const sum = totals(usage.api_usage);
  const perf = 'error' in performance ? null : performance;
  const tiles: [string, string][] = [
    ['Requests', fmtInt(sum.requests)],
    ['Tokens', fmtInt(sum.tokens)],
    ['Cost', fmtUsd(sum.cost_usd)],
    ['Error rate', fmtPct(ratio(sum.errors, sum.requests))],
    ['Cache hit rate', fmtPct(cacheHitRate(sum))],
    ['Latency p50', fmtMs(perf?.response_times.p50)],
    ['Latency p95', fmtMs(perf?.response_times.p95)],
    ['Latency p99', fmtMs(perf?.response_times.p99)],
  ];
  return (
    <dl class="tiles" aria-label="Totals of the period">
      {tiles.map(([label, value]) => (
        <div class="tile card" key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Percentiles({ performance }: { performance: Loaded['performance'] }): JSX.Element {
  if ('error' in performance) return <ErrorNote error={performance.error} />;
  const { p50, p95, p99 } = performance.response_times;
  const max = Math.max(p50 ?? 0, p95 ?? 0, p99 ?? 0);
  const days = performance.window.days;
  return (
    <section class="card breakdown" aria-labelledby="percentiles-title">
      <h3 id="percentiles-title">Latency percentiles</h3>
      <p class="muted small">
        Over the last {days === 1 ? '24 hours' : `${days} days`}: {fmtInt(performance.window.requests)} requests; 4xx{' '}
        {fmtPct((performance.error_rates['4xx'] ?? 0) / 100)}, 5xx {fmtPct((performance.error_rates['5xx'] ?? 0) / 100)}
        ; peak {fmtInt(performance.throughput.peak_rps)} requests in one second.
      </p>
      <table>
        <caption class="visually-hidden">Latency percentiles in milliseconds</caption>
        <thead>
          <tr>
            <th scope="col">Percentile</th>
            <th scope="col">Latency</th>
            <th scope="col">
              <span class="visually-hidden">Bar</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(
            [
              ['p50 (median)', p50],
              ['p95', p95],
              ['p99', p99],
            ] as const
          ).map(([name, v]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{fmtMs(v)}</td>
              <td class="bar-cell">
                <span class="share-bar wide" aria-hidden="true">
                  <span style={{ width: `${max > 0 && v != null ? Math.round((v / max) * 100) : 0}%` }} />
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const DEFAULT_PERIOD: Period = {
  id: '7d',
  label: 'Last 7 days, by day',
  days: 7,
  granularity: 'day',
  performanceDays: 7,
};

export function DashboardPage(_props: PageProps): JSX.Element {
  const [periodId, setPeriodId] = useState('7d');
  const period = PERIODS.find((p) => p.id === periodId) ?? DEFAULT_PERIOD;
  const { data, error, loading, reload } = useLoad((signal) => loadFigures(period, signal), [period.id]);
  // Built once per answer: the charts redraw only when their data (or the theme) changes.
  const charts = useMemo(() => (data ? chartsOf(data.usage, period) : []), [data]);
  return (
    <Page
      title="Dashboard"
      actions={
        <div class="row">
          <Select label="Period" value={periodId} onChange={(e) => setPeriodId(e.currentTarget.value)}>
            {PERIODS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </Select>
          <div class="field">
            <button type="button" class="secondary" onClick={reload} disabled={loading}>
              Refresh
            </button>
          </div>
        </div>
      }
    >
      <div class="dashboard">
        <ErrorNote error={error} />
        {loading ? <Busy label="Loading the figures…" /> : null}
        {data ? (
          <>
            <p class="muted small" role="status">
              {period.label}: {fmtInt(totals(data.usage.api_usage).requests)} requests. Times are UTC.
            </p>
            <Tiles {...data} />
            <h2>Over time</h2>
            <div class="charts">
              {charts.map((c) => (
                <TimeChart key={c.id} {...c} />
              ))}
            </div>
            <h2>Breakdowns</h2>
            <Percentiles performance={data.performance} />
            <Breakdown
              id="by-model"
              title="By model"
              what="models"
              rows={data.usage.by_model.map((m) => ({ ...m, name: m.model, detail: m.provider }))}
            />
            <Breakdown
              id="by-provider"
              title="By provider"
              what="providers"
              rows={data.usage.by_provider.map((p) => ({ ...p, name: p.provider }))}
            />
          </>
        ) : null}
      </div>
    </Page>
  );
}
