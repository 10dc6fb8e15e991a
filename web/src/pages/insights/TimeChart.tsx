/**
 * A line chart of values over time (uPlot, on a canvas), with what it draws also as a table: the
 * canvas is an image with a summary for screen readers, and the numbers are in a <details> table
 * below it, for everyone. The chart library is imported here only, so it is in the analytics
 * page's chunk and never in the initial bundle.
 *
 * Colours come from the theme's CSS variables, read when the chart is drawn; a theme change (the
 * toggle, or the system's scheme) draws it again. Times are bucket starts in UTC, as the API counts them.
 */
import { useEffect, useId, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatBucket } from './format';
import { ScrollTable } from '../../components/ScrollTable';
import type { Granularity } from './types';

/** Theme variables a series may take its colour from (each has AA contrast on the page in both themes). */
export type SeriesColor = '--accent' | '--success-text' | '--warning-text' | '--danger-text' | '--info-text' | '--muted';

export interface ChartSeries {
  label: string;
  values: readonly (number | null)[];
  color: SeriesColor;
  /** A dash pattern, so lines differ by more than colour. */
  dash?: readonly number[];
}

export interface ChartLine {
  label: string;
  value: number;
}

export interface TimeChartProps {
  title: string;
  /** One sentence on what the chart shows, for the image's accessible name. */
  summary: string;
  /** Bucket starts (ISO). */
  buckets: readonly string[];
  granularity: Granularity;
  series: readonly ChartSeries[];
  /** Formats a value (axis, readout, table). */
  format: (value: number | null) => string;
  /** The y scale from the values' minimum and maximum (default: from 0 up). */
  yRange?: (min: number, max: number) => [number, number];
  /** A horizontal reference line (the crash guard's threshold). */
  line?: ChartLine;
  /** Counts: ticks on whole numbers only (no "1.5 starts"). */
  integer?: boolean;
}

const HEIGHT = 240;
/** Tick steps for counts: 1, 2, 5, 10, 20, 50, … */
const WHOLE_STEPS = Array.from({ length: 10 }, (_, i) => [1, 2, 5].map((m) => m * 10 ** i)).flat();
const DARK = '(prefers-color-scheme: dark)';

function subscribeTheme(changed: () => void): () => void {
  const observer = new MutationObserver(changed);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  const media = window.matchMedia(DARK);
  media.addEventListener('change', changed);
  return () => {
    observer.disconnect();
    media.removeEventListener('change', changed);
  };
}

/** Which palette is in force: the chosen theme, or the system's when none is chosen. */
function themeSnapshot(): string {
  return `${document.documentElement.dataset['theme'] ?? 'system'}:${window.matchMedia(DARK).matches ? 'dark' : 'light'}`;
}

export function useThemeKey(): string {
  return useSyncExternalStore(subscribeTheme, themeSnapshot);
}

const tickDay = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', day: 'numeric', month: 'short' });
const tickHour = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', hour: '2-digit', minute: '2-digit' });

function dashOf(dash: readonly number[] | undefined): number[] | undefined {
  return dash ? [...dash] : undefined;
}

export function TimeChart({ title, summary, buckets, granularity, series, format, yRange, line, integer = false }: TimeChartProps) {
  const id = useId();
  const plot = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLParagraphElement>(null);
  const theme = useThemeKey();

  useEffect(() => {
    const target = plot.current;
    if (!target) return undefined;
    // Read at draw time: the effect runs again when the theme changes.
    const css = getComputedStyle(document.documentElement);
    const color = (name: string) => css.getPropertyValue(name).trim() || '#888';
    const font = `12px ${css.getPropertyValue('--font').trim() || 'sans-serif'}`;
    const text = color('--muted');
    const grid = color('--border');
    const times = buckets.map((bucket) => Date.parse(bucket) / 1000);
    const data: uPlot.AlignedData = [times, ...series.map((s) => [...s.values]), ...(line ? [times.map(() => line.value)] : [])];
    const axis = (values: uPlot.Axis['values'], size?: uPlot.Axis['size'], incrs?: number[]): uPlot.Axis => ({
      stroke: text,
      font,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
      values,
      ...(size ? { size } : {}),
      ...(incrs ? { incrs } : {}),
    });
    const options: uPlot.Options = {
      width: Math.max(target.clientWidth, 280),
      height: HEIGHT,
      // Buckets are UTC hours and days: ticks fall on UTC boundaries.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      scales: {
        x: { time: true },
        y: { range: (_u, min, max) => (yRange ? yRange(min, max) : [0, max > 0 ? max * 1.1 : 1]) },
      },
      axes: [
        { ...axis((_u, splits) => splits.map((s) => (granularity === 'hour' ? tickHour : tickDay).format(new Date(s * 1000)))), space: 64 },
        axis(
          (_u, splits) => splits.map((s) => format(s)),
          // Wide enough for the longest label ("1,234.5 ms").
          (_u, values) => Math.max(40, ...(values ?? []).map((v) => v.length * 7 + 14)),
          integer ? WHOLE_STEPS : undefined,
        ),
      ],
      series: [
        {},
        ...series.map((s) => ({ label: s.label, stroke: color(s.color), width: 2, dash: dashOf(s.dash), spanGaps: false, points: { show: buckets.length <= 40, size: 5, fill: color('--raised') } })),
        ...(line ? [{ label: line.label, stroke: color('--danger-text'), width: 1, dash: [4, 4], points: { show: false } }] : []),
      ],
      hooks: {
        // What is under the pointer, as text beside the chart (the table has every value).
        setCursor: [
          (u) => {
            const out = readout.current;
            if (!out) return;
            const index = u.cursor.idx;
            const bucket = index === null || index === undefined ? undefined : buckets[index];
            if (index === null || index === undefined || bucket === undefined) {
              out.textContent = '\u00a0';
              return;
            }
            out.textContent = `${formatBucket(bucket, granularity)}: ${series.map((s) => `${s.label} ${format(s.values[index] ?? null)}`).join(' · ')}`;
          },
        ],
      },
    };
    const chart = new uPlot(options, data, target);
    const resize = new ResizeObserver(() => {
      const width = Math.max(target.clientWidth, 280);
      if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
    });
    resize.observe(target);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [buckets, granularity, series, format, yRange, line, integer, theme]);

  return (
    <figure className="chart" aria-labelledby={`${id}-title`}>
      <figcaption>
        <h3 id={`${id}-title`}>{title}</h3>
        <ul className="chart-legend">
          {series.map((s) => (
            <li key={s.label}>
              <span className={`chart-swatch${s.dash ? ((s.dash[0] ?? 0) <= 2 ? ' chart-swatch-dotted' : ' chart-swatch-dashed') : ''}`} style={{ borderTopColor: `var(${s.color})` }} aria-hidden="true" />
              {s.label}
            </li>
          ))}
          {line ? (
            <li>
              <span className="chart-swatch chart-swatch-dotted" style={{ borderTopColor: 'var(--danger-text)' }} aria-hidden="true" />
              {line.label}
            </li>
          ) : null}
        </ul>
      </figcaption>
      <div className="chart-plot" ref={plot} role="img" aria-label={`${summary} The numbers are in the table below the chart.`} />
      <p className="chart-readout small muted" ref={readout} aria-hidden="true">
        {'\u00a0'}
      </p>
      <details className="chart-data">
        <summary>Show the numbers</summary>
        <ScrollTable className="ins-scroll" label={`${title}: the numbers`}>
          <table className="table ins-table-numbers">
            <caption className="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">{granularity === 'hour' ? 'Hour' : 'Day'}</th>
                {series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {buckets.map((bucket, index) => (
                <tr key={bucket}>
                  <th scope="row">{formatBucket(bucket, granularity)}</th>
                  {series.map((s) => (
                    <td key={s.label}>{format(s.values[index] ?? null)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      </details>
    </figure>
  );
}
