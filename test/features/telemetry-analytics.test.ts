import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem, registerUser, type TestUser } from '../support/api.js';
import { startPortal, type TestPortal } from '../support/portal.js';
import { versionRow } from '../support/review.js';
import { storeWorld } from '../support/store.js';
import { analytics, ev, NOTHING, point, sendAll, type AnalyticsBody } from '../support/telemetry.js';

const at = (time: string) => Date.parse(`2026-11-27T${time}Z`);

// Who may read an app's analytics, the query's ranges and formats, and the crash guard reading the
// rollups: the rollups' SQL is proven on both dialects in telemetry-writer.test.ts, so SQLite only,
// one portal for the file. Its app has 1.0.1 staged on stable and 1.0.2 on beta (both published by
// a reviewer's approval), so the crash guard watches both.
describe('telemetry analytics and the crash guard [sqlite]', () => {
  const clock = new TestClock();
  let p: TestPortal;
  let stop: () => Promise<void>;
  let dev: TestUser;
  let app: { id: string; package_id: string };
  let v1: string;
  let v2: string;
  const get = (query: Record<string, string>, headers: Record<string, string> = dev.auth) => p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/analytics`, query, headers });
  const rollUp = async () => {
    clock.advance(11_000);
    await p.core.telemetry.rollUp();
  };

  beforeAll(async () => {
    ({ portal: p, stop } = await startPortal('sqlite', {}, { clock }));
    const world = await storeWorld(p, clock);
    ({ dev, app } = world);
    v1 = (await world.release(app, 1, { channel: 'stable', rollout: 20 })).id;
    v2 = (await world.release(app, 2, { channel: 'beta', rollout: 50 })).id;
    // Hour 10: one session of 1.0.1; hour 11: one of 1.0.1 and one of 1.0.2.
    await sendAll(p, app.package_id, { device: 'A1', session: 'a', events: [ev('app_start', at('10:15:00')), ev('screen_view', at('10:16:00'), { screen: 'home' }), ev('app_stop', at('10:20:00'), { duration_ms: 120_000 })] });
    await sendAll(p, app.package_id, { device: 'A2', session: 'a', events: [ev('app_start', at('11:20:00')), ev('perf_frame', at('11:21:00'), { avg_ms: 16, p95_ms: 20 }), ev('app_stop', at('11:30:00'), { duration_ms: 60_000 })] });
    await sendAll(p, app.package_id, { device: 'A3', session: 'b', version: '1.0.2', events: [ev('app_start', at('11:40:00'))] });
    await rollUp();
  });
  afterAll(async () => {
    await stop();
  });

  it('answers the owner and an API key with telemetry:read, and refuses a key without it (403), another developer (404) and nobody (401)', async () => {
    const query = { granularity: 'hour', from: '2026-11-27T10:00:00Z', to: '2026-11-27T12:00:00Z' };
    const owner = await get(query);
    expect(owner.statusCode, owner.body).toBe(200);
    expect(owner.headers['cache-control']).toBe('private, no-cache');
    expect(owner.json<AnalyticsBody>().totals).toMatchObject({ starts: 3, sessions: 3 });
    const key = async (scopes: string[]) => {
      const res = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: scopes.join(' '), scopes } });
      expect(res.statusCode, res.body).toBe(201);
      return { 'x-api-key': res.json<{ key: string }>().key };
    };
    const reader = await key(['telemetry:read']);
    const viaKey = await get(query, reader);
    expect(viaKey.statusCode, viaKey.body).toBe(200);
    expect(viaKey.json()).toEqual(owner.json());
    expect((await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/crashes`, headers: reader })).statusCode).toBe(200);

    const appsOnly = await key(['apps:read']);
    expectProblem(await get(query, appsOnly), 403, 'insufficient_scope');
    expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/crashes`, headers: appsOnly }), 403, 'insufficient_scope');
    // Reading is not changing: a crash group's status needs apps:write.
    expectProblem(await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}/crashes/cg_${'0'.repeat(24)}`, headers: reader, payload: { status: 'ignored' } }), 403, 'insufficient_scope');

    const other = await registerUser(p, 'Olga Other');
    expectProblem(await get(query, other.auth), 404, 'app_not_found');
    expectProblem(await get(query, {}), 401, 'unauthorized');
  });

  it('answers hours and days over a default or given range rounded out to whole buckets, zero-filled, per version, and refuses a bad range', async () => {
    // By default the last 7 days (day) or 24 hours (hour), up to the end of the current bucket.
    const days = await analytics(p, dev, app.id, {});
    expect(days).toMatchObject({ app_id: app.id, granularity: 'day', from: '2026-11-21T00:00:00.000Z', to: '2026-11-28T00:00:00.000Z', version: null });
    expect(days.series.map((s) => s.bucket)).toEqual(Array.from({ length: 7 }, (_, i) => `2026-11-${21 + i}T00:00:00.000Z`));
    expect(point(days, '2026-11-27T00:00:00.000Z')).toMatchObject({ events: 7, starts: 3, sessions: 3, unique_devices: 3 });
    const hours = await analytics(p, dev, app.id, { granularity: 'hour' });
    expect(hours).toMatchObject({ granularity: 'hour', from: '2026-11-26T13:00:00.000Z', to: '2026-11-27T13:00:00.000Z' });
    expect(hours.series).toHaveLength(24);
    // Every hour without events is there, all zeros (and no averages or percentiles to give).
    for (const s of hours.series.filter((s) => !['2026-11-27T10:00:00.000Z', '2026-11-27T11:00:00.000Z'].includes(s.bucket))) expect(s).toEqual({ bucket: s.bucket, ...NOTHING });
    expect(point(hours, '2026-11-27T10:00:00.000Z')).toMatchObject({ events: 3, starts: 1, sessions: 1, unique_devices: 1, avg_session_seconds: 120, screen_views: 1, crash_free_sessions_percent: 100 });
    expect(point(hours, '2026-11-27T11:00:00.000Z')).toMatchObject({ events: 4, starts: 2, sessions: 2, unique_devices: 2, avg_session_seconds: 60, perf: { frame_ms: { samples: 1 } } });

    // Given instants are rounded out to whole buckets; dates are UTC days.
    const rounded = await analytics(p, dev, app.id, { granularity: 'hour', from: '2026-11-27T10:30:00Z', to: '2026-11-27T11:10:00+00:00' });
    expect(rounded.series.map((s) => s.bucket)).toEqual(['2026-11-27T10:00:00.000Z', '2026-11-27T11:00:00.000Z']);
    expect((await analytics(p, dev, app.id, { from: '2026-11-27', to: '2026-11-28' })).series.map((s) => s.bucket)).toEqual(['2026-11-27T00:00:00.000Z']);

    // One version: its own series and its own by_version entry.
    const v2Only = await analytics(p, dev, app.id, { granularity: 'hour', from: '2026-11-27T10:00:00Z', to: '2026-11-27T12:00:00Z', version: '1.0.2' });
    expect(v2Only.version).toBe('1.0.2');
    expect(v2Only.series.map((s) => [s.bucket, s.starts])).toEqual([
      ['2026-11-27T10:00:00.000Z', 0],
      ['2026-11-27T11:00:00.000Z', 1],
    ]);
    expect(v2Only.by_version.map((v) => [v.version_code, v.version])).toEqual([[2, '1.0.2']]);
    const both = await analytics(p, dev, app.id, { granularity: 'hour', from: '2026-11-27T10:00:00Z', to: '2026-11-27T12:00:00Z' });
    expect(both.by_version.map((v) => [v.version, v.totals.starts])).toEqual([
      ['1.0.2', 1],
      ['1.0.1', 2],
    ]);
    expectProblem(await get({ version: '9.9.9' }), 404, 'version_not_found');

    // 744 hours or 731 days at most; `from` before `to`.
    expect((await get({ granularity: 'hour', from: '2026-10-27T01:00:00Z', to: '2026-11-27T01:00:00Z' })).json<AnalyticsBody>().series).toHaveLength(744);
    expect((await get({ from: '2024-11-27', to: '2026-11-28' })).json<AnalyticsBody>().series).toHaveLength(731);
    const ranges: Record<string, string>[] = [
      { granularity: 'hour', from: '2026-10-27T00:00:00Z', to: '2026-11-27T01:00:00Z' },
      { from: '2024-11-26', to: '2026-11-28' },
      { from: '2026-11-27', to: '2026-11-27' },
      { from: '2026-11-28', to: '2026-11-27' },
      { granularity: 'hour', from: '2026-11-27T11:00:00Z', to: '2026-11-27T10:59:00Z' },
    ];
    for (const query of ranges) {
      expectProblem(await get(query), 400, 'analytics_range_invalid');
    }
    const invalid: Record<string, string>[] = [{ granularity: 'week' }, { from: 'yesterday' }, { to: '2026-13-01' }, { format: 'xml' }, { version: '1.0 beta' }];
    for (const query of invalid) {
      expectProblem(await get(query), 400, 'validation_failed');
    }
  });

  it('exports the series as CSV: a header line and one row per bucket, as an attachment', async () => {
    const query = { granularity: 'hour', from: '2026-11-27T10:00:00Z', to: '2026-11-27T13:00:00Z' };
    const json = await analytics(p, dev, app.id, query);
    const res = await get({ ...query, format: 'csv' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="analytics-${app.id}-hour.csv"`);
    expect(res.body.endsWith('\r\n')).toBe(true);
    const [header, ...rows] = res.body.slice(0, -2).split('\r\n');
    expect(header).toBe(
      'bucket,events,starts,unique_devices,sessions,avg_session_seconds,total_session_seconds,crashes,lua_errors,crashed_sessions,crash_free_sessions_percent,screen_views,button_clicks,features_used,frame_ms_p50,frame_ms_p95,frame_ms_p99,memory_mb_p50,memory_mb_p95,memory_mb_p99,startup_ms_p50,startup_ms_p95,startup_ms_p99',
    );
    const frame = point(json, '2026-11-27T11:00:00.000Z').perf.frame_ms;
    expect(Math.abs((frame.p50 as number) - 16)).toBeLessThanOrEqual(0.17);
    expect(rows).toEqual([
      '2026-11-27T10:00:00.000Z,3,1,1,1,120,120,0,0,0,100,1,0,0,,,,,,,,,',
      `2026-11-27T11:00:00.000Z,4,2,2,2,60,60,0,0,0,100,0,0,0,${frame.p50},${frame.p95},${frame.p99},,,,,,`,
      '2026-11-27T12:00:00.000Z,0,0,0,0,,0,0,0,0,,0,0,0,,,,,,,,,',
    ]);
  });

  it('halts a staged rollout whose rolled-up crash-free sessions fall below the app rule, and not a healthy one', async () => {
    const rule = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { crash_guard: { crash_free_percent: 90, min_sessions: 10 } } });
    expect(rule.statusCode, rule.body).toBe(200);
    const session = (n: number, version: string, crashed: boolean) =>
      sendAll(p, app.package_id, {
        device: `guard-${version}-${n}`,
        session: 's',
        version,
        events: [ev('app_start', at('11:45:00')), ...(crashed ? [ev('app_crash', at('11:46:00'))] : []), ev('app_stop', at('11:47:00'), { duration_ms: 60_000 })],
      });
    // Too few sessions yet (1.0.1 has two, 1.0.2 one): nothing to judge.
    expect(await p.core.crashGuard.sweep()).toEqual({ checked: 2, halted: [] });
    // 1.0.1: ten sessions, one crashed (90 %, not below the rule); 1.0.2: eleven, none crashed.
    for (let n = 0; n < 7; n++) await session(n, '1.0.1', false);
    await session(7, '1.0.1', true);
    for (let n = 0; n < 10; n++) await session(n, '1.0.2', false);
    // Not rolled up yet: the guard reads the rollups, not raw events.
    expect(await p.core.crashGuard.sweep()).toEqual({ checked: 2, halted: [] });
    await rollUp();
    expect(await p.core.telemetry.sessionsOf(v1)).toEqual({ sessions: 10, crashFreeSessions: 9 });
    expect(await p.core.telemetry.sessionsOf(v2)).toEqual({ sessions: 11, crashFreeSessions: 11 });
    expect(await p.core.crashGuard.sweep()).toEqual({ checked: 2, halted: [] });

    // Two more crashed sessions of 1.0.1: 9 of 12 crash-free, 75 %.
    await session(8, '1.0.1', true);
    await session(9, '1.0.1', true);
    await rollUp();
    expect(await p.core.crashGuard.sweep()).toEqual({ checked: 2, halted: [v1] });
    const halted = await versionRow(p, v1);
    expect(halted).toMatchObject({ status: 'published', rollout_percent: 20, halted_at: clock.now().toISOString() });
    expect(halted.halt_reason).toBe("Halted by the crash guard: 75.0 % crash-free sessions over 12 sessions, below this app's 90 %.");
    expect((await versionRow(p, v2)).halted_at).toBeNull();
    const shown = await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/versions/${v1}`, headers: dev.auth });
    expect(shown.json()).toMatchObject({ rollout: { halted: true, halt_reason: halted.halt_reason } });
  });
});
