// One figure over time drawn by uPlot on a canvas, with its text alternative: a caption that says what it
// shows and its main figures, a legend in words, and the data as a table behind a toggle. The canvas is
// hidden from assistive technology (the table says everything it does). Colours come from the page's CSS
// variables, read again when the theme changes, so the lines keep their contrast in light and dark.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  // A CSS custom property of the dashboard (e.g. '--chart-1'): the line's colour, read at draw time.
  colorVar: string;
}

export interface TimeChartProps {
  id: string;
  title: string;
  // One sentence of the figures that matter (totals, peak): read before the table.
  summary: string;
  // Bucket starts in epoch seconds, oldest first, one per value of every series.
  x: number[];
  // How each bucket is named in the data table (its date or hour).
  xLabels: string[];
  series: ChartSeries[];
  format: (n: number) => string;
}

const HEIGHT = 200;

// The theme's current colours, from the chart's own element (its variables follow light and dark).
function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

// Bumps when the colour scheme changes: the theme switch (data-theme) or the system preference.
function useThemeTick(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const bump = () => setTick((t) => t + 1);
    const observer = new MutationObserver(bump);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    const media = matchMedia('(prefers-color-scheme: dark)');
    media.addEventListener('change', bump);
    return () => {
      observer.disconnect();
      media.removeEventListener('change', bump);
    };
  }, []);
  return tick;
}

export function TimeChart({ id, title, summary, x, xLabels, series, format }: TimeChartProps): JSX.Element {
  const holder = useRef<HTMLDivElement>(null);
  const themeTick = useThemeTick();

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const fg = cssVar(el, '--muted', '#545e73');
    const grid = cssVar(el, '--line', '#d5dae4');
    const axis = (values?: uPlot.Axis['values']): uPlot.Axis => ({
      stroke: fg,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      values,
    });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [axis(), { ...axis((_u, ticks) => ticks.map((t) => format(t))), size: 70 }],
      series: [
        {},
        ...series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: cssVar(el, s.colorVar, '#2449b8'),
          width: 2,
          points: { show: x.length < 40 },
          spanGaps: false,
          value: (_u, v) => (v == null ? '—' : format(v)),
        })),
      ],
    };
    const chart = new uPlot(opts, [x, ...series.map((s) => s.values)], el);
    // Follows the width of its column (a phone, a resized window).
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [x, series, format, themeTick]);

  return (
    <figure class="chart card" aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`}>
      <figcaption>
        <h3 id={`${id}-title`}>{title}</h3>
        <p id={`${id}-summary`} class="muted small">
          {summary}
        </p>
      </figcaption>
      {series.length > 1 ? (
        <ul class="chart-legend small">
          {series.map((s) => (
            <li key={s.label}>
              <span class={`swatch ${s.colorVar.slice(2)}`} aria-hidden="true" /> {s.label}
            </li>
          ))}
        </ul>
      ) : null}
      <div class="chart-canvas" ref={holder} aria-hidden="true" data-chart={id} />
      <details class="chart-data">
        <summary>Show the data of “{title}” as a table</summary>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Period</th>
                {series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {xLabels.map((label, i) => (
                <tr key={label}>
                  <th scope="row">{label}</th>
                  {series.map((s) => {
                    const v = s.values[i];
                    return <td key={s.label}>{v == null ? '—' : format(v)}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
