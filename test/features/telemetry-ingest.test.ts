import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem } from '../support/api.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';
import { countEvents, ev, eventsOf, MOSIS_VERSION, postCrash, postEvents, readTelemetry, telemetryWorld, traceback, type IngestAnswer, type TelemetryWorld } from '../support/telemetry.js';
import { telemetryKey } from '../../src/features/telemetry/telemetry-keys.js';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const EVENTS_BODY_BYTES = 256 * 1024;
const iso = (ms: number) => new Date(ms).toISOString();

// Validation and limits of events and crash reports, HTTP answers, back-pressure and what the
// telemetry file holds: nothing here depends on the database's dialect (what the writer's SQL does
// with what is accepted is proven on both in telemetry-writer.test.ts), so SQLite only, with one
// portal and one app (versions 1.0.1 and 1.0.2) for the file's tests; each test uses devices of its own.
describe('telemetry ingestion [sqlite]', () => {
  const clock = new TestClock();
  let p: TestPortal;
  let stop: () => Promise<void>;
  let world: TelemetryWorld;
  let pkg: string;
  /** Where the documentation says the telemetry file is. */
  const telemetryDb = () => path.join(p.dataDir, 'telemetry.db');

  beforeAll(async () => {
    // A small buffer, so the 503 test can fill it with one batch.
    ({ portal: p, stop } = await startPortal('sqlite', { TELEMETRY_QUEUE_EVENTS: '500' }, { clock }));
    world = await telemetryWorld(p, [1, 2]);
    pkg = world.app.package_id;
  });
  afterAll(async () => {
    await stop();
  });

  it('keeps the good events of a batch and refuses each bad one with its index and reason, whatever the event type', async () => {
    const now = clock.now().getTime();
    // An ISO time with a zone of its own: 12:59:58+01:00 is 11:59:58Z.
    const isoWithOffset = new Date(now - 2000 + 3_600_000).toISOString().replace('Z', '+01:00');
    // Every type at the edge of its limits, both timestamp forms, and the edges of the window.
    const good: [Record<string, unknown>, { type: string; at: number; value: number | null; version_code?: number }][] = [
      [ev('app_start', now - 1000), { type: 'app_start', at: now - 1000, value: null }],
      [ev('app_start', isoWithOffset, { cold: true }), { type: 'app_start', at: now - 2000, value: null }],
      [ev('app_stop', now, { duration_ms: WEEK_MS }), { type: 'app_stop', at: now, value: WEEK_MS }],
      [ev('app_crash', now), { type: 'app_crash', at: now, value: null }],
      [ev('app_crash', now, { reason: 'r'.repeat(200) }), { type: 'app_crash', at: now, value: null }],
      // Tabs and newlines are fine in an error message (1000 characters in all).
      [ev('lua_error', now, { message: `${'m'.repeat(990)}\n\tmain.lua`, source: 's'.repeat(200) }), { type: 'lua_error', at: now, value: null }],
      [ev('perf_frame', now, { avg_ms: 0, p95_ms: 60_000 }), { type: 'perf_frame', at: now, value: 0 }],
      [ev('perf_memory', now, { used_mb: 1_048_576, limit_mb: 0.5 }), { type: 'perf_memory', at: now, value: 1_048_576 }],
      [ev('perf_startup', now, { duration_ms: 600_000 }), { type: 'perf_startup', at: now, value: 600_000 }],
      [ev('screen_view', now, { screen: 'É'.repeat(100) }), { type: 'screen_view', at: now, value: null }],
      [ev('button_click', now, { button: 'save', screen: 'editor' }), { type: 'button_click', at: now, value: null }],
      [ev('feature_used', now, { feature: 'export' }), { type: 'feature_used', at: now, value: null }],
      [ev('screen_view', now + DAY_MS, { screen: 'exactly a day ahead' }), { type: 'screen_view', at: now + DAY_MS, value: null }],
      [ev('screen_view', now - 30 * DAY_MS, { screen: 'exactly 30 days old' }), { type: 'screen_view', at: now - 30 * DAY_MS, value: null }],
      // An event may name its own version: it counts for that one.
      [ev('feature_used', now, { feature: 'sync' }, { app_version: '1.0.2' }), { type: 'feature_used', at: now, value: null, version_code: 2 }],
    ];
    // [what is wrong, the event, where the detail points]
    const invalid: [string, unknown, string][] = [
      ['an unknown type', ev('app_launch', now), 'type'],
      ['not an object', 42, ''],
      ['null', null, ''],
      ['no timestamp', { type: 'app_start' }, 'timestamp'],
      ['a field beside type, timestamp and data', ev('app_start', now, {}, { user: 'alice' }), ''],
      ['a timestamp without a zone', ev('app_start', '2026-11-27T12:00:00'), 'timestamp'],
      ['a negative timestamp', ev('app_start', -1), 'timestamp'],
      ['a fractional timestamp', ev('app_start', now + 0.5), 'timestamp'],
      ['a timestamp in words', ev('app_start', 'yesterday'), 'timestamp'],
      ['app_start: an unknown data field', ev('app_start', now, { warm: true }), 'data'],
      ['app_start: cold as text', ev('app_start', now, { cold: 'yes' }), 'data.cold'],
      ['app_stop: no data', ev('app_stop', now), 'data'],
      ['app_stop: no duration', ev('app_stop', now, {}), 'data.duration_ms'],
      ['app_stop: a negative duration', ev('app_stop', now, { duration_ms: -1 }), 'data.duration_ms'],
      ['app_stop: longer than a week', ev('app_stop', now, { duration_ms: WEEK_MS + 1 }), 'data.duration_ms'],
      ['app_stop: the duration as text', ev('app_stop', now, { duration_ms: '1000' }), 'data.duration_ms'],
      ['app_crash: a reason of 201 characters', ev('app_crash', now, { reason: 'r'.repeat(201) }), 'data.reason'],
      ['app_crash: an empty reason', ev('app_crash', now, { reason: '' }), 'data.reason'],
      ['app_crash: a bell in the reason', ev('app_crash', now, { reason: 'boom\u0007' }), 'data.reason'],
      ['lua_error: a message of 1001 characters', ev('lua_error', now, { message: 'm'.repeat(1001) }), 'data.message'],
      ['lua_error: no message', ev('lua_error', now, { source: 'main.lua' }), 'data.message'],
      ['lua_error: an empty message', ev('lua_error', now, { message: '' }), 'data.message'],
      ['lua_error: a NUL in the message', ev('lua_error', now, { message: 'a\u0000b' }), 'data.message'],
      ['lua_error: a newline in the source', ev('lua_error', now, { message: 'x', source: 'main.lua\n' }), 'data.source'],
      ['lua_error: a source of 201 characters', ev('lua_error', now, { message: 'x', source: 's'.repeat(201) }), 'data.source'],
      ['perf_frame: longer than a minute', ev('perf_frame', now, { avg_ms: 60_001, p95_ms: 10 }), 'data.avg_ms'],
      ['perf_frame: a negative p95', ev('perf_frame', now, { avg_ms: 5, p95_ms: -0.5 }), 'data.p95_ms'],
      ['perf_frame: no p95', ev('perf_frame', now, { avg_ms: 5 }), 'data.p95_ms'],
      ['perf_frame: the average as text', ev('perf_frame', now, { avg_ms: '5', p95_ms: 5 }), 'data.avg_ms'],
      ['perf_memory: more than a TiB', ev('perf_memory', now, { used_mb: 1_048_577, limit_mb: 10 }), 'data.used_mb'],
      ['perf_memory: a negative limit', ev('perf_memory', now, { used_mb: 1, limit_mb: -1 }), 'data.limit_mb'],
      ['perf_memory: an unknown field', ev('perf_memory', now, { used_mb: 1, limit_mb: 2, peak_mb: 3 }), 'data'],
      ['perf_startup: longer than ten minutes', ev('perf_startup', now, { duration_ms: 600_001 }), 'data.duration_ms'],
      ['perf_startup: null', ev('perf_startup', now, { duration_ms: null }), 'data.duration_ms'],
      ['screen_view: a name of 101 characters', ev('screen_view', now, { screen: 'x'.repeat(101) }), 'data.screen'],
      ['screen_view: an empty name', ev('screen_view', now, { screen: '' }), 'data.screen'],
      ['screen_view: a control character', ev('screen_view', now, { screen: 'home\u001f' }), 'data.screen'],
      ['screen_view: a number', ev('screen_view', now, { screen: 5 }), 'data.screen'],
      ['button_click: no button', ev('button_click', now, { screen: 'home' }), 'data.button'],
      ['button_click: a screen of 101 characters', ev('button_click', now, { button: 'ok', screen: 'x'.repeat(101) }), 'data.screen'],
      ['button_click: DEL in the button', ev('button_click', now, { button: 'ok\u007f' }), 'data.button'],
      ['feature_used: a name of 101 characters', ev('feature_used', now, { feature: 'f'.repeat(101) }), 'data.feature'],
      ['feature_used: an array', ev('feature_used', now, { feature: ['export'] }), 'data.feature'],
      ['an app_id that is no package id', ev('app_start', now, {}, { app_id: 'Not a package' }), 'app_id'],
      ['an app_version with a space', ev('app_start', now, {}, { app_version: '1.0 beta' }), 'app_version'],
    ];
    const refused: [string, unknown, string][] = [
      ['a day and a millisecond ahead', ev('screen_view', now + DAY_MS + 1, { screen: 'future' }), 'too_new'],
      ['30 days and a millisecond old', ev('screen_view', now - 30 * DAY_MS - 1, { screen: 'past' }), 'too_old'],
      ['a package nobody uploaded', ev('app_start', now, {}, { app_id: 'com.example.unknown' }), 'unknown_app'],
      ['a version never uploaded', ev('app_start', now, {}, { app_version: '9.9.9' }), 'unknown_version'],
    ];

    // Each refusal on its own: the batch is answered 202 and the one event refused for its reason.
    const device = 'device-limits';
    for (const [what, event, where] of invalid) {
      const res = await postEvents(p, pkg, { device, session: 'one-by-one', events: [ev('app_start', now), event] });
      expect(res.statusCode, `${what}: ${res.body}`).toBe(202);
      const body = res.json<IngestAnswer>();
      expect(body, what).toMatchObject({ accepted: 1, rejected: 1, discarded: 0, reasons: { invalid: 1 } });
      expect(body.errors, what).toEqual([{ index: 1, reason: 'invalid', detail: expect.stringMatching(new RegExp(`^events\\.1${where ? `\\.${where.replace('.', '\\.')}` : ''}: `)) }]);
    }
    for (const [what, event, reason] of refused) {
      const body = (await postEvents(p, pkg, { device, session: 'one-by-one', events: [event] })).json<IngestAnswer>();
      expect(body, what).toMatchObject({ accepted: 0, rejected: 1, discarded: 0, reasons: { [reason]: 1 }, errors: [{ index: 0, reason }] });
    }
    // Only the good first event of each of those batches was kept.
    expect((await eventsOf(p, device)).length).toBe(invalid.length);

    // All in one batch, good and bad interleaved: the good ones kept, every bad one counted, the
    // first 20 described.
    const mixed: { event: unknown; good?: (typeof good)[number][1]; reason?: string }[] = [];
    const bad = [...invalid.map(([, event]) => ({ event, reason: 'invalid' })), ...refused.map(([, event, reason]) => ({ event, reason }))];
    for (let i = 0; i < Math.max(good.length, bad.length); i++) {
      const g = good[i];
      if (g) mixed.push({ event: g[0], good: g[1] });
      const b = bad[i];
      if (b) mixed.push(b);
    }
    const res = await postEvents(p, pkg, { device: 'device-mixed', session: 'mixed', events: mixed.map((m) => m.event) });
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json<IngestAnswer>();
    expect(body).toMatchObject({
      accepted: good.length,
      rejected: bad.length,
      discarded: 0,
      reasons: { invalid: invalid.length, too_new: 1, too_old: 1, unknown_app: 1, unknown_version: 1 },
    });
    const badIndexes = mixed.flatMap((m, index) => (m.reason ? [{ index, reason: m.reason }] : []));
    expect(body.errors).toHaveLength(20);
    expect(body.errors.map(({ index, reason }) => ({ index, reason }))).toEqual(badIndexes.slice(0, 20));

    const stored = await eventsOf(p, 'device-mixed');
    expect(stored.map((r) => ({ type: r.type, at: Number(r.at_ms), value: r.value === null ? null : Number(r.value), version_code: Number(r.version_code) }))).toEqual(
      good.map(([, g]) => ({ type: g.type, at: g.at, value: g.value, version_code: g.version_code ?? 1 })),
    );
    expect(new Set(stored.map((r) => r.app_id))).toEqual(new Set([world.app.id]));
    // The data is kept as validated: app_start without data has none.
    expect(JSON.parse(stored[0]?.data ?? 'null')).toEqual({});
    expect(JSON.parse(stored[10]?.data ?? 'null')).toEqual({ button: 'save', screen: 'editor' });
    expect(stored.every((r) => Number(r.received_ms) === now)).toBe(true);
  });

  it('resolves the app and version per event: an envelope naming an unknown package keeps the events that name a known one', async () => {
    const now = clock.now().getTime();
    const res = await p.app.inject({
      method: 'POST',
      url: '/v1/telemetry/events',
      payload: {
        app_id: 'com.example.launcher',
        app_version: '3.0.0',
        mosis_version: MOSIS_VERSION,
        device_id: 'device-launcher',
        session_id: 'launcher-1',
        events: [
          ev('app_start', now),
          ev('app_start', now, {}, { app_id: pkg }),
          ev('app_start', now, {}, { app_id: pkg, app_version: '1.0.2' }),
          ev('app_start', now, {}, { app_id: pkg, app_version: '1.0.1' }),
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 2, rejected: 2, reasons: { unknown_app: 1, unknown_version: 1 }, errors: [{ index: 0, reason: 'unknown_app' }, { index: 1, reason: 'unknown_version' }] });
    expect((await eventsOf(p, 'device-launcher')).map((r) => Number(r.version_code))).toEqual([2, 1]);
  });

  it('looks up at most 10 app versions a batch: events naming an eleventh are refused as invalid, the known ones kept', async () => {
    const now = clock.now().getTime();
    const made = Array.from({ length: 12 }, (_, i) => ev('app_start', now, {}, { app_id: `com.example.made${i}` }));
    const res = await p.app.inject({
      method: 'POST',
      url: '/v1/telemetry/events',
      payload: { app_id: pkg, app_version: '1.0.1', mosis_version: MOSIS_VERSION, device_id: 'device-many-apps', session_id: 'many-1', events: [ev('app_start', now), ...made, ev('app_stop', now, { duration_ms: 5 })] },
    });
    expect(res.statusCode, res.body).toBe(202);
    // The envelope's pair and nine made-up packages are looked up; the last three made-up ones are not.
    expect(res.json()).toMatchObject({ accepted: 2, rejected: 12, reasons: { unknown_app: 9, invalid: 3 } });
    expect(res.json<{ errors: { index: number; reason: string; detail: string }[] }>().errors.filter((e) => e.reason === 'invalid')).toEqual([
      { index: 10, reason: 'invalid', detail: 'a batch may name at most 10 app versions' },
      { index: 11, reason: 'invalid', detail: 'a batch may name at most 10 app versions' },
      { index: 12, reason: 'invalid', detail: 'a batch may name at most 10 app versions' },
    ]);
    expect(await eventsOf(p, 'device-many-apps')).toHaveLength(2);
  });

  it('refuses a bad envelope with 400 validation_failed and keeps none of its events; a batch over 500 events or 256 KiB is refused whole', async () => {
    const now = clock.now().getTime();
    const base = { app_id: pkg, app_version: '1.0.1', mosis_version: MOSIS_VERSION, device_id: 'device-envelope', session_id: 'envelope-1', events: [ev('app_start', now)] };
    const post = (payload: unknown, headers: Record<string, string> = {}) => p.app.inject({ method: 'POST', url: '/v1/telemetry/events', payload: payload as string, headers });
    const before = await countEvents(p);
    const without = (field: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== field));
    const cases: [string, unknown][] = [
      ['no app_id', without('app_id')],
      ['an app_id that is no package id', { ...base, app_id: 'Notes App' }],
      ['no app_version', without('app_version')],
      ['an empty app_version', { ...base, app_version: '' }],
      ['an app_version of 65 characters', { ...base, app_version: '1'.repeat(65) }],
      ['no mosis_version', without('mosis_version')],
      ['a mosis_version of 33 characters', { ...base, mosis_version: '1'.repeat(33) }],
      ['no device_id', without('device_id')],
      ['an empty device_id', { ...base, device_id: '' }],
      ['a device_id of 129 characters', { ...base, device_id: 'd'.repeat(129) }],
      ['a device_id with a space', { ...base, device_id: 'my device' }],
      ['no session_id', without('session_id')],
      ['a session_id with a slash', { ...base, session_id: 'a/b' }],
      ['opt_out as text', { ...base, opt_out: 'yes' }],
      ['no events', without('events')],
      ['an empty events list', { ...base, events: [] }],
      ['events as an object', { ...base, events: { 0: ev('app_start', now) } }],
      ['501 events', { ...base, events: Array.from({ length: 501 }, () => ev('app_start', now)) }],
      ['a field the API does not have', { ...base, ip: '10.0.0.1' }],
      ['an array', [base]],
    ];
    for (const [what, payload] of cases) {
      const res = await post(payload);
      expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
      expectProblem(res, 400, 'validation_failed');
    }
    // The body is read in the telemetry thread; it answers as the HTTP layer does everywhere else.
    const missing = await post(without('device_id'));
    expect(missing.json().errors).toEqual([expect.objectContaining({ path: 'body.device_id' })]);
    const tooMany = await post({ ...base, events: Array.from({ length: 501 }, () => ev('app_start', now)) });
    expect(tooMany.json().errors).toEqual([expect.objectContaining({ path: 'body.events' })]);
    expectProblem(await post('{"app_id": ', { 'content-type': 'application/json' }), 400, 'malformed_json');
    expectProblem(await post('', { 'content-type': 'application/json' }), 400, 'validation_failed');
    // No body and no content type at all: Fastify parses nothing; still the empty body's 400.
    for (const url of ['/v1/telemetry/events', '/v1/telemetry/crashes']) expectProblem(await p.app.inject({ method: 'POST', url }), 400, 'validation_failed');
    expectProblem(await post(JSON.stringify(base), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    expectProblem(await post(`{"__proto__": {"admin": true}, ${JSON.stringify(base).slice(1)}`, { 'content-type': 'application/json' }), 400, 'validation_failed');
    expect(await countEvents(p)).toBe(before);

    // 500 events in exactly 256 KiB are taken; one byte more is 413, and nothing of it is kept.
    const sized = (bytes: number, device: string) => {
      const events = Array.from({ length: 500 }, (_, i) => ev('lua_error', now, { message: 'm'.repeat(400), source: `s${i}` }));
      const body = { ...base, device_id: device, events };
      let missing = bytes - Buffer.byteLength(JSON.stringify(body));
      for (const event of events) {
        const data = event['data'] as { message: string };
        const add = Math.min(missing, 1000 - data.message.length);
        data.message += 'm'.repeat(add);
        missing -= add;
      }
      expect(missing).toBe(0);
      const text = JSON.stringify(body);
      expect(Buffer.byteLength(text)).toBe(bytes);
      return text;
    };
    const json = { 'content-type': 'application/json' };
    const largest = await post(sized(EVENTS_BODY_BYTES, 'device-largest'), json);
    expect(largest.statusCode, largest.body).toBe(202);
    expect(largest.json()).toMatchObject({ accepted: 500, rejected: 0 });
    expectProblem(await post(sized(EVENTS_BODY_BYTES + 1, 'device-too-large'), json), 413, 'payload_too_large');
    expect((await eventsOf(p, 'device-largest')).length).toBe(500);
    expect(await eventsOf(p, 'device-too-large')).toEqual([]);
    expect(await countEvents(p)).toBe(before + 500);
    // A byte order mark before the JSON is allowed, as everywhere else.
    const bom = await post(`\uFEFF${JSON.stringify({ ...base, device_id: 'device-bom' })}`, json);
    expect(bom.statusCode, bom.body).toBe(202);
    expect((await eventsOf(p, 'device-bom')).length).toBe(1);
  });

  it('refuses a report over its limits with 400 (413 over 128 KiB) and answers accepted: false with the reason for an unknown package or version or a time outside the window', async () => {
    const now = clock.now().getTime();
    const base = { device: 'device-crash-limits', timestamp: now, message: 'main.lua:3: boom', stack_trace: traceback("main.lua:3: in function 'f'") };
    const answer = (res: Awaited<ReturnType<typeof postCrash>>) => {
      expect(res.statusCode, res.body).toBe(202);
      return res.json<{ accepted: boolean; reason: string | null; group_id: string | null }>();
    };
    expect(answer(await postCrash(p, 'com.example.unknown', base))).toEqual({ accepted: false, reason: 'unknown_app', group_id: null });
    // At the edge of every limit, the report passes the checks (and is refused only for its version,
    // which keeps it out of the crash groups).
    const largest = {
      ...base,
      type: 't'.repeat(100),
      message: `${'m'.repeat(4000)}\n\t${'n'.repeat(94)}`,
      stack_trace: `stack traceback:\n\t${'s'.repeat(65_536 - 18)}`,
      context: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`key_${i}.${'k'.repeat(64 - 5 - String(i).length)}`, i % 3 === 0 ? 'v'.repeat(500) : i % 3 === 1 ? i : true])),
    };
    expect(largest.stack_trace.length).toBe(65_536);
    expect(answer(await postCrash(p, pkg, { ...largest, version: '9.9.9' }))).toEqual({ accepted: false, reason: 'unknown_version', group_id: null });
    expect(answer(await postCrash(p, pkg, { ...base, timestamp: now - 30 * 86_400_000 - 1 }))).toEqual({ accepted: false, reason: 'too_old', group_id: null });
    expect(answer(await postCrash(p, pkg, { ...base, timestamp: iso(now + 86_400_000 + 1) }))).toEqual({ accepted: false, reason: 'too_new', group_id: null });

    const cases: [string, Record<string, unknown>, Record<string, unknown>?][] = [
      ['a stack trace over 64 KiB', { stack_trace: 's'.repeat(65_537) }],
      ['a message over 4 KiB', { message: 'm'.repeat(4097) }],
      ['a type of 101 characters', { type: 't'.repeat(101) }],
      ['an empty type', { type: '' }],
      ['a newline in the type', { type: 'lua\nerror' }],
      ['a NUL in the stack trace', { stack_trace: 'main.lua:3\u0000' }],
      ['33 context entries', { context: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) }],
      ['a context key with a space', { context: { 'free mb': 1 } }],
      ['a context key of 65 characters', { context: { ['k'.repeat(65)]: 1 } }],
      ['a context value of 501 characters', { context: { screen: 'v'.repeat(501) } }],
      ['a context value that is an object', { context: { screen: { name: 'home' } } }],
      ['a timestamp without a zone', { timestamp: '2026-11-27T12:00:00' }],
      ['a device id with a space', { device: 'my phone' }],
      ['a field the API does not have', {}, { ip: '10.0.0.1' }],
    ];
    for (const [what, change, extra] of cases) {
      const res = await postCrash(p, pkg, { ...base, ...change }, extra);
      expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
      expectProblem(res, 400, 'validation_failed');
    }
    const unknownCrashField = await p.app.inject({
      method: 'POST',
      url: '/v1/telemetry/crashes',
      payload: { app_id: pkg, app_version: '1.0.1', mosis_version: MOSIS_VERSION, device_id: 'device-crash-limits', timestamp: now, crash: { type: 'lua_error', message: 'x', stack_trace: 'y', severity: 'high' } },
    });
    expectProblem(unknownCrashField, 400, 'validation_failed');
    expectProblem(await postCrash(p, pkg, { ...base, stack_trace: 's'.repeat(130 * 1024) }), 413, 'payload_too_large');
    const reports = () => readTelemetry(p, (db) => db.selectFrom('telemetry_crash_reports').select('group_id').where('device_hash', '=', p.core.deviceIds.hash('device-crash-limits')).execute());
    expect(await reports()).toEqual([]);
    // The same report within its limits, of a known version, is filed.
    const filed = answer(await postCrash(p, pkg, base));
    expect(filed).toMatchObject({ accepted: true, reason: null, group_id: expect.stringMatching(/^cg_[0-9a-f]{24}$/) });
    expect(await reports()).toEqual([{ group_id: filed.group_id }]);
  });

  it('discards the events and crash reports of a device that opted out, keeping nothing', async () => {
    const now = clock.now().getTime();
    const before = await countEvents(p);
    const res = await postEvents(p, pkg, { device: 'device-opted-out', session: 'private', opt_out: true, events: [ev('app_start', now), ev('screen_view', now, { screen: 'home' }), ev('bogus', now)] });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ accepted: 0, rejected: 0, discarded: 3, reasons: {}, errors: [] });
    const crash = await postCrash(p, pkg, { device: 'device-opted-out', timestamp: now, message: 'main.lua:3: boom', stack_trace: traceback("main.lua:3: in function 'f'") }, { opt_out: true });
    expect(crash.statusCode, crash.body).toBe(202);
    expect(crash.json()).toEqual({ accepted: false, reason: null, group_id: null });
    expect(await countEvents(p)).toBe(before);
    const hash = p.core.deviceIds.hash('device-opted-out');
    expect(await readTelemetry(p, (db) => db.selectFrom('telemetry_crash_reports').select('id').where('device_hash', '=', hash).execute())).toEqual([]);
    // The same events without opt_out are kept: the discard was the opt-out's doing.
    expect((await postEvents(p, pkg, { device: 'device-opted-in', session: 'public', events: [ev('app_start', now)] })).json()).toMatchObject({ accepted: 1 });
  });

  it('never stores a raw device id, session id or client address: the telemetry file holds keyed hashes', async () => {
    const now = clock.now().getTime();
    const device = 'device-RAW-4f9c2e7a0b';
    const session = 'session-RAW-88d1c3';
    const address = '198.51.100.77';
    const res = await postEvents(p, pkg, { device, session, events: [ev('app_start', now), ev('screen_view', now, { screen: 'home' })] }, address);
    expect(res.statusCode, res.body).toBe(202);
    const crash = await p.app.inject({
      method: 'POST',
      url: '/v1/telemetry/crashes',
      remoteAddress: address,
      payload: { app_id: pkg, app_version: '1.0.1', mosis_version: MOSIS_VERSION, device_id: device, session_id: session, timestamp: now, crash: { type: 'lua_error', message: 'main.lua:3: boom', stack_trace: traceback("main.lua:3: in function 'f'") } },
    });
    expect(crash.json(), crash.body).toMatchObject({ accepted: true });

    const rows = await eventsOf(p, device);
    expect(rows).toHaveLength(2);
    // A 48-bit key of the keyed hash: neither the id nor anything a candidate id hashes to without the key.
    expect(rows[0]?.device_key).toBe(telemetryKey(p.core.deviceIds.hash(device)));
    expect(rows[0]?.session_key).toBe(telemetryKey(p.core.deviceIds.hash(`session\n${device}\n${session}`)));
    const reports = await readTelemetry(p, (db) => db.selectFrom('telemetry_crash_reports').selectAll().where('device_hash', '=', p.core.deviceIds.hash(device)).execute());
    expect(reports).toHaveLength(1);

    // Every byte the portal keeps in DATA_DIR (the telemetry file and its WAL among them).
    const files = (await readdir(p.dataDir, { recursive: true, withFileTypes: true })).filter((f) => f.isFile()).map((f) => path.join(f.parentPath, f.name));
    expect(files).toContain(telemetryDb());
    expect(files).toContain(`${telemetryDb()}-wal`);
    for (const file of files) {
      const bytes = await readFile(file);
      for (const secret of [device, session, address]) expect(bytes.includes(secret), `${secret} in ${file}`).toBe(false);
    }
  });

  it('answers 503 telemetry_busy with Retry-After when the buffer is full, keeping nothing of the refused batch', async () => {
    const now = clock.now().getTime();
    const writer = p.core.telemetryWriter;
    await writer.start();
    // Another connection holds the telemetry file's write lock: the writer's commit waits for it.
    const lock = new SQLite(telemetryDb());
    try {
      lock.exec('BEGIN IMMEDIATE');
      const full = postEvents(p, pkg, { device: 'device-busy-1', session: 'busy', events: Array.from({ length: 500 }, (_, i) => ev('screen_view', now, { screen: `screen-${i}` })) });
      const deadline = Date.now() + 10_000;
      while (writer.queued < 500) {
        if (Date.now() > deadline) throw new Error(`the first batch never reached the writer (queued: ${writer.queued})`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const refused = await postEvents(p, pkg, { device: 'device-busy-2', session: 'busy', events: [ev('app_start', now)] });
      expectProblem(refused, 503, 'telemetry_busy');
      expect(refused.headers['retry-after']).toBe('2');
      expectProblem(await postCrash(p, pkg, { device: 'device-busy-2', timestamp: now, message: 'main.lua:3: boom', stack_trace: traceback("main.lua:3: in function 'f'") }), 503, 'telemetry_busy');
      lock.exec('COMMIT');
      const accepted = await full;
      expect(accepted.statusCode, accepted.body).toBe(202);
      expect(accepted.json()).toMatchObject({ accepted: 500 });
    } finally {
      if (lock.inTransaction) lock.exec('ROLLBACK');
      lock.close();
    }
    expect(writer.queued).toBe(0);
    expect((await eventsOf(p, 'device-busy-1')).length).toBe(500);
    expect(await eventsOf(p, 'device-busy-2')).toEqual([]);
    expect(await readTelemetry(p, (db) => db.selectFrom('telemetry_crash_reports').select('id').where('device_hash', '=', p.core.deviceIds.hash('device-busy-2')).execute())).toEqual([]);
    // Drained: the device's retry is taken.
    expect((await postEvents(p, pkg, { device: 'device-busy-2', session: 'busy', events: [ev('app_start', now)] })).json()).toMatchObject({ accepted: 1 });
  });

  it('counts a crash report waiting for the disk as a batch of its size, not as one event', async () => {
    const now = clock.now().getTime();
    const writer = p.core.telemetryWriter;
    await writer.start();
    const lock = new SQLite(telemetryDb());
    try {
      lock.exec('BEGIN IMMEDIATE');
      // About 47 KiB of trace: as many bytes as 90 events of the largest batch (one event each 524 bytes of 256 KiB).
      const frames = Array.from({ length: 1200 }, (_, i) => `main.lua:${i}: in function 'step${i}'`).join('\n\t');
      const large = postCrash(p, pkg, { device: 'device-large-crash', timestamp: now, message: 'main.lua:3: boom', stack_trace: traceback(frames).slice(0, 60_000) });
      const deadline = Date.now() + 10_000;
      while (writer.queued === 0) {
        if (Date.now() > deadline) throw new Error('the crash report never reached the writer');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(writer.queued).toBeGreaterThan(80);
      lock.exec('COMMIT');
      const accepted = await large;
      expect(accepted.statusCode, accepted.body).toBe(202);
      expect(accepted.json()).toMatchObject({ accepted: true });
    } finally {
      if (lock.inTransaction) lock.exec('ROLLBACK');
      lock.close();
    }
    expect(writer.queued).toBe(0);
  });
});

// Counters in memory, keyed by address and by the device's hash: nothing the database changes.
describeOnSqlite(
  'telemetry rate limits',
  (portal) => {
    it('limits each device and each client address per minute with 429 and Retry-After, on events, crashes and erasure alike', async () => {
      const p = portal();
      const clock = p.core.clock as TestClock;
      const now = clock.now().getTime();
      // No app is needed: the limits come before the events are looked at (an unknown package is a per-event refusal).
      const send = (device: string, remoteAddress: string) => postEvents(p, 'com.example.unknown', { device, session: 's', events: [ev('app_start', now)] }, remoteAddress);
      const limited = (res: Awaited<ReturnType<typeof send>>) => {
        expectProblem(res, 429, 'rate_limited');
        expect(res.headers['retry-after']).toBe('60');
      };
      // Device A: three a minute.
      for (let i = 0; i < 3; i++) expect((await send('device-a', '203.0.113.1')).statusCode).toBe(202);
      limited(await send('device-a', '203.0.113.1'));
      // Another device from the same address still gets through, until the address's five are spent.
      expect((await send('device-b', '203.0.113.1')).statusCode).toBe(202);
      limited(await send('device-c', '203.0.113.1'));
      // Another address has its own budget, but device A's is spent wherever it sends from.
      expect((await send('device-c', '203.0.113.2')).statusCode).toBe(202);
      limited(await send('device-a', '203.0.113.2'));
      limited(await postCrash(p, 'com.example.unknown', { device: 'device-a', timestamp: now, message: 'x', stack_trace: 'y' }));
      limited(await p.app.inject({ method: 'DELETE', url: '/v1/telemetry/devices/device-a', remoteAddress: '203.0.113.3' }));
      // A minute later both budgets are whole again.
      clock.advance(60_000);
      expect((await send('device-a', '203.0.113.1')).statusCode).toBe(202);
      expect((await send('device-c', '203.0.113.1')).statusCode).toBe(202);
    });
  },
  {
    env: () => ({ TELEMETRY_DEVICE_RATE_LIMIT_PER_MINUTE: '3', TELEMETRY_RATE_LIMIT_PER_MINUTE: '5' }),
    deps: () => ({ clock: new TestClock() }),
  },
);

// How a portal whose telemetry file is damaged answers: the HTTP side of the writer thread's
// failure, nothing the database's dialect changes.
// What counts as "left waiting for ever": well past a worker thread's start on a loaded two-core CI
// machine (5 s was not, on Node 22), far short of the test's own timeout.
const WAITED_FOR_EVER_MS = 15_000;

describeOnSqlite('telemetry: a telemetry file that cannot be opened', (portal) => {
  it('answers 503 telemetry_unavailable to every request instead of leaving it waiting, says so in /readyz, and still shuts down', async () => {
    const p = portal();
    await writeFile(path.join(p.dataDir, 'telemetry.db'), Buffer.alloc(4096, 7));
    const answered = async <T>(work: Promise<T>, what: string): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} was left waiting`)), WAITED_FOR_EVER_MS)))]);
      } finally {
        clearTimeout(timer);
      }
    };
    // The first request starts the writer thread, which cannot open the file: 503.
    const ready = await answered(p.app.inject({ method: 'GET', url: '/readyz' }), '/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not_ready', checks: { telemetry: { ok: false }, database: { ok: true } } });
    // The next one once waited for ever (Piscina gives up on a pool whose replacement thread fails
    // while starting). No app is needed: erasure goes to the writer whatever the device.
    expectProblem(await answered(p.app.inject({ method: 'DELETE', url: '/v1/telemetry/devices/device-1' }), 'the erasure'), 503, 'telemetry_unavailable');
    await answered(p.core.telemetryWriter.close(), "the writer's close");
  });
});
