/**
 * /apps/:appId/analytics: what devices report of an app (GET /v1/apps/{app_id}/analytics, from
 * the hourly and daily rollups, refreshed about once a minute): starts, active devices, sessions,
 * crash-free sessions and performance percentiles (startup, frame time, memory) over a date range,
 * for every version together or one version, and each version's totals side by side.
 *
 * The range and version are in the URL, so a view can be shared. Charts are uPlot (this page's
 * chunk only) with every number also in a table.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { isApiProblem, type ApiProblem } from '../../api/problem';
import { SelectField } from '../../components/form';
import { Page } from '../../components/Page';
import { useUrlParams } from '../../components/useUrlParams';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { analyticsQuery, describeRange, rangeFromParams, withRange, type RangeChoice } from './analytics-range';
import { AppNav, useApp } from './AppNav';
import { formatCount, formatMb, formatMs, formatPercent, formatSeconds } from './format';
import { RangePicker } from './RangePicker';
import { TimeChart, type ChartLine, type ChartSeries } from './TimeChart';
import { ScrollTable } from '../../components/ScrollTable';
import type { Analytics, AnalyticsPoint, AnalyticsTotals, Percentiles } from './types';

const RANGE_PROBLEMS = new Set(['analytics_range_invalid']);

export default function AnalyticsPage() {
  const { appId = '' } = useParams();
  const { params, update, change } = useUrlParams();
  const choice = rangeFromParams(params);
  const version = params.get('version') ?? '';
  // "Now" as of the last choice of range: re-renders ask for the same thing, and choosing a
  // range again (or reloading) moves it on.
  const [now, setNow] = useState(() => Date.now());
  const query = analyticsQuery(choice, now);
  const app = useApp(appId);

  const analytics = useQuery({
    queryKey: ['/v1/apps/{app_id}/analytics', appId, { ...query, version }],
    queryFn: ({ signal }) =>
      unwrap(api.GET('/v1/apps/{app_id}/analytics', { params: { path: { app_id: appId }, query: { ...query, ...(version ? { version } : {}) } }, signal })),
    // The last range's charts stay while the next one loads, instead of a blank page.
    placeholderData: keepPreviousData,
  });

  const versions = useQuery({
    queryKey: ['/v1/apps/{app_id}/versions', appId, { limit: 100 }],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps/{app_id}/versions', { params: { path: { app_id: appId }, query: { limit: 100 } }, signal })),
  });
  // Only versions that passed their checks can have telemetry.
  const versionNames = (versions.data?.items ?? []).filter((v) => v.status !== 'processing' && v.status !== 'failed').map((v) => v.version);
  if (version && !versionNames.includes(version)) versionNames.unshift(version);

  const setRange = (next: RangeChoice) => {
    setNow(Date.now());
    update((current) => withRange(current, next));
  };
  const setVersion = (next: string) => change({ version: next });

  const problem = isApiProblem(analytics.error) ? analytics.error : null;
  const rangeProblem = problem && RANGE_PROBLEMS.has(problem.code) ? problem : null;
  const csv = `/v1/apps/${encodeURIComponent(appId)}/analytics?${new URLSearchParams({ ...query, ...(version ? { version } : {}), format: 'csv' }).toString()}`;

  return (
    <Page
      title="Analytics"
     
      actions={
        analytics.data && analytics.data.totals.events > 0 ? (
          <a className="button" href={csv} download>
            Download CSV
          </a>
        ) : undefined
      }
    >
      <AppNav appId={appId} />
      <div className="analytics-controls">
        <RangePicker choice={choice} now={now} onChange={setRange} apiProblem={rangeProblem} />
        <div className="analytics-version">
          <SelectField label="Version" name="version" value={version} onChange={(event) => setVersion(event.target.value)}>
            <option value="">All versions</option>
            {versionNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </SelectField>
        </div>
      </div>
      <AnalyticsBody
        appName={app.data?.name ?? 'the app'}
        choice={choice}
        version={version}
        analytics={analytics.data}
        pending={analytics.isPending}
        fetching={analytics.isFetching}
        error={rangeProblem ? null : analytics.error}
        rangeProblem={rangeProblem}
        retry={() => void analytics.refetch()}
        crashGuard={app.data?.crash_guard.crash_free_percent ?? null}
        onWiderRange={() => setRange({ kind: 'preset', preset: '90d' })}
        onAllVersions={() => setVersion('')}
        onVersion={setVersion}
      />
    </Page>
  );
}

function AnalyticsBody(props: {
  appName: string;
  choice: RangeChoice;
  version: string;
  analytics: Analytics | undefined;
  pending: boolean;
  fetching: boolean;
  error: unknown;
  rangeProblem: ApiProblem | null;
  retry: () => void;
  crashGuard: number | null;
  onWiderRange: () => void;
  onAllVersions: () => void;
  onVersion: (version: string) => void;
}) {
  const { analytics, choice, version } = props;
  if (props.rangeProblem) {
    return (
      <p className="form-error" role="alert">
        {props.rangeProblem.detail}
      </p>
    );
  }
  if (props.error) {
    const notFound = isApiProblem(props.error) && props.error.code === 'version_not_found';
    return (
      <>
        <ErrorState error={props.error} onRetry={props.retry} />
        {notFound ? (
          <p>
            <button type="button" className="link-button" onClick={props.onAllVersions}>
              Show every version
            </button>
          </p>
        ) : null}
      </>
    );
  }
  if (props.pending || !analytics) return <Loading label="Loading analytics" />;
  if (analytics.totals.events === 0) {
    const wider = choice.kind === 'custom' || choice.preset !== '90d';
    return (
      <EmptyState
        title={version ? `No telemetry from version ${version} in this range` : 'No telemetry in this range'}
        action={
          wider ? (
            <button type="button" className="button" onClick={props.onWiderRange}>
              Show the last 90 days
            </button>
          ) : undefined
        }
      >
        <p>
          Devices running {props.appName}
          {version ? ` ${version}` : ''} sent no events in {describeRange(choice)}. Events show here about a minute after they arrive.
        </p>
        <p>
          Apps report starts, sessions, crashes and performance through the Mosis runtime: see <a href="/docs/telemetry">Telemetry and crash reports</a>.
        </p>
      </EmptyState>
    );
  }
  return (
    <div className="analytics" aria-busy={props.fetching || undefined}>
      <p className="muted small" role="status">
        {version ? `Version ${version}` : 'All versions'}, {describeRange(choice)} (UTC). Updated about once a minute.
      </p>
      <Summary totals={analytics.totals} />
      <Charts analytics={analytics} crashGuard={props.crashGuard} />
      <ByVersion analytics={analytics} selected={version} onVersion={props.onVersion} />
    </div>
  );
}

function Summary({ totals }: { totals: AnalyticsTotals }) {
  const stats: [string, string, string?][] = [
    ['Starts', formatCount(totals.starts)],
    ['Active devices', `${totals.unique_devices_approximate ? '≈ ' : ''}${formatCount(totals.unique_devices)}`, totals.unique_devices_approximate ? 'Estimated over several days (about 1.6 % either way)' : undefined],
    ['Sessions', formatCount(totals.sessions)],
    ['Average session', formatSeconds(totals.avg_session_seconds)],
    ['Crash-free sessions', formatPercent(totals.crash_free_sessions_percent), `${formatCount(totals.crashed_sessions)} sessions crashed`],
    ['Crashes', formatCount(totals.crashes), `${formatCount(totals.lua_errors)} Lua errors`],
  ];
  return (
    <section aria-labelledby="analytics-summary">
      <h2 id="analytics-summary" className="visually-hidden">
        Summary
      </h2>
      <dl className="ins-stats">
        {stats.map(([label, value, note]) => (
          <div className="ins-stat" key={label}>
            <dt>{label}</dt>
            <dd>
              <span className="ins-stat-value">{value}</span>
              {note ? <span className="ins-stat-note">{note}</span> : null}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** Crash-free sessions sit near 100 %: the scale starts just below the lowest value (or the guard's threshold). */
const crashFreeRange = (min: number, _max: number): [number, number] => [Number.isFinite(min) ? Math.max(0, Math.floor(min - 2)) : 0, 100];
const percentiles = (points: readonly AnalyticsPoint[], pick: (p: AnalyticsPoint) => Percentiles): ChartSeries[] => [
  { label: 'Median (p50)', values: points.map((p) => pick(p).p50), color: '--accent' },
  { label: 'p95', values: points.map((p) => pick(p).p95), color: '--warning-text', dash: [8, 4] },
  { label: 'p99', values: points.map((p) => pick(p).p99), color: '--danger-text', dash: [2, 3] },
];

function Charts({ analytics, crashGuard }: { analytics: Analytics; crashGuard: number | null }) {
  const { series: points, granularity, totals } = analytics;
  const charts = useMemo(() => {
    const buckets = points.map((p) => p.bucket);
    return {
      buckets,
      usage: [
        { label: 'Starts', values: points.map((p) => p.starts), color: '--accent' },
        { label: 'Sessions', values: points.map((p) => p.sessions), color: '--success-text', dash: [8, 4] },
        { label: 'Active devices', values: points.map((p) => p.unique_devices), color: '--warning-text', dash: [2, 3] },
      ] satisfies ChartSeries[],
      stability: [{ label: 'Crash-free sessions', values: points.map((p) => p.crash_free_sessions_percent), color: '--success-text' }] satisfies ChartSeries[],
      startup: percentiles(points, (p) => p.perf.startup_ms),
      frame: percentiles(points, (p) => p.perf.frame_ms),
      memory: percentiles(points, (p) => p.perf.memory_mb),
    };
  }, [points]);
  const guardLine = useMemo<ChartLine | undefined>(() => (crashGuard === null ? undefined : { label: `Crash guard (${crashGuard} %)`, value: crashGuard }), [crashGuard]);
  const per = granularity === 'hour' ? 'per hour' : 'per day';
  const perf = totals.perf;
  return (
    <>
      <section aria-labelledby="analytics-usage" className="analytics-section">
        <h2 id="analytics-usage">Usage</h2>
        <TimeChart
          title="Starts, sessions and active devices"
          summary={`Line chart of app starts, sessions and active devices ${per}: ${formatCount(totals.starts)} starts and ${formatCount(totals.sessions)} sessions in all.`}
          buckets={charts.buckets}
          granularity={granularity}
          series={charts.usage}
          format={formatCount}
          integer
        />
      </section>
      <section aria-labelledby="analytics-stability" className="analytics-section">
        <h2 id="analytics-stability">Stability</h2>
        <TimeChart
          title="Crash-free sessions"
          summary={`Line chart of the share of sessions without a crash ${per}: ${formatPercent(totals.crash_free_sessions_percent)} over the range. Gaps are ${granularity === 'hour' ? 'hours' : 'days'} without sessions.`}
          buckets={charts.buckets}
          granularity={granularity}
          series={charts.stability}
          format={formatPercent}
          yRange={crashFreeRange}
          {...(guardLine ? { line: guardLine } : {})}
        />
        <p className="muted small">
          {formatCount(totals.crashes)} crashes and {formatCount(totals.lua_errors)} Lua errors in this range. <Link to="../crashes" relative="path">See the crash groups</Link>.
        </p>
      </section>
      <section aria-labelledby="analytics-performance" className="analytics-section">
        <h2 id="analytics-performance">Performance</h2>
        <p className="muted small">Percentiles of what devices measured: half of the samples are below the median, 95 % below p95, 99 % below p99.</p>
        <div className="chart-grid">
          <PerfChart title="Startup time" what="startup time" samples={perf.startup_ms.samples} buckets={charts.buckets} granularity={granularity} series={charts.startup} format={formatMs} />
          <PerfChart title="Frame time" what="average frame time" samples={perf.frame_ms.samples} buckets={charts.buckets} granularity={granularity} series={charts.frame} format={formatMs} />
          <PerfChart title="Memory used" what="memory used" samples={perf.memory_mb.samples} buckets={charts.buckets} granularity={granularity} series={charts.memory} format={formatMb} />
        </div>
      </section>
    </>
  );
}

function PerfChart(props: { title: string; what: string; samples: number; buckets: readonly string[]; granularity: Analytics['granularity']; series: ChartSeries[]; format: (v: number | null) => string }) {
  if (props.samples === 0) {
    return (
      <div className="chart chart-none">
        <h3>{props.title}</h3>
        <p className="muted">No {props.what} samples in this range.</p>
      </div>
    );
  }
  return (
    <TimeChart
      title={props.title}
      summary={`Line chart of the median, p95 and p99 ${props.what} ${props.granularity === 'hour' ? 'per hour' : 'per day'}, from ${formatCount(props.samples)} samples.`}
      buckets={props.buckets}
      granularity={props.granularity}
      series={props.series}
      format={props.format}
    />
  );
}

function ByVersion({ analytics, selected, onVersion }: { analytics: Analytics; selected: string; onVersion: (version: string) => void }) {
  const rows = analytics.by_version;
  const mostStarts = Math.max(1, ...rows.map((r) => r.totals.starts));
  return (
    <section aria-labelledby="analytics-versions" className="analytics-section">
      <h2 id="analytics-versions">By version</h2>
      {rows.length === 0 ? (
        <p className="muted">No version reported anything in this range.</p>
      ) : (
        <ScrollTable className="ins-scroll" label="Totals by version">
          <table className="table ins-table-numbers">
            <caption className="visually-hidden">Totals of each version over the range</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Starts</th>
                <th scope="col">Sessions</th>
                <th scope="col">Active devices</th>
                <th scope="col">Crash-free sessions</th>
                <th scope="col">Crashes</th>
                <th scope="col">Startup p95</th>
                <th scope="col">Frame time p95</th>
                <th scope="col">Memory p95</th>
                <th scope="col">
                  <span className="visually-hidden">Filter</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const name = row.version ?? `code ${row.version_code}`;
                return (
                  <tr key={row.version_code}>
                    <th scope="row">
                      {name}
                      <span className="ins-bar" aria-hidden="true">
                        <span className="ins-bar-fill" style={{ width: `${Math.round((row.totals.starts / mostStarts) * 100)}%` }} />
                      </span>
                    </th>
                    <td>{formatCount(row.totals.starts)}</td>
                    <td>{formatCount(row.totals.sessions)}</td>
                    <td>
                      {row.totals.unique_devices_approximate ? '≈ ' : ''}
                      {formatCount(row.totals.unique_devices)}
                    </td>
                    <td>{formatPercent(row.totals.crash_free_sessions_percent)}</td>
                    <td>{formatCount(row.totals.crashes)}</td>
                    <td>{formatMs(row.totals.perf.startup_ms.p95)}</td>
                    <td>{formatMs(row.totals.perf.frame_ms.p95)}</td>
                    <td>{formatMb(row.totals.perf.memory_mb.p95)}</td>
                    <td>
                      {row.version && row.version !== selected ? (
                        <button type="button" className="button button-small" onClick={() => onVersion(row.version ?? '')}>
                          Show only {row.version}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}
