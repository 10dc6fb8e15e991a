import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestClock, runJobs } from '../support/accounts.js';
import { createApp, expectProblem } from '../support/api.js';
import { startPortal, type TestDialect, type TestPortal } from '../support/portal.js';
import {
  analytics,
  countEvents,
  crashInto,
  ev,
  eventsOf,
  exactQuantile,
  MOSIS_VERSION,
  point,
  readTelemetry,
  sendAll,
  signInAgain,
  telemetryWorld,
  traceback,
  type Batch,
  type Metrics,
  type TelemetryWorld,
} from '../support/telemetry.js';

/**
 * Everything the telemetry writer thread writes, on both dialects: the rollups, crash groups,
 * a device's erasure and retention.
 *
 * The rollups against a fixture computed by hand: three hours over two days, two versions, three
 * devices. D2's session runs from one hour into the next, so day 1 counts it once where its hours
 * count it twice; D1 and D2 show up in both hours of day 1 (three devices in a day whose hours
 * count five).
 *
 *   H1 = 2026-11-26T13, H2 = 2026-11-26T14 (day 1), H3 = 2026-11-27T09 (day 2); the clock reads
 *   2026-11-27T12:00Z, so all of it is within the crash guard's 24 hours.
 */
const H1 = '2026-11-26T13';
const H2 = '2026-11-26T14';
const H3 = '2026-11-27T09';
const at = (hour: string, minute: number, second = 0) => Date.parse(`${hour}:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}Z`);

/** perf_frame avg_ms, perf_memory used_mb: distinct spreads per hour, so a mixed-up merge shows. */
const F1 = Array.from({ length: 60 }, (_, i) => 10 + ((i * 37) % 60) * 0.35);
const F2 = Array.from({ length: 50 }, (_, i) => 14 + ((i * 13) % 50) * 0.9);
const F3 = Array.from({ length: 40 }, (_, i) => 5 + ((i * 11) % 40) * 0.5);
const M1 = Array.from({ length: 30 }, (_, i) => 100 + ((i * 7) % 30) * 6.5);
const M2 = Array.from({ length: 20 }, (_, i) => 250 + ((i * 3) % 20) * 12);
const perf = (hour: string, frames: number[], memory: number[]) => [
  ...frames.map((avg_ms, i) => ev('perf_frame', at(hour, 45, i % 60), { avg_ms, p95_ms: avg_ms * 1.5 })),
  ...memory.map((used_mb, i) => ev('perf_memory', at(hour, 50, i % 60), { used_mb, limit_mb: 512 })),
];

const FIXTURE: Batch[] = [
  // D1's first session (1.0.1), all in H1.
  {
    device: 'D1',
    session: 's1',
    events: [
      ev('app_start', at(H1, 0)),
      ev('perf_startup', at(H1, 0), { duration_ms: 800 }),
      ev('screen_view', at(H1, 1), { screen: 'home' }),
      ev('screen_view', at(H1, 2), { screen: 'list' }),
      ev('button_click', at(H1, 3), { button: 'add' }),
      ev('app_stop', at(H1, 5), { duration_ms: 60_000 }),
    ],
  },
  // D2's session (1.0.1) crashes twice in H1 and ends in H2.
  {
    device: 'D2',
    session: 's1',
    events: [ev('app_start', at(H1, 10)), ev('app_crash', at(H1, 20)), ev('app_crash', at(H1, 21), { reason: 'nil index' }), ev('screen_view', at(H2, 5), { screen: 'home' }), ev('app_stop', at(H2, 6), { duration_ms: 90_000 })],
  },
  // D1's second session (1.0.1), in H2, crashes once.
  {
    device: 'D1',
    session: 's2',
    events: [ev('app_start', at(H2, 0)), ev('feature_used', at(H2, 1), { feature: 'export' }), ev('lua_error', at(H2, 2), { message: 'main.lua:3: boom' }), ev('app_crash', at(H2, 3)), ev('app_stop', at(H2, 4), { duration_ms: 30_000 })],
  },
  // D3 on 1.0.2, in H2, crashes once.
  {
    device: 'D3',
    session: 's1',
    version: '1.0.2',
    events: [ev('app_start', at(H2, 30)), ev('perf_startup', at(H2, 30), { duration_ms: 1200 }), ev('button_click', at(H2, 31), { button: 'save', screen: 'editor' }), ev('app_crash', at(H2, 35)), ev('app_stop', at(H2, 40), { duration_ms: 120_000 })],
  },
  // D1 again the next day, on 1.0.2.
  {
    device: 'D1',
    session: 's3',
    version: '1.0.2',
    events: [ev('app_start', at(H3, 0)), ev('lua_error', at(H3, 1), { message: 'a' }), ev('lua_error', at(H3, 2), { message: 'b' }), ev('app_stop', at(H3, 10), { duration_ms: 45_000 })],
  },
  // Performance samples, in sessions already counted above.
  { device: 'D1', session: 's1', events: perf(H1, F1, M1) },
  { device: 'D3', session: 's1', version: '1.0.2', events: perf(H2, F2, M2) },
  { device: 'D1', session: 's3', version: '1.0.2', events: perf(H3, F3, []) },
];

type Counts = Omit<Metrics, 'perf'>;
/** A point's or a total's counts, without its percentiles (checked within their accuracy instead). */
const countsOf = (metrics: Metrics): Counts => Object.fromEntries(Object.entries(metrics).filter(([key]) => !['perf', 'bucket', 'unique_devices_approximate'].includes(key))) as Counts;

// Hand-computed (see the fixture above).
const HOUR_1: Counts = { events: 99, starts: 2, unique_devices: 2, sessions: 2, crashed_sessions: 1, crash_free_sessions_percent: 50, avg_session_seconds: 60, total_session_seconds: 60, crashes: 2, lua_errors: 0, screen_views: 2, button_clicks: 1, features_used: 0 };
const HOUR_2: Counts = { events: 82, starts: 2, unique_devices: 3, sessions: 3, crashed_sessions: 2, crash_free_sessions_percent: 33.33, avg_session_seconds: 80, total_session_seconds: 240, crashes: 2, lua_errors: 1, screen_views: 1, button_clicks: 1, features_used: 1 };
const HOUR_3: Counts = { events: 44, starts: 1, unique_devices: 1, sessions: 1, crashed_sessions: 0, crash_free_sessions_percent: 100, avg_session_seconds: 45, total_session_seconds: 45, crashes: 0, lua_errors: 2, screen_views: 0, button_clicks: 0, features_used: 0 };
// Three devices and four sessions, where the hours add up to five of each.
const DAY_1: Counts = { events: 181, starts: 4, unique_devices: 3, sessions: 4, crashed_sessions: 3, crash_free_sessions_percent: 25, avg_session_seconds: 75, total_session_seconds: 300, crashes: 4, lua_errors: 1, screen_views: 3, button_clicks: 2, features_used: 1 };
const DAY_2 = HOUR_3;
const DAY_1_V1: Counts = { events: 106, starts: 3, unique_devices: 2, sessions: 3, crashed_sessions: 2, crash_free_sessions_percent: 33.33, avg_session_seconds: 60, total_session_seconds: 180, crashes: 3, lua_errors: 1, screen_views: 3, button_clicks: 1, features_used: 1 };
const DAY_1_V2: Counts = { events: 75, starts: 1, unique_devices: 1, sessions: 1, crashed_sessions: 1, crash_free_sessions_percent: 0, avg_session_seconds: 120, total_session_seconds: 120, crashes: 1, lua_errors: 0, screen_views: 0, button_clicks: 1, features_used: 0 };
const TOTALS: Counts = { events: 225, starts: 5, unique_devices: 3, sessions: 5, crashed_sessions: 3, crash_free_sessions_percent: 40, avg_session_seconds: 69, total_session_seconds: 345, crashes: 4, lua_errors: 3, screen_views: 3, button_clicks: 2, features_used: 1 };
const TOTALS_V2: Counts = { events: 119, starts: 2, unique_devices: 2, sessions: 2, crashed_sessions: 1, crash_free_sessions_percent: 50, avg_session_seconds: 82.5, total_session_seconds: 165, crashes: 1, lua_errors: 2, screen_views: 0, button_clicks: 1, features_used: 0 };

type Perf = Metrics['perf'];
/** Each percentile within the sketch's 1 % of the exact value of its rank (and the 2-decimal rounding). */
function expectPerf(actual: Perf, expected: { frame: number[]; memory: number[]; startup: number[] }): void {
  for (const [name, values] of [
    ['frame_ms', expected.frame],
    ['memory_mb', expected.memory],
    ['startup_ms', expected.startup],
  ] as const) {
    const got = actual[name];
    expect(got.samples, name).toBe(values.length);
    for (const [key, q] of [
      ['p50', 0.5],
      ['p95', 0.95],
      ['p99', 0.99],
    ] as const) {
      if (values.length === 0) {
        expect(got[key], `${name} ${key}`).toBeNull();
        continue;
      }
      const exact = exactQuantile(values, q);
      expect(got[key], `${name} ${key}`).not.toBeNull();
      expect(Math.abs((got[key] as number) - exact), `${name} ${key}: ${got[key]} for ${exact}`).toBeLessThanOrEqual(exact * 0.01 + 0.005);
    }
  }
}

interface CrashGroup {
  id: string;
  app_id: string;
  title: string;
  crash_type: string;
  frames: string[];
  status: 'open' | 'resolved' | 'ignored';
  crashes: number;
  devices: number;
  first_seen: string;
  last_seen: string;
  versions: { version: string; version_code: number; crashes: number; first_seen: string; last_seen: string }[];
  sample: { message: string; stack_trace: string; context: Record<string, unknown> | null; version: string; mosis_version: string; at: string };
}

const HOUR_MS = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

const IOS = '/var/mobile/Containers/Data/Application/550E8400-E29B-41D4-A716-446655440000/Library/Apps/com.example.notes';

/** One bug (a nil field in Button:onClick) as three devices report it: other lines, install paths, Lua's cut chunk names. */
const NIL_FIELD = [
  { message: "ui/button.lua:42: attempt to index a nil value (field 'x')", stack_trace: traceback("ui/button.lua:42: in method 'Button:onClick'", "ui/screen.lua:88: in upvalue 'dispatch'", 'main.lua:12: in function <main.lua:10>', '[C]: in ?') },
  {
    message: "/data/apps/com.example.notes/ui/button.lua:57: attempt to index a nil value (field 'x')",
    stack_trace: traceback(
      "/data/apps/com.example.notes/ui/button.lua:57: in method 'onClick'",
      "/data/apps/com.example.notes/ui/screen.lua:91: in upvalue 'dispatch'",
      '(...tail calls...)',
      '/data/apps/com.example.notes/main.lua:14: in function </data/apps/com.example.notes/main.lua:11>',
      '[C]: in ?',
    ),
    context: { screen: 'editor', free_mb: 212 },
  },
  {
    message: `${IOS}/ui/button.lua:44: attempt to index a nil value (field 'x')`,
    stack_trace: traceback("...le.notes/ui/button.lua:44: in method 'Button:onClick'", "...le.notes/ui/screen.lua:88: in upvalue 'dispatch'", '...ple.notes/main.lua:12: in function <...ple.notes/main.lua:10>'),
  },
];
/** A stack overflow, as deep as each device's stack went. */
const OVERFLOW = [
  { message: 'ui/tree.lua:8: stack overflow', stack_trace: traceback(...Array<string>(3).fill("ui/tree.lua:8: in upvalue 'walk'"), "ui/tree.lua:20: in field 'render'", 'main.lua:5: in main chunk', '[C]: in ?') },
  {
    message: 'ui/tree.lua:9: stack overflow',
    stack_trace: traceback(...Array<string>(180).fill("ui/tree.lua:9: in upvalue 'walk'"), "ui/tree.lua:21: in field 'render'", 'main.lua:5: in main chunk', '[C]: in ?'),
  },
];
/** In the same place as NIL_FIELD, but another bug: a nil method called. */
const NIL_METHOD = { message: "ui/button.lua:42: attempt to call a nil value (method 'y')", stack_trace: traceback("ui/button.lua:42: in method 'Button:onClick'", "ui/screen.lua:88: in upvalue 'dispatch'", 'main.lua:12: in function <main.lua:10>', '[C]: in ?') };

const postgres = inject('postgresUrl') !== null;

// Both dialects: the rollup's SQL (the position, the telemetry_seen upserts that keep distinct
// counts exact, the aggregate upserts), a crash report's upserts (the group, its per-version counts,
// its devices: conflict handling and CASE expressions), PostgreSQL's day partitions and their
// retention, and a device's erasure are the database's. One portal per dialect for the file (a
// portal's telemetry thread takes most of a second to start); the tests run in order on the same
// app, each adding to what the ones before left.
for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
  describe.skipIf(dialect === 'postgres' && !postgres)(`telemetry writer: rollups, crash groups, erasure, retention [${dialect}]`, () => {
    const clock = new TestClock();
    let p: TestPortal;
    let stop: () => Promise<void>;
    let world: TelemetryWorld;
    let pkg: string;
    const days = () => analytics(p, world.dev, world.app.id, { granularity: 'day', from: '2026-11-26', to: '2026-11-28' });
    const hours = (query: Record<string, string> = {}) => analytics(p, world.dev, world.app.id, { granularity: 'hour', from: `${H1}:00:00Z`, to: `${H3}:00:00Z`, ...query });
    /** On PostgreSQL the rollup reads only what arrived more than 10 s ago: the clock moves past that first. */
    const rollUp = async () => {
      clock.advance(11_000);
      return p.core.telemetry.rollUp();
    };
    const group = async (id: string) => {
      const res = await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/crashes/${id}`, headers: world.dev.auth });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<CrashGroup>();
    };
    const list = async (query: Record<string, string> = {}) => {
      const res = await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/crashes`, query, headers: world.dev.auth });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ items: CrashGroup[]; next_cursor: string | null }>();
    };
    const setStatus = (id: string, status: string, appId = world.app.id) => p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}/crashes/${id}`, headers: world.dev.auth, payload: { status } });

    beforeAll(async () => {
      ({ portal: p, stop } = await startPortal(dialect, {}, { clock }));
      world = await telemetryWorld(p, [1, 2]);
      pkg = world.app.package_id;
    });
    afterAll(async () => {
      await stop();
    });

    it('rolls up every aggregate per hour, per day, per version and for all versions together, exactly as computed by hand', async () => {
      for (const batch of FIXTURE) await sendAll(p, pkg, batch);
      // Nothing is in the aggregates before the rollup runs.
      expect(countsOf((await days()).totals)).toMatchObject({ events: 0, sessions: 0 });
      expect(await rollUp()).toEqual({ events: 225 });

      const byHour = await hours({ to: '2026-11-27T10:00:00Z' });
      expect(byHour.series).toHaveLength(21);
      expect(countsOf(point(byHour, `${H1}:00:00.000Z`))).toEqual(HOUR_1);
      expect(countsOf(point(byHour, `${H2}:00:00.000Z`))).toEqual(HOUR_2);
      expect(countsOf(point(byHour, `${H3}:00:00.000Z`))).toEqual(HOUR_3);
      expectPerf(point(byHour, `${H1}:00:00.000Z`).perf, { frame: F1, memory: M1, startup: [800] });
      expectPerf(point(byHour, `${H2}:00:00.000Z`).perf, { frame: F2, memory: M2, startup: [1200] });
      expectPerf(point(byHour, `${H3}:00:00.000Z`).perf, { frame: F3, memory: [], startup: [] });
      // The hours between are zeros.
      expect(countsOf(point(byHour, '2026-11-26T15:00:00.000Z'))).toMatchObject({ events: 0, sessions: 0, unique_devices: 0 });

      const byDay = await days();
      expect(byDay.series.map((s) => s.bucket)).toEqual(['2026-11-26T00:00:00.000Z', '2026-11-27T00:00:00.000Z']);
      expect(countsOf(point(byDay, '2026-11-26T00:00:00.000Z'))).toEqual(DAY_1);
      expect(countsOf(point(byDay, '2026-11-27T00:00:00.000Z'))).toEqual(DAY_2);
      // A day's percentiles are its hours' sketches merged.
      expectPerf(point(byDay, '2026-11-26T00:00:00.000Z').perf, { frame: [...F1, ...F2], memory: [...M1, ...M2], startup: [800, 1200] });
      expect(countsOf(byDay.totals)).toEqual(TOTALS);
      // Over two days, unique devices come from the merged HyperLogLogs (exact at this size), and say so.
      expect(byDay.totals.unique_devices_approximate).toBe(true);
      expectPerf(byDay.totals.perf, { frame: [...F1, ...F2, ...F3], memory: [...M1, ...M2], startup: [800, 1200] });

      // Each version, newest first; 1.0.1 has one day of data, so its devices are that day's exact count.
      expect(byDay.by_version.map((v) => [v.version_code, v.version, v.totals.unique_devices_approximate])).toEqual([
        [2, '1.0.2', true],
        [1, '1.0.1', false],
      ]);
      expect(countsOf(byDay.by_version[0]?.totals as Metrics)).toEqual(TOTALS_V2);
      expect(countsOf(byDay.by_version[1]?.totals as Metrics)).toEqual(DAY_1_V1);
      expectPerf((byDay.by_version[0]?.totals as Metrics).perf, { frame: [...F2, ...F3], memory: M2, startup: [1200] });
      expectPerf((byDay.by_version[1]?.totals as Metrics).perf, { frame: F1, memory: M1, startup: [800] });

      // One version's own series.
      const v2Only = await analytics(p, world.dev, world.app.id, { granularity: 'day', from: '2026-11-26', to: '2026-11-28', version: '1.0.2' });
      expect(v2Only.version).toBe('1.0.2');
      expect(countsOf(point(v2Only, '2026-11-26T00:00:00.000Z'))).toEqual(DAY_1_V2);
      expect(countsOf(point(v2Only, '2026-11-27T00:00:00.000Z'))).toEqual(DAY_2);
      expect(v2Only.by_version.map((v) => v.version_code)).toEqual([2]);
    });

    it('adds nothing twice, adds what arrives after a rollup (late events land in the hours they happened), and runs as the every-minute job', async () => {
      const before = await days();
      expect(await rollUp()).toEqual({ events: 0 });
      expect(await days()).toEqual(before);

      // A new device in H1, and D1's first session again: one more device, one more session.
      await sendAll(p, pkg, { device: 'D4', session: 's1', events: [ev('app_start', at(H1, 30)), ev('app_stop', at(H1, 31), { duration_ms: 20_000 })] });
      await sendAll(p, pkg, { device: 'D1', session: 's1', events: [ev('screen_view', at(H1, 40), { screen: 'settings' })] });
      // Two runs at once (a run that outlasts its minute, and the next slot's): the second joins the
      // first, so both answer the one run's count and nothing is summed up twice.
      clock.advance(11_000);
      expect(await Promise.all([p.core.telemetry.rollUp(), p.core.telemetry.rollUp()])).toEqual([{ events: 3 }, { events: 3 }]);
      expect(await rollUp()).toEqual({ events: 0 });
      const byHour = await hours({ to: `${H2}:00:00Z` });
      expect(countsOf(point(byHour, `${H1}:00:00.000Z`))).toEqual({
        ...HOUR_1,
        events: 102,
        starts: 3,
        unique_devices: 3,
        sessions: 3,
        crash_free_sessions_percent: 66.67,
        avg_session_seconds: 40,
        total_session_seconds: 80,
        screen_views: 3,
      });
      expect(countsOf(point(await days(), '2026-11-26T00:00:00.000Z'))).toEqual({
        ...DAY_1,
        events: 184,
        starts: 5,
        unique_devices: 4,
        sessions: 5,
        crash_free_sessions_percent: 40,
        avg_session_seconds: 64,
        total_session_seconds: 320,
        screen_views: 4,
      });

      // The recurring job: what arrives is in the aggregates once a minute has passed.
      await runJobs(p);
      await sendAll(p, pkg, { device: 'D5', session: 's1', version: '1.0.2', events: [ev('app_start', at(H3, 30))] });
      expect(countsOf(point(await days(), '2026-11-27T00:00:00.000Z'))).toEqual(DAY_2);
      clock.advance(60_000);
      expect(await runJobs(p)).toBeGreaterThan(0);
      expect(countsOf(point(await days(), '2026-11-27T00:00:00.000Z'))).toEqual({ ...DAY_2, events: 45, starts: 2, unique_devices: 2, sessions: 2 });

      // The crash guard's signal: 1.0.2's sessions over the last 24 hours of hourly rollups (D3's crashed).
      expect(await p.core.telemetry.sessionsOf(world.versions[1]?.id as string)).toEqual({ sessions: 3, crashFreeSessions: 2 });
    });

    it('files the same bug from other lines, paths and devices into one group with exact counts, and other bugs into groups of their own; lists, pages and shows them', async () => {
      const t0 = clock.now().getTime();
      const [a1, a2, a3] = NIL_FIELD as [(typeof NIL_FIELD)[number], (typeof NIL_FIELD)[number], (typeof NIL_FIELD)[number]];
      const nilField = await crashInto(p, pkg, { device: 'phone-x', timestamp: t0 - 3 * HOUR_MS, ...a1 });
      expect(await crashInto(p, pkg, { device: 'phone-y', timestamp: iso(t0 - HOUR_MS), ...a2 })).toBe(nilField);
      // The oldest arrives last, from another version: first_seen moves back, the sample stays the latest.
      expect(await crashInto(p, pkg, { device: 'phone-x', version: '1.0.2', timestamp: t0 - 5 * HOUR_MS, ...a3 })).toBe(nilField);
      const overflow = await crashInto(p, pkg, { device: 'phone-x', timestamp: t0 - 2 * HOUR_MS, ...(OVERFLOW[0] as (typeof OVERFLOW)[number]) });
      expect(await crashInto(p, pkg, { device: 'phone-z', version: '1.0.2', timestamp: t0 - HOUR_MS / 2, ...(OVERFLOW[1] as (typeof OVERFLOW)[number]) })).toBe(overflow);
      const nilMethod = await crashInto(p, pkg, { device: 'phone-y', timestamp: t0 - 4 * HOUR_MS, ...NIL_METHOD });
      expect(new Set([nilField, overflow, nilMethod]).size).toBe(3);

      const shown = await group(nilField);
      expect(shown).toMatchObject({
        id: nilField,
        app_id: world.app.id,
        crash_type: 'lua_error',
        status: 'open',
        crashes: 3,
        devices: 2,
        first_seen: iso(t0 - 5 * HOUR_MS),
        last_seen: iso(t0 - HOUR_MS),
      });
      expect(shown.title).toContain("attempt to index a nil value (field 'x')");
      // Frames as file:function, without line numbers or install paths.
      expect(shown.frames[0]).toMatch(/^ui\/button\.lua:.*onClick$/);
      expect(shown.frames.join('\n')).not.toMatch(/:\d|\/data\/|Containers/);
      expect(shown.versions).toEqual([
        { version: '1.0.2', version_code: 2, crashes: 1, first_seen: iso(t0 - 5 * HOUR_MS), last_seen: iso(t0 - 5 * HOUR_MS) },
        { version: '1.0.1', version_code: 1, crashes: 2, first_seen: iso(t0 - 3 * HOUR_MS), last_seen: iso(t0 - HOUR_MS) },
      ]);
      expect(shown.sample).toEqual({ message: a2.message, stack_trace: a2.stack_trace, context: a2.context, version: '1.0.1', mosis_version: MOSIS_VERSION, at: iso(t0 - HOUR_MS) });
      expect(await group(overflow)).toMatchObject({ crashes: 2, devices: 2, versions: [{ version_code: 2, crashes: 1 }, { version_code: 1, crashes: 1 }] });
      expect(await group(nilMethod)).toMatchObject({ crashes: 1, devices: 1, sample: { message: NIL_METHOD.message, context: null } });

      // Most recently seen first, a page at a time.
      expect((await list()).items.map((g) => g.id)).toEqual([overflow, nilField, nilMethod]);
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 5; page++) {
        const res = await list({ limit: '1', ...(cursor ? { cursor } : {}) });
        seen.push(...res.items.map((g) => g.id));
        expect(res.items.length).toBe(1);
        cursor = res.next_cursor;
        if (cursor === null) break;
      }
      expect(seen).toEqual([overflow, nilField, nilMethod]);

      // Status: set by the developer, filtered on.
      const resolved = await setStatus(nilMethod, 'resolved');
      expect(resolved.statusCode, resolved.body).toBe(200);
      expect(resolved.json()).toMatchObject({ id: nilMethod, status: 'resolved', crashes: 1 });
      expect((await setStatus(overflow, 'ignored')).json()).toMatchObject({ status: 'ignored' });
      expect((await list({ status: 'resolved' })).items.map((g) => g.id)).toEqual([nilMethod]);
      expect((await list({ status: 'ignored' })).items.map((g) => g.id)).toEqual([overflow]);
      expect((await list({ status: 'open' })).items.map((g) => g.id)).toEqual([nilField]);
      expectProblem(await setStatus(nilField, 'fixed'), 400, 'validation_failed');
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/crashes`, query: { status: 'closed' }, headers: world.dev.auth }), 400, 'validation_failed');

      // A group id is only found under its own app, even for the same developer.
      const other = await createApp(p, world.dev, 'com.example.other');
      expectProblem(await setStatus(nilField, 'ignored', other.id), 404, 'crash_group_not_found');
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${other.id}/crashes/${nilField}`, headers: world.dev.auth }), 404, 'crash_group_not_found');
      expect((await group(nilField)).status).toBe('open');
      expect((await p.app.inject({ method: 'GET', url: `/v1/apps/${other.id}/crashes`, headers: world.dev.auth })).json()).toEqual({ items: [], next_cursor: null });
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/crashes/cg_${'0'.repeat(24)}`, headers: world.dev.auth }), 404, 'crash_group_not_found');
      expectProblem(await setStatus(`cg_${'0'.repeat(24)}`, 'ignored'), 404, 'crash_group_not_found');
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/crashes/not-a-group`, headers: world.dev.auth }), 400, 'validation_failed');
    });

    it('reopens a resolved group when a newer version crashes the same way, not the same or an older one; an ignored group stays ignored', async () => {
      const t = clock.now().getTime();
      const report = (stack: string, message: string) => ({ timestamp: t, message, stack_trace: traceback(stack, 'main.lua:5: in main chunk') });
      const sync = report("net/sync.lua:77: in function 'sync.pull'", 'net/sync.lua:77: bad argument #1 to ipairs (table expected, got nil)');
      const id = await crashInto(p, pkg, { device: 'phone-r', ...sync });
      const statusOf = async () => (await group(id)).status;
      expect((await setStatus(id, 'resolved')).json()).toMatchObject({ status: 'resolved' });
      // The version it was resolved at crashes again: the fix is not out yet.
      await crashInto(p, pkg, { device: 'phone-r', ...sync });
      expect(await statusOf()).toBe('resolved');
      // A newer version crashes the same way: the fix did not work.
      await crashInto(p, pkg, { device: 'phone-r', version: '1.0.2', ...sync });
      expect(await statusOf()).toBe('open');
      // Resolved again with 1.0.2 the newest that crashed: neither 1.0.1 nor 1.0.2 reopens it.
      expect((await setStatus(id, 'resolved')).statusCode).toBe(200);
      await crashInto(p, pkg, { device: 'phone-s', ...sync });
      await crashInto(p, pkg, { device: 'phone-s', version: '1.0.2', ...sync });
      expect(await group(id)).toMatchObject({ status: 'resolved', crashes: 5, devices: 2, versions: [{ version_code: 2, crashes: 2 }, { version_code: 1, crashes: 3 }] });
      expect((await setStatus(id, 'open')).json()).toMatchObject({ status: 'open' });

      const noise = report("ui/anim.lua:3: in function 'tween'", 'ui/anim.lua:3: attempt to perform arithmetic on a nil value');
      const ignored = await crashInto(p, pkg, { device: 'phone-r', ...noise });
      expect((await setStatus(ignored, 'ignored')).json()).toMatchObject({ status: 'ignored' });
      await crashInto(p, pkg, { device: 'phone-r', version: '1.0.2', ...noise });
      expect(await group(ignored)).toMatchObject({ status: 'ignored', crashes: 2 });
    });
    it("erases a device's raw events and crash reports (204 whether or not there were any), keeping the aggregates and the other devices' data", async () => {
      const crash = { timestamp: at(H2, 3), message: "ui/list.lua:12: attempt to index a nil value (field 'items')", stack_trace: traceback("ui/list.lua:12: in method 'List:render'", 'main.lua:5: in main chunk') };
      const listed = await crashInto(p, pkg, { device: 'D1', ...crash });
      expect(await crashInto(p, pkg, { device: 'D2', ...crash, timestamp: at(H1, 20) })).toBe(listed);
      const aggregates = await days();
      expect(await group(listed)).toMatchObject({ crashes: 2, devices: 2 });
      const d2Events = (await eventsOf(p, 'D2')).length;
      expect(d2Events).toBe(5);
      expect((await eventsOf(p, 'D1')).length).toBeGreaterThan(0);

      const erase = (device: string) => p.app.inject({ method: 'DELETE', url: `/v1/telemetry/devices/${device}` });
      const erased = await erase('D1');
      const never = await erase('a-device-that-never-sent-anything');
      for (const res of [erased, never]) {
        expect(res.statusCode).toBe(204);
        expect(res.body).toBe('');
      }
      expectProblem(await erase('not%20a%20device'), 400, 'validation_failed');

      expect(await eventsOf(p, 'D1')).toEqual([]);
      expect((await eventsOf(p, 'D2')).length).toBe(d2Events);
      expect((await eventsOf(p, 'D3')).length).toBeGreaterThan(0);
      const reportsOf = (device: string) => readTelemetry(p, (db) => db.selectFrom('telemetry_crash_reports').select('group_id').where('device_hash', '=', p.core.deviceIds.hash(device)).execute());
      expect(await reportsOf('D1')).toEqual([]);
      expect(await reportsOf('D2')).toEqual([{ group_id: listed }]);
      const members = await readTelemetry(p, (db) => db.selectFrom('telemetry_crash_devices').select('device_hash').where('group_id', '=', listed).execute());
      expect(members.map((m) => m.device_hash)).toEqual([p.core.deviceIds.hash('D2')]);
      // Counts hold no device: they stay, and so do the aggregates, through the next rollup too.
      expect(await group(listed)).toMatchObject({ crashes: 2, devices: 2 });
      expect(await rollUp()).toEqual({ events: 0 });
      expect(await days()).toEqual(aggregates);
    });

    it('drops raw events and crash reports past TELEMETRY_RETENTION_DAYS (on PostgreSQL their day partition), never ones not rolled up yet, and keeps the aggregates', async () => {
      const partition = async () => {
        const { rows } = await sql<{ name: string | null }>`select to_regclass('telemetry_events_20261127')::text as name`.execute(p.database.db);
        return rows[0]?.name ?? null;
      };
      if (dialect === 'postgres') expect(await partition()).toBe('telemetry_events_20261127');
      // Arrives, is not rolled up, and the days pass.
      await sendAll(p, pkg, { device: 'D6', session: 's1', events: [ev('screen_view', at(H3, 45), { screen: 'late' })] });
      const aggregates = await days();
      const groups = await list({ limit: '100' });
      expect(groups.items).toHaveLength(6);
      const all = await countEvents(p);
      // The crash groups' reports: 6 + 7 of the tests above, and D2's (D1's was erased).
      const reports = await readTelemetry(p, async (db) => (await db.selectFrom('telemetry_crash_reports').select('id').execute()).length);
      expect(reports).toBe(14);
      clock.advance(8 * 86_400_000);
      await signInAgain(p, world.dev);
      const first = await p.core.telemetry.prune();
      expect((await eventsOf(p, 'D6')).length).toBe(1);
      if (dialect === 'postgres') {
        // The partition holds an event the rollup has not added: it stays whole.
        expect(first.events).toBe(0);
        expect(await partition()).toBe('telemetry_events_20261127');
      } else {
        expect(first.events).toBe(all - 1);
        expect(await countEvents(p)).toBe(1);
      }
      expect(first.reports).toBe(reports);
      expect(await days()).toEqual(aggregates);

      expect(await rollUp()).toEqual({ events: 1 });
      const second = await p.core.telemetry.prune();
      expect(second.events).toBe(dialect === 'postgres' ? all : 1);
      expect(await countEvents(p)).toBe(0);
      if (dialect === 'postgres') expect(await partition()).toBeNull();
      expect(await readTelemetry(p, (db) => db.selectFrom('telemetry_crash_reports').select('id').execute())).toEqual([]);
      expect(await readTelemetry(p, (db) => db.selectFrom('telemetry_seen').select('key').execute())).toEqual([]);

      // The aggregates stay, with the late event added; crash groups stay too.
      const kept = await days();
      expect(countsOf(point(kept, '2026-11-26T00:00:00.000Z'))).toEqual(countsOf(point(aggregates, '2026-11-26T00:00:00.000Z')));
      expect(countsOf(point(kept, '2026-11-27T00:00:00.000Z'))).toEqual({ ...countsOf(point(aggregates, '2026-11-27T00:00:00.000Z')), events: 46, unique_devices: 3, sessions: 3, screen_views: 1 });
      expect(await list({ limit: '100' })).toEqual(groups);
    });
  });
}
