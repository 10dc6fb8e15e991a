import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { getMetricsFromIterator, type PromHistogramData, type PromMetric, type PromMetrics } from 'prom2javascript';
import { expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { GC_JOB } from '../../src/core.js';
import { runJobs } from '../support/accounts.js';
import { postEvents, telemetryWorld, ev } from '../support/telemetry.js';
import { describeEachDatabase, describeOnSqlite, type TestPortal } from '../support/portal.js';

type MetricType = 'counter' | 'gauge' | 'histogram';
type Sample = { labels: Record<string, string>; value?: number } & Partial<PromHistogramData>;

/** GET /metrics, parsed by a Prometheus text-format parser (which throws on any line not in the format). */
async function scrape(p: TestPortal, headers: Record<string, string> = {}): Promise<PromMetrics> {
  const res = await p.app.inject({ method: 'GET', url: '/metrics', headers });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  // NaN is a valid value (prom-client writes `Nan` for an event-loop percentile that saw no sample
  // since the last scrape, as when two come a few milliseconds apart) that this parser does not
  // read: such lines are left out, and only those families may have them.
  const lines = res.body.split('\n');
  const nan = lines.filter((line) => line.endsWith(' Nan'));
  for (const line of nan) expect(line).toMatch(/^mosis_nodejs_eventloop_lag_\w+_seconds Nan$/);
  return getMetricsFromIterator(lines.filter((line) => !line.endsWith(' Nan'))[Symbol.iterator]());
}

function family(metrics: PromMetrics, name: string, type: MetricType): PromMetric & { data: Sample[] } {
  const found = metrics[name];
  expect(found, `metric family ${name}`).toBeDefined();
  expect(found?.type, name).toBe(type);
  expect(found?.help, name).toBeTruthy();
  return found as PromMetric & { data: Sample[] };
}

/** The one series of a family whose labels include `labels`. */
function sample(metrics: PromMetrics, name: string, type: MetricType, labels: Record<string, string> = {}): Sample {
  const matching = family(metrics, name, type).data.filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  expect(matching, `${name}${JSON.stringify(labels)}`).toHaveLength(1);
  return matching[0] as Sample;
}

const value = (metrics: PromMetrics, name: string, type: MetricType, labels: Record<string, string> = {}): number => {
  const found = sample(metrics, name, type, labels).value;
  expect(typeof found, `${name}${JSON.stringify(labels)} has a value`).toBe('number');
  return found as number;
};

/**
 * The fan-out's cursor as a portal migrated before its first event has it (migration 0015 makes
 * it): a reused PostgreSQL test database has had its rows emptied.
 */
async function notificationsCursorAtStart(p: TestPortal): Promise<void> {
  await p.database.db.insertInto('event_cursors').values({ consumer: 'notifications', position: 0 }).onConflict((oc) => oc.doNothing()).execute();
}

// Both dialects: the scraped gauges are queries that differ by dialect (grouped counts, bigint
// positions, SQLite's files vs pg_database_size).
/** Most of this file reads the metrics as a Prometheus on a private network would, without a token. */
const PUBLIC = { env: () => ({ METRICS_PUBLIC: 'true' }) };

describeEachDatabase('GET /metrics', (portal) => {
  it('exports every promised family, in the text format, with values that follow what the portal did', async () => {
    const p = portal();
    await notificationsCursorAtStart(p);
    const { dev, app, versions } = await telemetryWorld(p, [1]);
    const packageBytes = versions[0]?.file.length ?? 0;
    expect(packageBytes).toBeGreaterThan(0);
    // A job that fails its only attempt, and one due 90 s ago that nothing has run yet.
    p.jobs.define('test.always-fails', { maxAttempts: 1, handler: () => Promise.reject(new Error('boom')) });
    await p.jobs.enqueue(p.database.db, { kind: 'test.always-fails', payload: null });
    await runJobs(p);
    await p.jobs.enqueue(p.database.db, { kind: GC_JOB, payload: null, runAt: new Date(Date.now() - 90_000) });
    const read = await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: dev.auth });
    expect(read.statusCode).toBe(200);
    const sent = await postEvents(p, app.package_id, { device: 'device-metrics-1', session: 's1', events: [ev('app_start', Date.now())] });
    expect(sent.statusCode, sent.body).toBe(202);

    const m = await scrape(p);

    // Requests: by route pattern, method and status, never by URL; /metrics itself is left out.
    const appRead = sample(m, 'mosis_http_request_duration_seconds', 'histogram', { route: '/v1/apps/:app_id', method: 'GET', status_code: '200' });
    expect(Number(appRead.count)).toBeGreaterThanOrEqual(1);
    expect(Number(appRead.buckets?.['+Inf'])).toBe(Number(appRead.count));
    const upload = sample(m, 'mosis_http_request_duration_seconds', 'histogram', { route: '/v1/apps/:app_id/versions', method: 'POST', status_code: '202' });
    expect(Number(upload.count)).toBe(1);
    const routes = family(m, 'mosis_http_request_duration_seconds', 'histogram').data.map((s) => s.labels['route']);
    expect(routes).not.toContain('/metrics');
    expect(routes.some((r) => r?.includes(app.id))).toBe(false);

    // Jobs: depth by kind and state (every defined kind has its series), the oldest due, failures.
    expect(value(m, 'mosis_jobs', 'gauge', { kind: GC_JOB, state: 'queued' })).toBeGreaterThanOrEqual(1);
    expect(value(m, 'mosis_jobs', 'gauge', { kind: 'test.always-fails', state: 'dead' })).toBe(1);
    expect(value(m, 'mosis_jobs', 'gauge', { kind: 'versions.check', state: 'queued' })).toBe(0);
    expect(value(m, 'mosis_jobs_oldest_due_age_seconds', 'gauge', { kind: GC_JOB })).toBeGreaterThanOrEqual(90);
    expect(value(m, 'mosis_jobs_oldest_due_age_seconds', 'gauge', { kind: 'versions.check' })).toBe(0);
    expect(value(m, 'mosis_job_failures_total', 'counter', { kind: 'test.always-fails', outcome: 'dead' })).toBe(1);

    // Uploads and checks.
    expect(value(m, 'mosis_package_upload_bytes_total', 'counter', { mode: 'upload' })).toBe(packageBytes);
    expect(value(m, 'mosis_package_uploads_total', 'counter', { mode: 'upload' })).toBe(1);
    expect(value(m, 'mosis_package_upload_bytes_total', 'counter', { mode: 'dry_run' })).toBe(0);
    const checks = sample(m, 'mosis_package_check_duration_seconds', 'histogram', { outcome: 'passed' });
    expect(Number(checks.count)).toBe(1);
    expect(Number(checks.sum)).toBeGreaterThan(0);

    // The event log: the notifications fan-out is not running in tests, so it lags by every event so far.
    const head = value(m, 'mosis_event_log_head_id', 'gauge');
    expect(head).toBeGreaterThan(0);
    expect(value(m, 'mosis_event_consumer_lag_events', 'gauge', { consumer: 'notifications' })).toBe(head);

    // Telemetry's queue: its capacity, nothing in flight once answered, nothing refused.
    expect(value(m, 'mosis_telemetry_queue_capacity_events', 'gauge')).toBe(p.config.telemetry.queueEvents);
    expect(value(m, 'mosis_telemetry_queue_events', 'gauge')).toBe(0);
    expect(value(m, 'mosis_telemetry_refused_requests_total', 'counter')).toBe(0);
    expect(value(m, 'mosis_telemetry_refused_events_total', 'counter')).toBe(0);
    expect(value(m, 'mosis_telemetry_write_failures_total', 'counter')).toBe(0);

    // Sizes on disk.
    expect(value(m, 'mosis_database_size_bytes', 'gauge', { database: 'portal', file: 'main' })).toBeGreaterThan(0);
    if (p.dialect === 'sqlite') expect(value(m, 'mosis_database_size_bytes', 'gauge', { database: 'telemetry', file: 'main' })).toBeGreaterThan(0);
    // The blob store is walked on a thread in the background: a scrape waits for it only briefly.
    await vi.waitFor(
      async () => {
        const again = await scrape(p);
        expect(value(again, 'mosis_blob_store_measured_timestamp_seconds', 'gauge')).toBeGreaterThan(Date.now() / 1000 - 60);
        expect(value(again, 'mosis_blob_store_bytes', 'gauge')).toBeGreaterThanOrEqual(packageBytes);
        expect(value(again, 'mosis_blob_store_blobs', 'gauge')).toBeGreaterThanOrEqual(1);
      },
      { timeout: 15_000, interval: 200 },
    );

    // The process: event loop lag and memory (prom-client's default metrics, prefixed).
    expect(value(m, 'mosis_process_resident_memory_bytes', 'gauge')).toBeGreaterThan(0);
    expect(value(m, 'mosis_nodejs_heap_size_used_bytes', 'gauge')).toBeGreaterThan(0);
    family(m, 'mosis_nodejs_eventloop_lag_seconds', 'gauge');
    family(m, 'mosis_nodejs_eventloop_lag_p99_seconds', 'gauge');
  });

  it('follows the consumers as they catch up: the fan-out and the store read model', async () => {
    const p = portal();
    await notificationsCursorAtStart(p);
    await telemetryWorld(p, [1]);
    const before = await scrape(p);
    expect(value(before, 'mosis_event_consumer_lag_events', 'gauge', { consumer: 'notifications' })).toBeGreaterThan(0);
    // The store follows the log only once started (serve, or its first request).
    expect(family(before, 'mosis_event_consumer_lag_events', 'gauge').data.map((s) => s.labels['consumer'])).not.toContain('store');

    await p.core.notificationFanout.settle();
    await p.core.store.settled();
    // Positions are read at most once a second.
    await vi.waitFor(
      async () => {
        const after = await scrape(p);
        expect(value(after, 'mosis_event_consumer_lag_events', 'gauge', { consumer: 'notifications' })).toBe(0);
        expect(value(after, 'mosis_event_consumer_lag_events', 'gauge', { consumer: 'store' })).toBe(0);
      },
      { timeout: 5_000, interval: 250 },
    );
  });
}, PUBLIC);

const TOKEN = 'metrics-token-0123456789abcdef';

describeOnSqlite('GET /metrics by default', (portal) => {
  it('is off until the operator sets METRICS_TOKEN or METRICS_PUBLIC: 404, saying how, and no metric shown', async () => {
    const res = await portal().app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'not_found' });
    expect(res.json().detail).toContain('METRICS_TOKEN');
    expect(res.body).not.toContain('mosis_');
  });
});

describeOnSqlite(
  'GET /metrics with METRICS_TOKEN',
  (portal) => {
    it('answers only a scrape that sends the token as a bearer token', async () => {
      const p = portal();
      const denied = async (headers: Record<string, string>) => {
        const res = await p.app.inject({ method: 'GET', url: '/metrics', headers });
        expect(res.statusCode, JSON.stringify(headers)).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json()).toMatchObject({ code: 'unauthorized' });
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(res.body).not.toContain('mosis_');
      };
      await denied({});
      await denied({ authorization: 'Bearer wrong-token-0123456789abcdef' });
      await denied({ authorization: `Bearer ${TOKEN}x` });
      await denied({ authorization: `Bearer ${TOKEN.slice(0, -1)}` });
      await denied({ authorization: `Basic ${Buffer.from(`metrics:${TOKEN}`).toString('base64')}` });
      await denied({ authorization: TOKEN });

      const m = await scrape(p, { authorization: `Bearer ${TOKEN}` });
      family(m, 'mosis_jobs', 'gauge');
      // The scheme is case-insensitive (RFC 9110).
      await scrape(p, { authorization: `bearer ${TOKEN}` });
    });
  },
  { env: () => ({ METRICS_TOKEN: TOKEN }) },
);

describeOnSqlite('GET /metrics label cardinality', (portal) => {
  it('counts requests to URLs no route has under one route label, and known routes by their pattern', async () => {
    const p = portal();
    await p.app.inject({ method: 'GET', url: '/healthz' });
    const routesOf = (m: PromMetrics) => new Set(family(m, 'mosis_http_request_duration_seconds', 'histogram').data.map((s) => s.labels['route']));
    const before = routesOf(await scrape(p));

    for (let i = 0; i < 100; i += 1) {
      const url = [`/${randomUUID()}`, `/v1/${randomUUID()}/x`, `/v1/apps/${randomUUID()}/nothing/${i}`, `/healthz/${randomUUID()}`][i % 4] as string;
      const res = await p.app.inject({ method: i % 5 === 0 ? 'POST' : 'GET', url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(404);
      // Query strings on a real route are the route.
      await p.app.inject({ method: 'GET', url: `/healthz?${randomUUID()}=1` });
    }

    const m = await scrape(p);
    const after = routesOf(m);
    const added = [...after].filter((r) => !before.has(r));
    expect(added.length, `new route labels: ${added.join(', ')}`).toBeLessThanOrEqual(1);
    expect(after).toContain('unmatched');
    const unmatched = family(m, 'mosis_http_request_duration_seconds', 'histogram').data.filter((s) => s.labels['route'] === 'unmatched');
    expect(unmatched.reduce((n, s) => n + Number(s.count), 0)).toBe(100);
    expect(Number(sample(m, 'mosis_http_request_duration_seconds', 'histogram', { route: '/healthz', method: 'GET', status_code: '200' }).count)).toBe(101);
  });
}, PUBLIC);

describeOnSqlite(
  'GET /metrics: telemetry refused',
  (portal) => {
    it('shows the telemetry queue filling and the batches it turns away', async () => {
      const p = portal();
      const { app } = await telemetryWorld(p, [1]);
      const writer = p.core.telemetryWriter;
      await writer.start();
      const now = Date.now();
      // Another connection holds the telemetry file's write lock: the writer's commit waits for it.
      const lock = new SQLite(path.join(p.dataDir, 'telemetry.db'));
      try {
        lock.exec('BEGIN IMMEDIATE');
        const full = postEvents(p, app.package_id, { device: 'device-full', session: 's', events: Array.from({ length: 500 }, (_, i) => ev('screen_view', now, { screen: `screen-${i}` })) });
        await vi.waitFor(() => expect(writer.queued).toBe(500), { timeout: 10_000, interval: 5 });
        const refused = await postEvents(p, app.package_id, { device: 'device-refused', session: 's', events: [ev('app_start', now)] });
        expect(refused.statusCode).toBe(503);

        const m = await scrape(p);
        expect(value(m, 'mosis_telemetry_queue_events', 'gauge')).toBe(500);
        expect(value(m, 'mosis_telemetry_queue_capacity_events', 'gauge')).toBe(500);
        expect(value(m, 'mosis_telemetry_refused_requests_total', 'counter')).toBe(1);
        expect(value(m, 'mosis_telemetry_refused_events_total', 'counter')).toBeGreaterThanOrEqual(1);
        sample(m, 'mosis_http_request_duration_seconds', 'histogram', { route: '/v1/telemetry/events', method: 'POST', status_code: '503' });
        lock.exec('COMMIT');
        expect((await full).statusCode).toBe(202);
      } finally {
        if (lock.inTransaction) lock.exec('ROLLBACK');
        lock.close();
      }
      expect(value(await scrape(p), 'mosis_telemetry_queue_events', 'gauge')).toBe(0);
    });
  },
  { env: () => ({ TELEMETRY_QUEUE_EVENTS: '500', METRICS_PUBLIC: 'true' }) },
);

describeOnSqlite('GET /metrics documentation', (portal) => {
  it('documents every family it exports, and the Grafana dashboard uses only families it exports', async () => {
    const p = portal();
    const m = await scrape(p);
    const names = Object.keys(m);
    const docs = await readFile(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    // The process's own metrics are prom-client's; the docs list the main ones, not each.
    const ours = names.filter((name) => !/^mosis_(process|nodejs)_/.test(name));
    expect(ours.length).toBeGreaterThan(15);
    expect(ours.filter((name) => !docs.includes(`\`${name}\``)), 'families missing from docs/metrics.md').toEqual([]);

    const dashboard = JSON.parse(await readFile(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as { panels: { targets?: { expr: string; datasource: { uid: string } }[] }[] };
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        expect(target.datasource.uid).toBe('${datasource}');
        for (const [name] of target.expr.matchAll(/\bmosis_\w+/g)) {
          // A histogram's series are its name with _bucket, _count and _sum.
          const histogram = name.replace(/_(bucket|count|sum)$/, '');
          used.add(m[histogram]?.type === 'histogram' ? histogram : name);
        }
      }
    }
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((name) => m[name] === undefined), 'dashboard metrics /metrics does not export').toEqual([]);
  });
}, PUBLIC);

it('never repeats a METRICS_TOKEN that is refused in the configuration error', () => {
  const secret = 'short-secret';
  expect(() => loadConfig({ METRICS_TOKEN: secret })).toThrow(/METRICS_TOKEN must be at least 16 characters/);
  try {
    loadConfig({ METRICS_TOKEN: secret });
  } catch (err) {
    expect(String(err)).not.toContain(secret);
  }
  expect(loadConfig({ METRICS_TOKEN: TOKEN }).metrics.token).toBe(TOKEN);
  expect(loadConfig({}).metrics).toEqual({ token: null, public: false });
  // A token no scrape could send after "Bearer " is refused at start, not silently unusable.
  expect(() => loadConfig({ METRICS_TOKEN: 'metrics token 0123456789' })).toThrow(/METRICS_TOKEN must be without spaces/);
});
