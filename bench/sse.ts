/**
 * Live event stream benchmark (issue 14): one running `mosis-portal serve` (compiled dist/, the
 * node flags of `npm start`) holding 1 000 concurrent `GET /v1/events` streams, opened by two
 * client processes of their own (so the clients' work is not the server's), all streams the same
 * developer's (EVENTS_STREAMS_PER_USER=1000), authenticated with an `apps:read` API key.
 *
 * Measured:
 * - the server's RSS before any stream, once all are connected, and after the events were
 *   delivered (growth against before; target under 64 MiB), plus its peak (100 ms samples);
 * - 20 listing changes of the developer's app (PATCH /v1/apps/{id}), one every 250 ms: for each
 *   delivery to each stream, the delay from the change's answer (the commit is before it) to the
 *   event's arrival at the client: p50, p99, max over all deliveries (target p99 under 1 s).
 *   Both clocks are the same machine's (performance.timeOrigin + performance.now()), so a delivery
 *   that beats the answer to its caller counts as a small negative delay.
 *
 *   node --import tsx bench/sse.ts [--streams 1000] [--events 20] [--clients 2] [--dist DIR]
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { api, cpuSeconds, freePort, rssMiB, startFlags, waitFor } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const argNumber = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const argString = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const STREAMS = argNumber('--streams', 1000);
const EVENTS = argNumber('--events', 20);
const CLIENTS = argNumber('--clients', 2);
const EVENT_GAP_MS = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
const now = () => performance.timeOrigin + performance.now();

/** What a client process tells the benchmark. */
type ClientMessage =
  | { kind: 'connected'; streams: number; failed: number; seconds: number }
  | { kind: 'arrivals'; arrivals: Array<[eventId: number, at: number]>; closedEarly: number };

/** A client process: opens its share of the streams, records when each event reaches each stream. */
async function client(): Promise<void> {
  const url = argString('--url') ?? '';
  const key = argString('--key') ?? '';
  const count = argNumber('--count', 500);
  const expect = argNumber('--expect', EVENTS);
  const arrivals: Array<[number, number]> = [];
  const perStream: number[] = [];
  let closedEarly = 0;
  const started = now();
  const opened = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      new Promise<boolean>((resolve) => {
        perStream[i] = 0;
        const req = http.get(url, { agent: false, headers: { authorization: `Bearer ${key}` } }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            resolve(false);
            return;
          }
          res.setEncoding('utf8');
          let buffer = '';
          let live = false;
          res.on('data', (chunk: string) => {
            const at = now();
            buffer += chunk;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              if (!live && block.startsWith('retry:')) {
                live = true;
                resolve(true);
              }
              const id = /^id: (\d+)$/m.exec(block)?.[1];
              if (id !== undefined) {
                arrivals.push([Number(id), at]);
                perStream[i] = (perStream[i] ?? 0) + 1;
              }
            }
          });
          res.on('close', () => {
            if ((perStream[i] ?? 0) < expect) closedEarly += 1;
          });
        });
        req.on('error', () => resolve(false));
      }),
    ),
  );
  const ok = opened.filter(Boolean).length;
  process.send?.({ kind: 'connected', streams: ok, failed: count - ok, seconds: round((now() - started) / 1000, 2) } satisfies ClientMessage);
  process.on('message', (message: { kind: string }) => {
    if (message.kind !== 'report') return;
    // The streams stay open: the benchmark closes the server with them open, then ends this process.
    process.send?.({ kind: 'arrivals', arrivals, closedEarly } satisfies ClientMessage);
  });
}







/** Resolves with the next message of `kind` from a client process. */
function next<K extends ClientMessage['kind']>(child: ChildProcess, kind: K): Promise<Extract<ClientMessage, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ClientMessage) => {
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      resolve(message as Extract<ClientMessage, { kind: K }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`a client process exited (${code}) before sending ${kind}`)));
  });
}

const percentile = (sorted: number[], q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN, 1);

async function run(dist: string, work: string) {
  const dataDir = path.join(work, 'data');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  execFileSync(process.execPath, [path.join(dist, 'main.js'), 'migrate'], { env: { ...process.env, DATA_DIR: dataDir }, stdio: 'ignore' });
  const { LOG_LEVEL: _ignored, ...env } = process.env;
  const log = openSync(path.join(work, 'portal.log'), 'a');
  const server: ChildProcess = spawn(process.execPath, [...(await startFlags(ROOT)), path.join(dist, 'main.js'), 'serve'], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, EVENTS_STREAMS_PER_USER: String(Math.min(STREAMS, 1000)), EVENTS_STREAMS_MAX: String(STREAMS + 100) },
    stdio: ['ignore', log, log],
  });
  const pid = server.pid ?? 0;
  const clients: ChildProcess[] = [];
  try {
    await waitFor(`${base}/readyz`);
    const email = `bench-${Date.now()}@example.com`;
    const password = 'correct horse battery staple';
    await api(base, 'POST', '/v1/auth/register', { email, password, name: 'Bench' });
    const { access_token: token } = await api<{ access_token: string }>(base, 'POST', '/v1/auth/login', { email, password });
    const app = await api<{ id: string }>(base, 'POST', '/v1/apps', { package_id: 'com.bench.sse', name: 'Bench' }, token);
    const { key } = await api<{ key: string }>(base, 'POST', '/v1/keys', { name: 'bench streams', scopes: ['apps:read'] }, token);
    // Warm-up: the routes compiled, a stream opened and closed, a change made.
    await api(base, 'PATCH', `/v1/apps/${app.id}`, { name: 'Warm' }, token);
    await sleep(2000);

    const rssBefore = await rssMiB(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => void rssMiB(pid).then((v) => (rssPeak = Math.max(rssPeak, v)), () => undefined), 100);
    const cpu0 = await cpuSeconds(pid);
    const wall0 = now();

    const share = Math.ceil(STREAMS / CLIENTS);
    for (let c = 0; c < CLIENTS; c += 1) {
      const count = Math.min(share, STREAMS - c * share);
      clients.push(fork(import.meta.filename, ['--client', '--url', `${base}/v1/events`, '--key', key, '--count', String(count), '--expect', String(EVENTS)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    const connected = await Promise.all(clients.map((child) => next(child, 'connected')));
    const streams = connected.reduce((n, m) => n + m.streams, 0);
    const failed = connected.reduce((n, m) => n + m.failed, 0);
    await sleep(1000);
    const rssConnected = await rssMiB(pid);

    const answers: number[] = [];
    for (let i = 0; i < EVENTS; i += 1) {
      await api(base, 'PATCH', `/v1/apps/${app.id}`, { name: `Bench ${i}` }, token);
      answers.push(now());
      await sleep(EVENT_GAP_MS);
    }
    // Every delivery is in, or 10 s passed.
    await sleep(2000);
    const rssAfter = await rssMiB(pid);
    const cpu1 = await cpuSeconds(pid);
    const wall = (now() - wall0) / 1000;
    clearInterval(sampler);

    const reports = await Promise.all(clients.map((child) => {
      const report = next(child, 'arrivals');
      child.send({ kind: 'report' });
      return report;
    }));
    // The i-th change made the i-th event (they were made one after the other).
    const ids = [...new Set(reports.flatMap((r) => r.arrivals.map(([id]) => id)))].sort((a, b) => a - b);
    const answerOf = new Map(ids.map((id, i) => [id, answers[i] ?? NaN]));
    const delays = reports.flatMap((r) => r.arrivals.map(([id, at]) => at - (answerOf.get(id) ?? NaN))).filter((d) => Number.isFinite(d)).sort((a, b) => a - b);
    return {
      streams_requested: STREAMS,
      streams_open: streams,
      streams_refused: failed,
      connect_seconds: Math.max(...connected.map((m) => m.seconds)),
      events: EVENTS,
      distinct_events_seen: ids.length,
      deliveries: delays.length,
      deliveries_expected: streams * EVENTS,
      streams_closed_early: reports.reduce((n, r) => n + r.closedEarly, 0),
      delay_ms: { min: percentile(delays, 0), p50: percentile(delays, 0.5), p99: percentile(delays, 0.99), max: round(delays.at(-1) ?? NaN, 1) },
      rss_mib: { before: round(rssBefore), connected: round(rssConnected), after_events: round(rssAfter), peak: round(rssPeak) },
      rss_growth_mib: round(Math.max(rssAfter, rssConnected) - rssBefore),
      server_cpu_seconds: round(cpu1 - cpu0, 2),
      seconds: round(wall, 1),
    };
  } finally {
    const exited = new Promise((r) => server.once('exit', r));
    const closing = now();
    server.kill('SIGTERM');
    await exited;
    console.log(`server exited ${round((now() - closing) / 1000, 2)} s after SIGTERM, its streams open until then`);
    for (const child of clients) child.kill();
  }
}

async function main(): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  const work = await mkdtemp(path.join(RESULTS, 'sse-'));
  // A copy of dist/: a build running beside the benchmark cannot change it midway.
  const dist = path.join(work, 'dist');
  await cp(argString('--dist') ?? path.join(ROOT, 'dist'), dist, { recursive: true });
  await writeFile(path.join(work, 'package.json'), await readFile(path.join(ROOT, 'package.json')));
  try {
    const out = { date: new Date().toISOString(), node: process.version, ...(await run(dist, work)) };
    console.log(JSON.stringify(out, null, 2));
    await writeFile(path.join(RESULTS, 'sse.json'), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv.includes('--client')) await client();
else await main();
