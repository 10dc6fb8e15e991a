/**
 * Telemetry benchmark (issue 13), everything in one run on this machine:
 * 1. Ingestion: a running `mosis-portal serve` (compiled dist/, default log level, telemetry rate
 *    limits off) takes POST /v1/telemetry/events batches of 100 events at a fixed rate (default
 *    500 a second: 50 000 events/s, spread evenly) for 60 s over 50 keep-alive connections. Reported: the rate
 *    it kept, latency p50/p99, non-202 answers, the server's peak RSS (sampled every 100 ms), and
 *    the events on disk afterwards against the 202s counted.
 * 2. Beside it, an authenticated app read (GET /v1/apps/{id}, a developer's bearer token) at 50 a
 *    second over 2 connections: its p99 during the load against its p99 on the idle portal just
 *    before.
 * 3. Rollup: a telemetry file holding one day of 10 million events (100 apps, 3 versions each,
 *    100 000 devices, five sessions a device), rolled up by the portal's own code (dist/) from
 *    start to end, timed.
 *
 *   node --import tsx bench/telemetry.ts [--seconds 60] [--rate 500] [--rollup-events 10000000] [--skip-ingest] [--skip-rollup] [--profile]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { openSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { pino } from 'pino';
import type * as TelemetryDbModule from '../src/db/telemetry.js';
import type * as TelemetryModule from '../src/features/telemetry/index.js';
import { api, cpuSeconds, freePort, rssMiB, startFlags, waitFor } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const argNumber = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const SECONDS = argNumber('--seconds', 60);
const RATE = argNumber('--rate', 500);
const ROLLUP_EVENTS = argNumber('--rollup-events', 10_000_000);
/** --profile: the server's CPU profiles (main thread and the writer thread) into bench/results/profiles/. */
const PROFILE = process.argv.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${path.join(RESULTS, 'profiles')}`] : [];
const BATCH = 100;
const CONNECTIONS = 50;
const READ_RATE = 50;
const APPS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1) => Number(n.toFixed(digits));






/** Versions 1.0.1 – 1.0.3 of each app, published, written straight into the portal's file (WAL: beside the server). */
function seedVersions(dataDir: string, appIds: string[]): void {
  const db = new SQLite(path.join(dataDir, 'portal.db'));
  db.pragma('busy_timeout = 5000');
  const now = new Date().toISOString();
  const insert = db.prepare(`insert into versions (id, app_id, version, version_code, status, sha256, size, permissions, manifest, checks, created_at)
    values (?, ?, ?, ?, 'published', ?, 1, '[]', '{}', '[]', ?)`);
  db.transaction(() => {
    for (const appId of appIds) for (let code = 1; code <= 3; code += 1) insert.run(randomUUID(), appId, `1.0.${code}`, code, 'a'.repeat(64), now);
  })();
  db.close();
}

const TYPES = ['app_start', 'screen_view', 'button_click', 'perf_frame', 'perf_memory', 'feature_used', 'lua_error', 'perf_startup', 'app_stop'] as const;

function eventOf(i: number, at: number): Record<string, unknown> {
  const type = TYPES[i % TYPES.length]!;
  const data: Record<string, unknown> = {
    app_start: { cold: i % 2 === 0 },
    screen_view: { screen: `screen-${i % 12}` },
    button_click: { button: `button-${i % 30}`, screen: `screen-${i % 12}` },
    perf_frame: { avg_ms: 8 + (i % 17), p95_ms: 20 + (i % 23) },
    perf_memory: { used_mb: 40 + (i % 90), limit_mb: 512 },
    feature_used: { feature: `feature-${i % 9}` },
    lua_error: { message: `attempt to index a nil value (field 'x${i % 5}')`, source: 'main.lua:42' },
    perf_startup: { duration_ms: 200 + (i % 400) },
    app_stop: { duration_ms: 30_000 + (i % 600) * 1000 },
  }[type];
  return { type, timestamp: new Date(at - (i % 60) * 1000).toISOString(), data };
}

/** 512 different batches of 100 events (devices, sessions, apps, versions vary), cycled by the load. */
function batches(packageIds: string[]): string[] {
  const now = Date.now();
  const out: string[] = [];
  for (let b = 0; b < 512; b += 1) {
    out.push(
      JSON.stringify({
        app_id: packageIds[b % packageIds.length],
        app_version: `1.0.${1 + (b % 3)}`,
        mosis_version: '1.4.0',
        device_id: `bench-device-${b * 7919 % 100_000}`,
        session_id: `session-${b}`,
        events: Array.from({ length: BATCH }, (_, i) => eventOf(b * BATCH + i, now)),
      }),
    );
  }
  return out;
}

interface LoadResult {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  ok: number;
  non_2xx: number;
  errors: number;
  timeouts: number;
}

/**
 * An open-loop load: request i is due at start + i / rate seconds and sent then, whatever the
 * answers before it, over a keep-alive pool of `connections` sockets; its latency counts from when
 * it was due (a slow server is not let off by the generator waiting: no coordinated omission).
 * Arrivals are spread evenly, as a fleet of devices sends. (autocannon's overallRate, tried first,
 * gave p50 22 ms at the same rate with the server using 0.7 cores, where this gives 4-6 ms: its
 * connections appear to fire together, so it measured a burst of 50 rather than the server.)
 */
async function load(options: { url: string; method?: string; rate: number; seconds: number; connections: number; headers?: Record<string, string>; body?: (i: number) => string }): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const url = new URL(options.url);
  const total = Math.round(options.rate * options.seconds);
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  const send = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      const body = options.body?.(i);
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: options.method ?? 'GET', agent, headers: { ...options.headers, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) ok += 1;
            else non2xx += 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(send(i, due));
  }
  await Promise.all(inFlight);
  agent.destroy();
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN, 1);
  return { requests_per_s: round(ok / seconds), p50_ms: at(0.5), p99_ms: at(0.99), max_ms: round(latencies.at(-1) ?? NaN, 1), ok, non_2xx: non2xx, errors, timeouts: 0 };
}


async function ingest(dataDir: string, work: string, dist: string) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  execFileSync(process.execPath, [path.join(dist, 'main.js'), 'migrate'], { env: { ...process.env, DATA_DIR: dataDir }, stdio: 'ignore' });
  const { LOG_LEVEL: _ignored, ...env } = process.env;
  const log = openSync(path.join(work, 'portal.log'), 'a');
  const child: ChildProcess = spawn(process.execPath, [...PROFILE, ...(await startFlags(ROOT)), path.join(dist, 'main.js'), 'serve'], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, TELEMETRY_RATE_LIMIT_PER_MINUTE: '0', TELEMETRY_DEVICE_RATE_LIMIT_PER_MINUTE: '0' },
    stdio: ['ignore', log, log],
  });
  const pid = child.pid ?? 0;
  try {
    await waitFor(`${base}/readyz`);
    const email = `bench-${Date.now()}@example.com`;
    const password = 'correct horse battery staple';
    await api(base, 'POST', '/v1/auth/register', { email, password, name: 'Bench' });
    const { access_token: token } = await api<{ access_token: string }>(base, 'POST', '/v1/auth/login', { email, password });
    const apps: { id: string; package_id: string }[] = [];
    for (let i = 0; i < APPS; i += 1) apps.push(await api(base, 'POST', '/v1/apps', { package_id: `com.bench.telemetry${i}`, name: `Bench ${i}` }, token));
    seedVersions(dataDir, apps.map((a) => a.id));
    const bodies = batches(apps.map((a) => a.package_id));
    const readUrl = `${base}/v1/apps/${apps[0]!.id}`;
    const read = (seconds: number) => load({ url: readUrl, connections: 2, rate: READ_RATE, seconds, headers: { authorization: `Bearer ${token}` } });

    // Warm-up of both paths (JIT, the writer thread, the version cache), then the idle read.
    const ingestion = (seconds: number, rate: number) =>
      load({ url: `${base}/v1/telemetry/events`, method: 'POST', connections: CONNECTIONS, rate, seconds, body: (i) => bodies[i % bodies.length] ?? '' });
    await ingestion(5, RATE / 2);
    await read(3);
    const idle = await read(15);

    const rssBefore = await rssMiB(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => void rssMiB(pid).then((v) => (rssPeak = Math.max(rssPeak, v)), () => undefined), 100);
    const db = () => new SQLite(path.join(dataDir, 'telemetry.db'), { readonly: true });
    const countEvents = () => {
      const t = db();
      try {
        return (t.prepare('select count(*) as n from telemetry_events').get() as { n: number }).n;
      } finally {
        t.close();
      }
    };
    const eventsBefore = countEvents();
    const [cpu0, own0, wall0] = [await cpuSeconds(pid), process.cpuUsage(), performance.now()];
    const [underLoad, busyRead] = await Promise.all([ingestion(SECONDS, RATE), read(SECONDS)]);
    const [cpu1, own, wall] = [await cpuSeconds(pid), process.cpuUsage(own0), (performance.now() - wall0) / 1000];
    clearInterval(sampler);
    const stored = countEvents() - eventsBefore;
    return {
      ingestion: {
        target_events_per_s: RATE * BATCH,
        events_per_s: round(underLoad.requests_per_s * BATCH),
        ...underLoad,
        events_stored: stored,
        events_acknowledged: underLoad.ok * BATCH,
        rss_before_mib: round(rssBefore),
        rss_peak_mib: round(rssPeak),
        // Cores in use: the server (all its threads) and this process (the load generators).
        server_cores: round((cpu1 - cpu0) / wall, 2),
        load_generator_cores: round((own.user + own.system) / 1e6 / wall, 2),
      },
      app_read: { idle, under_load: busyRead, p99_ratio: round(busyRead.p99_ms / Math.max(0.001, idle.p99_ms), 2) },
    };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/** One day of events straight into a telemetry file (migrated by the portal's code), then the portal's rollup over it. */
async function rollup(work: string, dist: string) {
  // The compiled code (as the portal runs it), typed by its sources.
  const { openTelemetryWriter, migrateTelemetry } = (await import(path.join(dist, 'db', 'telemetry.js'))) as typeof TelemetryDbModule;
  const { TelemetryWriter } = (await import(path.join(dist, 'features', 'telemetry', 'index.js'))) as typeof TelemetryModule;
  const dir = path.join(work, 'rollup');
  await mkdir(dir, { recursive: true });
  const database = { dialect: 'sqlite' as const, file: path.join(dir, 'portal.db') };
  const created = openTelemetryWriter(database);
  await migrateTelemetry(created.db);
  await created.db.destroy();

  const seedStarted = performance.now();
  const file = new SQLite(path.join(dir, 'telemetry.db'));
  file.pragma('synchronous = OFF');
  const insert = file.prepare(`insert into telemetry_events (received_day, received_ms, app_id, version_code, device_key, session_key, type, at_ms, value, data)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const day = Date.parse('2026-12-01T00:00:00Z');
  const devices = 100_000;
  const sessionsPerDevice = 5;
  const perSession = Math.ceil(ROLLUP_EVENTS / (devices * sessionsPerDevice));
  const datas = TYPES.map((_, i) => JSON.stringify((eventOf(i, day) as { data: unknown }).data));
  let written = 0;
  // 48-bit keys as the portal keeps them (telemetry-keys.ts), from a hash of the name.
  const hash = (s: string) => createHash('sha256').update(s).digest().readUIntBE(0, 6);
  // In arrival order, as a day of devices would send it: hour by hour, each session whole.
  const insertHour = file.transaction((hour: number) => {
    for (let d = 0; d < devices; d += 1) {
      for (let s = 0; s < sessionsPerDevice && written < ROLLUP_EVENTS; s += 1) {
        if ((d * 7 + s * 5) % 24 !== hour) continue;
        const appId = `app-${d % 100}`;
        const version = 1 + (d % 3);
        const deviceHash = hash(`device-${d}`);
        const start = day + hour * 3_600_000 + (d % 3000) * 1000;
        const sessionHash = hash(`session-${d}-${s}`);
        for (let e = 0; e < perSession && written < ROLLUP_EVENTS; e += 1) {
          const t = e % TYPES.length;
          const type = e === 0 ? 'app_start' : e === perSession - 1 ? 'app_stop' : d % 50 === 0 && e === 3 ? 'app_crash' : TYPES[t]!;
          const value = type === 'perf_frame' ? 8 + (e % 17) : type === 'perf_memory' ? 40 + (e % 90) : type === 'perf_startup' ? 200 + (e % 400) : type === 'app_stop' ? 60_000 + (d % 600) * 1000 : null;
          insert.run('2026-12-01', day + hour * 3_600_000, appId, version, deviceHash, sessionHash, type, start + e * 1000, value, datas[t]);
          written += 1;
        }
      }
    }
  });
  for (let hour = 0; hour < 24; hour += 1) insertHour(hour);
  file.close();
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  // As a portal runs it: the rollup thread sums chunks up, the writer thread applies them (no
  // devices sending). The portal's file must exist: the writer reads its apps and versions.
  new SQLite(database.file).close();
  const writer = new TelemetryWriter({ database, dataDir: dir, perDevicePerMinute: 0, log: pino({ level: 'silent' }), queueEvents: 1000, lagMs: 0 });
  const started = performance.now();
  const result = await writer.rollUp(day + 2 * 86_400_000);
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  const conn = openTelemetryWriter(database);
  const rows = await conn.db.selectFrom('telemetry_rollups').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  await conn.db.destroy();
  return { events: written, rolled_up: result.events, seconds: round(seconds, 2), rollup_rows: Number(rows.n), seed_seconds: round(seedSeconds) };
}

async function main(): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  const work = await mkdtemp(path.join(RESULTS, 'telemetry-'));
  // A copy of dist/: a build running beside the benchmark cannot change it midway.
  const dist = path.join(work, 'dist');
  await cp(path.join(ROOT, 'dist'), dist, { recursive: true });
  await writeFile(path.join(work, 'package.json'), await readFile(path.join(ROOT, 'package.json')));
  try {
    const out: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, seconds: SECONDS, rate: RATE, batch: BATCH };
    if (!process.argv.includes('--skip-ingest')) out['ingest'] = await ingest(path.join(work, 'data'), work, dist);
    if (!process.argv.includes('--skip-rollup')) out['rollup'] = await rollup(work, dist);
    console.log(JSON.stringify(out, null, 2));
    await writeFile(path.join(RESULTS, 'telemetry.json'), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
