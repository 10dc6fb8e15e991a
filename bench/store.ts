/**
 * Store benchmark (issue 12): the device-facing store of a running `mosis-portal serve` (compiled
 * dist/, default log level, rate limit off) over a seeded catalog, side by side in the same run
 * with its references on the same machine:
 * - the Go peer (/work/shared/peers/go-chi: Go + Chi + SQLite) for catalog pages,
 * - a bare Fastify route answering a constant object (bench/bare-fastify.mjs) for app detail and
 *   the update check,
 * - a bare `fs.createReadStream(file).pipe(res)` server (bench/store-file-server.mjs) for downloads.
 * The references are measured before and after the portal; ratios are taken against the faster.
 * Load: wrk -t1 -c50 (-c20 for downloads), a 2 s warm-up then the measured run.
 *
 *   node --import tsx bench/store.ts [--apps 100000] [--seconds 10] [--keep] [--profile] [--no-wait]
 *
 * Before each measurement it waits (up to 45 s) for the machine to be idle; --no-wait
 * skips that (for a quick check of the script itself).
 * --profile writes the portal's CPU profile to bench/results/profiles/; --keep leaves the seeded
 * DATA_DIR in bench/results/store-* for a second look.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEVICE_VERSION, packageIdOf, seedPeer, seedStore } from './store-seed.js';
import { MiB } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const PEER_DIR = '/work/shared/peers/go-chi';
const PEER_BIN = path.join(RESULTS, 'peer-go');
const argNumber = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const APPS = argNumber('--apps', 100_000);
const SECONDS = argNumber('--seconds', 10);
const KEEP = process.argv.includes('--keep');
const NO_WAIT = process.argv.includes('--no-wait');
const PROFILE = process.argv.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${path.join(RESULTS, 'profiles')}`] : [];
const PACKAGE_MIB = 50;
/** The compiled portal, copied at the start: a build running beside the benchmark cannot change it midway. */
let DIST = path.join(ROOT, 'dist');
const CONNECTIONS = 50;
const DOWNLOADS = 20;
const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1) => Number(n.toFixed(digits));

// ---------------------------------------------------------------- processes

interface Server {
  name: string;
  child: ChildProcess;
  base: string;
  pid: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function start(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, port: number, logFile: string): Server {
  const log = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', log, log] });
  const server = { name, child, base: `http://127.0.0.1:${port}`, pid: child.pid ?? 0 };
  child.once('exit', (code, signal) => {
    if (!stopping.has(child)) console.error(`${name} exited early (${code ?? signal}); see ${logFile}`);
  });
  return server;
}

const stopping = new Set<ChildProcess>();
async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  stopping.add(server.child);
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(url: string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await sleep(20);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

function status(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/status`, 'utf8');
}
const field = (text: string, name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
const rssMiB = async (pid: number) => field(await status(pid), 'VmRSS');

// ---------------------------------------------------------------- wrk

interface WrkResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  transfer_mib_s: number;
  requests: number;
  non_2xx: number;
  socket_errors: number;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function toMiB(value: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB|TB)$/.exec(value.trim());
  if (!m) return NaN;
  // wrk's units are binary (1 KB = 1024 B).
  return Number(m[1]) * 1024 ** ['B', 'KB', 'MB', 'GB', 'TB'].indexOf(m[2]!) / MiB;
}

function parseWrk(out: string): WrkResult {
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50_ms: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    p99_ms: toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    max_ms: toMs(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? ''),
    transfer_mib_s: toMiB(/Transfer\/sec:\s+(\S+)/.exec(out)?.[1] ?? ''),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    non_2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socket_errors: socket ? socket.slice(1).reduce((s, n) => s + Number(n), 0) : 0,
  };
}

/** Share of both cores busy over `ms` (ours idle at that moment), from /proc/stat. */
async function busyShare(ms: number): Promise<number> {
  const sample = async () => {
    const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: cpu[3]! + cpu[4]!, total: cpu.reduce((a, b) => a + b, 0) };
  };
  const a = await sample();
  await sleep(ms);
  const b = await sample();
  return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
}

/**
 * The machine is shared: before each measurement, wait (up to 45 s) until nothing else
 * keeps the cores busy, and keep what was seen with the result.
 */
async function quiet(): Promise<{ busy_before: number; waited_s: number }> {
  const started = Date.now();
  let busy = await busyShare(500);
  while (!NO_WAIT && busy > 0.15 && Date.now() - started < 45_000) {
    await sleep(1000);
    busy = await busyShare(500);
  }
  return { busy_before: round(busy, 2), waited_s: round((Date.now() - started) / 1000) };
}

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Busy and total CPU seconds of the whole machine so far (all cores). */
async function machineSeconds(): Promise<{ busy: number; total: number }> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: (total - cpu[3]! - cpu[4]!) / 100, total: total / 100 };
}

async function wrk(server: Server, url: string, opts: { script?: string; connections?: number; seconds?: number } = {}): Promise<WrkResult & { busy_before: number; waited_s: number; other_cpu_share: number; server_cpu_s: number; wrk_cpu_s: number }> {
  const connections = opts.connections ?? CONNECTIONS;
  // wrk's default 2 s timeout would cut 50 MiB downloads short; a request that slow is a result too.
  const args = (seconds: number) => ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '--latency', ...(opts.script ? ['-s', opts.script] : []), url];
  // Warm-up: JIT, caches and connections settle before the measured run.
  const machine = await quiet();
  await execFileAsync('wrk', args(2));
  const [m0, s0, own0] = [await machineSeconds(), await cpuSeconds(server.pid), process.cpuUsage()];
  // Through bash, whose `times` reports the CPU its child (wrk) used.
  const { stdout } = await execFileAsync('bash', ['-c', 'wrk "$@"; times', 'wrk', ...args(opts.seconds ?? SECONDS)]);
  const [m1, s1, own] = [await machineSeconds(), await cpuSeconds(server.pid), process.cpuUsage(own0)];
  const times = [...(stdout.trim().split('\n').at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((t) => Number(t[1]) * 60 + Number(t[2]));
  const wrkCpu = (times[0] ?? 0) + (times[1] ?? 0);
  const serverCpu = s1 - s0;
  // What else ran on the machine during the measurement, as a share of all its cores' time.
  const other = Math.max(0, m1.busy - m0.busy - serverCpu - wrkCpu - (own.user + own.system) / 1e6) / Math.max(0.001, m1.total - m0.total);
  const result = parseWrk(stdout);
  if (Number.isNaN(result.rps)) throw new Error(`wrk failed on ${url}: ${stdout}`);
  if (result.non_2xx > 0 || result.socket_errors > 0) console.warn(`${url}: ${result.non_2xx} non-2xx, ${result.socket_errors} socket errors`);
  if (other > 0.1) console.warn(`${url}: other work took ${Math.round(other * 100)} % of the machine during the measurement`);
  return { ...result, ...machine, other_cpu_share: round(other, 2), server_cpu_s: round(serverCpu), wrk_cpu_s: round(wrkCpu) };
}

/** A wrk script: detail requests for random apps of the catalog from one of 1 000 devices. */
function detailScript(prefix: string, apps: number, device: boolean): string {
  return `math.randomseed(7)
${device ? `wrk.headers["X-Mosis-Version"] = "${DEVICE_VERSION}"` : ''}
request = function()
  local path = string.format("${prefix}%05d", math.random(0, ${apps - 1}))
  ${device ? 'wrk.headers["X-Mosis-Device"] = "bench-device-" .. math.random(1, 1000)' : ''}
  return wrk.format("GET", path)
end
`;
}

/** A wrk script: the same update check (50 installed apps) from one of 1 000 devices. */
function updatesScript(body: string): string {
  return `math.randomseed(11)
wrk.method = "POST"
wrk.body = '${body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Mosis-Version"] = "${DEVICE_VERSION}"
request = function()
  wrk.headers["X-Mosis-Device"] = "bench-device-" .. math.random(1, 1000)
  return wrk.format()
end
`;
}

/** A wrk script: every download from a device of its own, as a real download would be counted. */
const downloadScript = `local n = 0
request = function()
  n = n + 1
  wrk.headers["X-Mosis-Device"] = "bench-download-" .. n
  return wrk.format("GET")
end
`;

/** wrk with 20 parallel downloads, the server's RSS sampled every 20 ms and its VmHWM reset before. */
async function downloads(server: Server, url: string, script?: string): Promise<Awaited<ReturnType<typeof wrk>> & { rss_before_mib: number; rss_peak_mib: number; rss_growth_mib: number }> {
  // The warm-up run is part of wrk(); the memory is measured over both runs, from a fresh HWM.
  const before = await rssMiB(server.pid);
  await writeFile(`/proc/${server.pid}/clear_refs`, '5');
  let peak = before;
  const sampler = setInterval(() => void rssMiB(server.pid).then((v) => (peak = Math.max(peak, v)), () => undefined), 20);
  try {
    const result = await wrk(server, url, { connections: DOWNLOADS, ...(script ? { script } : {}) });
    peak = Math.max(peak, field(await status(server.pid), 'VmHWM'));
    return { ...result, rss_before_mib: round(before), rss_peak_mib: round(peak), rss_growth_mib: round(peak - before) };
  } finally {
    clearInterval(sampler);
  }
}

// ---------------------------------------------------------------- the portal

/**
 * Loaded into the portal (`node --expose-gc --import <this>`): on SIGWINCH (close-with-grace takes SIGUSR2 for shutdown) it forces a full garbage
 * collection and writes process.memoryUsage() to $MEMORY_PROBE_FILE, so the model's heap can be read
 * from outside without a heap snapshot. A data: URL, so the portal loads no file and no loader of
 * the benchmark's; idle otherwise.
 */
const MEMORY_PROBE = `data:text/javascript,${encodeURIComponent(`
import { writeFileSync } from 'node:fs';
const out = process.env.MEMORY_PROBE_FILE;
if (out) process.on('SIGWINCH', () => {
  globalThis.gc(); globalThis.gc();
  writeFileSync(out, JSON.stringify(process.memoryUsage()));
});`)}`;

interface Memory {
  rss_mib: number;
  rss_after_gc_mib: number;
  heap_used_after_gc_mib: number;
  external_after_gc_mib: number;
}

/** RSS as it is, then (through the probe) heap and RSS after a forced full GC. */
async function memory(server: Server, probeFile: string): Promise<Memory> {
  const rss = await rssMiB(server.pid);
  await rm(probeFile, { force: true });
  process.kill(server.pid, 'SIGWINCH');
  for (let i = 0; i < 250 && !existsSync(probeFile); i += 1) await sleep(20);
  const after = JSON.parse(await readFile(probeFile, 'utf8')) as NodeJS.MemoryUsage;
  return {
    rss_mib: round(rss),
    rss_after_gc_mib: round(after.rss / MiB),
    heap_used_after_gc_mib: round(after.heapUsed / MiB),
    // Buffers live outside the heap; arrayBuffers is part of external.
    external_after_gc_mib: round(after.external / MiB),
  };
}

/** Milliseconds from `spawnedAt` (wall clock) to the portal's first log line with this message; null if none yet. */
async function loggedAt(logFile: string, message: string, spawnedAt: number): Promise<number | null> {
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line.includes(`"msg":"${message}"`)) continue;
    const entry = JSON.parse(line) as { time: number };
    return entry.time - spawnedAt;
  }
  return null;
}

async function startPortal(name: string, dataDir: string, work: string): Promise<Server & { probe: string; startedAt: number; spawnedAt: number; logFile: string }> {
  const port = await freePort();
  const probe = path.join(work, `${name}-memory.json`);
  // The default log level on purpose: the portal is measured as it runs in production.
  const { LOG_LEVEL: _ignored, ...env } = process.env;
  const logFile = path.join(work, `${name}.log`);
  const startedAt = performance.now();
  const spawnedAt = Date.now();
  const server = start(
    name,
    process.execPath,
    ['--expose-gc', '--import', MEMORY_PROBE, ...PROFILE, path.join(DIST, 'main.js'), 'serve'],
    { ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, STORE_RATE_LIMIT_PER_MINUTE: '0', MEMORY_PROBE_FILE: probe },
    port,
    logFile,
  );
  return { ...server, probe, startedAt, spawnedAt, logFile };
}

/**
 * Milliseconds from the portal's spawn until `url` first answered 200 (null if it did not within
 * five minutes), and the statuses it gave before.
 */
async function firstOk(base: string, url: string, startedAt: number, init?: RequestInit): Promise<{ ms: number | null; before: Record<string, number> }> {
  const before: Record<string, number> = {};
  while (performance.now() - startedAt < 300_000) {
    const res = await fetch(base + url, init).catch(() => null);
    if (res) {
      await res.arrayBuffer();
      if (res.status === 200) return { ms: Math.round(performance.now() - startedAt), before };
      before[res.status] = (before[res.status] ?? 0) + 1;
    }
    await sleep(5);
  }
  return { ms: null, before };
}

async function getJson(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** A cursor `depth` apps into the catalog in this order (followed page by page, as a device would). */
async function cursorAt(base: string, sort: string, depth: number): Promise<string> {
  let cursor: string | null = null;
  for (let seen = 0; seen < depth; ) {
    const page = await getJson(`${base}/v1/store/apps?sort=${sort}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const items = page['items'] as unknown[];
    cursor = page['next_cursor'] as string | null;
    if (cursor === null || items.length === 0) throw new Error(`sort=${sort} ended after ${seen + items.length} apps`);
    seen += items.length;
  }
  return cursor!;
}

async function checkPage(url: string): Promise<void> {
  const page = await getJson(url);
  const items = page['items'] as unknown[];
  if (items.length !== 20 || typeof page['next_cursor'] !== 'string') throw new Error(`${url}: ${items.length} items, next_cursor ${String(page['next_cursor'])}`);
}

// ---------------------------------------------------------------- the run

async function references(work: string, peerDb: string, packageFile: string, floorFile?: string) {
  const peerPort = await freePort();
  const peer = start('peer-go', PEER_BIN, [], { ...process.env, DB: peerDb, ADDR: `127.0.0.1:${peerPort}` }, peerPort, path.join(work, 'peer-go.log'));
  let go;
  try {
    await waitFor(`${peer.base}/hello`);
    await checkPage(`${peer.base}/v1/store/apps?cursor=${APPS / 2}`);
    go = {
      constant: await wrk(peer, `${peer.base}/hello`),
      page_first: await wrk(peer, `${peer.base}/v1/store/apps?cursor=0`),
      page_deep: await wrk(peer, `${peer.base}/v1/store/apps?cursor=${APPS / 2}`),
      detail: await wrk(peer, `${peer.base}/v1/store/apps/`, { script: await script(work, 'peer-detail.lua', detailScript('/v1/store/apps/com.bench.app', APPS, false)) }),
      rss_mib: round(await rssMiB(peer.pid)),
    };
  } finally {
    await stop(peer);
  }

  const barePort = await freePort();
  const bare = start('bare-fastify', process.execPath, [path.join(ROOT, 'bench', 'bare-fastify.mjs')], { ...process.env, PORT: String(barePort), ...(floorFile ? { FLOOR: floorFile } : {}) }, barePort, path.join(work, 'bare.log'));
  let fastify: { constant: Awaited<ReturnType<typeof wrk>>; floor?: { detail: Awaited<ReturnType<typeof wrk>>; updates: Awaited<ReturnType<typeof wrk>> } };
  try {
    await waitFor(`${bare.base}/hello`);
    fastify = { constant: await wrk(bare, `${bare.base}/hello`) };
    if (floorFile) {
      fastify.floor = {
        detail: await wrk(bare, `${bare.base}/floor/detail/`, { script: path.join(work, 'floor-detail.lua') }),
        updates: await wrk(bare, `${bare.base}/floor/updates`, { script: path.join(work, 'updates.lua') }),
      };
    }
  } finally {
    await stop(bare);
  }

  const filePort = await freePort();
  const files = start('file-server', process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'store-file-server.ts')], { ...process.env, PORT: String(filePort), FILE: packageFile }, filePort, path.join(work, 'file.log'));
  let stream;
  try {
    await waitFor(`${files.base}/`);
    stream = await downloads(files, `${files.base}/package.mosis`);
  } finally {
    await stop(files);
  }
  return { go, fastify, stream };
}

async function script(work: string, name: string, text: string): Promise<string> {
  const file = path.join(work, name);
  await writeFile(file, text);
  return file;
}

async function main(): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk prints its usage and exits 1 for --version; only a missing binary is a problem.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('wrk is missing: apt-get install -y wrk', { cause: err });
  }
  if (!existsSync(PEER_BIN)) execFileSync(path.join(PEER_DIR, 'build.sh'), [PEER_BIN], { stdio: 'inherit' });
  const work = await mkdtemp(path.join(RESULTS, 'store-'));
  const emptyDir = path.join(work, 'empty');
  const seededDir = path.join(work, 'seeded');
  // Inside bench/results, so the copy still finds the project's node_modules. Not named dist/: a
  // `pkill -f dist/main.js` meant for someone else's portal took this one down mid-run once.
  DIST = path.join(work, 'build');
  await cp(path.join(ROOT, 'dist'), DIST, { recursive: true });
  await cp(path.join(ROOT, 'package.json'), path.join(work, 'package.json')); // the portal reads its version from ../package.json
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  const migrate = (dataDir: string) => execFileSync(process.execPath, [path.join(DIST, 'main.js'), 'migrate'], { env: { ...process.env, DATA_DIR: dataDir }, stdio: 'ignore' });
  try {
    console.log(`seeding ${APPS} apps…`);
    migrate(emptyDir);
    migrate(seededDir);
    const seed = await seedStore(seededDir, { apps: APPS, packageMiB: PACKAGE_MIB });
    const peerDb = path.join(work, 'peer.db');
    seedPeer(peerDb, APPS);
    console.log(`seeded ${seed.apps} apps / ${seed.versions} versions / ${seed.downloadRows} download rows in ${seed.seconds.toFixed(1)} s (${seed.dbMiB.toFixed(0)} MiB)`);
    execFileSync('sync');

    console.log('references (before)…');
    const refsBefore = await references(work, peerDb, seed.packageFile);

    // The portal over an empty catalog: the baseline the model's memory is measured against.
    console.log('portal, empty catalog…');
    const warmUp = async (base: string) => {
      const detail = await script(work, 'warm-detail.lua', detailScript('/v1/store/apps/com.bench.app', APPS, true));
      for (const url of [`${base}/v1/store/apps?sort=name&limit=20`, `${base}/v1/store/apps?sort=popular&limit=20`]) await execFileAsync('wrk', ['-t1', `-c${CONNECTIONS}`, '-d3s', url]);
      await execFileAsync('wrk', ['-t1', `-c${CONNECTIONS}`, '-d3s', '-s', detail, `${base}/v1/store/apps/`]);
    };
    const empty = await startPortal('portal-empty', emptyDir, work);
    let emptyMemory: Memory, emptyReadyMs: number | null;
    try {
      // How long the portal takes to start at all, so the seeded cold start can be read against it.
      emptyReadyMs = (await firstOk(empty.base, '/readyz', empty.startedAt)).ms;
      await waitFor(`${empty.base}/v1/store/apps?sort=name&limit=20`);
      await warmUp(empty.base);
      emptyMemory = await memory(empty, empty.probe);
    } finally {
      await stop(empty);
    }

    console.log('portal, seeded catalog…');
    const portal = await startPortal('portal', seededDir, work);
    const device = { 'x-mosis-device': 'bench-device-1', 'x-mosis-version': DEVICE_VERSION };
    const detailUrl = `/v1/store/apps/${packageIdOf(Math.floor(APPS / 3))}`;
    let cold, seededMemory: Memory, afterLoadMemory: Memory, portalRuns, updatesSeen: number, headContentLength: number;
    const floorFile = path.join(work, 'floor.json');
    try {
      const [detail, catalog, index, ready] = await Promise.all([
        firstOk(portal.base, detailUrl, portal.startedAt, { headers: device }),
        firstOk(portal.base, '/v1/store/apps?sort=name&limit=20', portal.startedAt),
        firstOk(portal.base, '/v1/store/index.json', portal.startedAt),
        firstOk(portal.base, '/readyz', portal.startedAt),
      ]);
      cold = {
        empty_readyz_ms: emptyReadyMs,
        catalog_ordered_ms: await loggedAt(portal.logFile, 'store: catalog ordered', portal.spawnedAt),
        model_built_ms: await loggedAt(portal.logFile, 'store: read model built', portal.spawnedAt),
        signed_index_built_ms: await loggedAt(portal.logFile, 'store: signed index built', portal.spawnedAt),
        readyz_ms: ready.ms, detail_ms: detail.ms, catalog_ms: catalog.ms, index_json_ms: index.ms, index_json_before: index.before, detail_before: detail.before, catalog_before: catalog.before };
      console.log('cold start', cold);
      await warmUp(portal.base);
      seededMemory = await memory(portal, portal.probe);

      const nameDeep = await cursorAt(portal.base, 'name', APPS / 2);
      const popularDeep = await cursorAt(portal.base, 'popular', APPS / 2);
      const pages = {
        name_first: `${portal.base}/v1/store/apps?sort=name&limit=20`,
        name_deep: `${portal.base}/v1/store/apps?sort=name&limit=20&cursor=${encodeURIComponent(nameDeep)}`,
        popular_first: `${portal.base}/v1/store/apps?sort=popular&limit=20`,
        popular_deep: `${portal.base}/v1/store/apps?sort=popular&limit=20&cursor=${encodeURIComponent(popularDeep)}`,
      };
      for (const url of Object.values(pages)) await checkPage(url);
      const body = JSON.stringify({ installed: seed.installed });
      const updates = await getJson(`${portal.base}/v1/store/apps/updates`, { method: 'POST', headers: { ...device, 'content-type': 'application/json' }, body });
      updatesSeen = (updates['updates'] as unknown[]).length;
      if (updatesSeen !== seed.expectedUpdates) console.warn(`the update check offered ${updatesSeen} updates, ${seed.expectedUpdates} expected`);
      const downloadUrl = `${portal.base}/v1/store/packages/${seed.download.packageId}/${seed.download.versionCode}.mosis`;
      const got = await fetch(downloadUrl);
      const gotBytes = (await got.arrayBuffer()).byteLength;
      if (got.status !== 200 || gotBytes !== seed.download.size) throw new Error(`${downloadUrl}: GET ${got.status}, ${gotBytes} bytes`);
      const head = await fetch(downloadUrl, { method: 'HEAD' });
      headContentLength = Number(head.headers.get('content-length'));
      if (head.status !== 200 || headContentLength !== seed.download.size) console.warn(`${downloadUrl}: HEAD ${head.status} with content-length ${headContentLength}, ${seed.download.size} expected`);

      // The portal's own answers, for the bare route that sends the same bytes (references after).
      const answer = async (url: string, init?: RequestInit) => {
        const res = await fetch(url, init);
        const headers = Object.fromEntries([...res.headers].filter(([name]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name)));
        return { headers, body: await res.text() };
      };
      await writeFile(
        floorFile,
        JSON.stringify({
          detail: await answer(`${portal.base}/v1/store/apps/${packageIdOf(7)}`, { headers: device }),
          updates: await answer(`${portal.base}/v1/store/apps/updates`, { method: 'POST', headers: { ...device, 'content-type': 'application/json' }, body }),
        }),
      );
      await script(work, 'floor-detail.lua', detailScript('/floor/detail/com.bench.app', 100, true));

      portalRuns = {
        name_first: await wrk(portal, pages.name_first),
        name_deep: await wrk(portal, pages.name_deep),
        popular_first: await wrk(portal, pages.popular_first),
        popular_deep: await wrk(portal, pages.popular_deep),
        detail: await wrk(portal, `${portal.base}/v1/store/apps/`, { script: await script(work, 'detail.lua', detailScript('/v1/store/apps/com.bench.app', APPS, true)) }),
        // The same over 100 apps only: what a detail costs once the portal's caches hold it.
        detail_hot: await wrk(portal, `${portal.base}/v1/store/apps/`, { script: await script(work, 'detail-hot.lua', detailScript('/v1/store/apps/com.bench.app', 100, true)) }),
        updates: await wrk(portal, `${portal.base}/v1/store/apps/updates`, { script: await script(work, 'updates.lua', updatesScript(body)) }),
        download: await downloads(portal, downloadUrl, await script(work, 'download.lua', downloadScript)),
      };
      afterLoadMemory = await memory(portal, portal.probe);
    } finally {
      await stop(portal);
    }

    console.log('references (after)…');
    const refsAfter = await references(work, peerDb, seed.packageFile, floorFile);

    const best = (a: number, b: number) => Math.max(a, b);
    const goPage = best(refsBefore.go.page_first.rps, refsAfter.go.page_first.rps);
    const goDeep = best(refsBefore.go.page_deep.rps, refsAfter.go.page_deep.rps);
    const bare = best(refsBefore.fastify.constant.rps, refsAfter.fastify.constant.rps);
    const stream = best(refsBefore.stream.transfer_mib_s, refsAfter.stream.transfer_mib_s);
    const model = {
      rss_growth_mib: round(seededMemory.rss_mib - emptyMemory.rss_mib),
      rss_after_gc_growth_mib: round(seededMemory.rss_after_gc_mib - emptyMemory.rss_after_gc_mib),
      heap_used_growth_mib: round(seededMemory.heap_used_after_gc_mib - emptyMemory.heap_used_after_gc_mib),
    };
    const r = portalRuns;
    const targets = {
      catalog_name_first: { ratio: round(r.name_first.rps / goPage, 2), target: '>= 1.2 x Go page' },
      catalog_name_deep: { ratio: round(r.name_deep.rps / goDeep, 2), target: '>= 1.2 x Go page' },
      catalog_popular_first: { ratio: round(r.popular_first.rps / goPage, 2), target: '>= 1.2 x Go page' },
      catalog_popular_deep: { ratio: round(r.popular_deep.rps / goDeep, 2), target: '>= 1.2 x Go page' },
      detail: { ratio: round(r.detail.rps / bare, 2), p99_ms: r.detail.p99_ms, target: '>= 0.6 x bare Fastify, p99 < 20 ms' },
      updates: { ratio: round(r.updates.rps / bare, 2), p99_ms: r.updates.p99_ms, target: '>= 0.6 x bare Fastify, p99 < 20 ms' },
      download: { ratio: round(r.download.transfer_mib_s / stream, 2), rss_growth_mib: r.download.rss_growth_mib, target: '>= 0.5 x createReadStream, RSS growth < 32 MiB' },
      model_memory: { rss_growth_mib: model.rss_growth_mib, target: '<= 64 MiB' },
    };
    const met = {
      catalog_name_first: targets.catalog_name_first.ratio >= 1.2,
      catalog_name_deep: targets.catalog_name_deep.ratio >= 1.2,
      catalog_popular_first: targets.catalog_popular_first.ratio >= 1.2,
      catalog_popular_deep: targets.catalog_popular_deep.ratio >= 1.2,
      detail: targets.detail.ratio >= 0.6 && r.detail.p99_ms < 20,
      updates: targets.updates.ratio >= 0.6 && r.updates.p99_ms < 20,
      download: targets.download.ratio >= 0.5 && r.download.rss_growth_mib < 32,
      model_memory: model.rss_growth_mib <= 64,
    };
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: (await readFile('/proc/cpuinfo', 'utf8')).match(/^processor/gm)?.length ?? 0, node: process.version, load_generator: 'wrk 4.1 -t1 -c50 (downloads -c20), 2 s warm-up + measured run' },
      seconds: SECONDS,
      // dist/ as built from this commit, plus whatever src/ changes were uncommitted when it was built.
      portal_build: { commit, src_uncommitted_changes: dirty },
      // The largest share of the machine other processes took during any one measurement.
      busiest_measurement: Math.max(...[refsBefore, refsAfter].flatMap((x) => [x.go.constant, x.go.page_first, x.go.page_deep, x.go.detail, x.fastify.constant, x.stream]).concat(Object.values(portalRuns)).map((w) => w.other_cpu_share)),
      seed: { apps: seed.apps, versions: seed.versions, download_rows: seed.downloadRows, seconds: round(seed.seconds), db_mib: round(seed.dbMiB, 0), package_mib: PACKAGE_MIB, updates_expected: seed.expectedUpdates, updates_seen: updatesSeen, download_head_content_length: headContentLength },
      references: { before: refsBefore, after: refsAfter },
      portal: { cold_start: cold, memory: { empty: emptyMemory, seeded: seededMemory, seeded_after_load: afterLoadMemory, model }, runs: portalRuns },
      targets,
      met,
    };
    await writeFile(path.join(RESULTS, 'store.json'), JSON.stringify(result, null, 2));
    const markdown = table(result);
    await writeFile(path.join(RESULTS, 'store.md'), markdown + '\n');
    console.log(markdown);
    const missed = Object.entries(met).filter(([, ok]) => !ok).map(([k]) => k);
    console.log(missed.length === 0 ? 'every target met' : `missed: ${missed.join(', ')}`);
  } finally {
    if (!KEEP) await rm(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

/** The README's table, every number from this run. */
function table(r: {
  references: { before: Awaited<ReturnType<typeof references>>; after: Awaited<ReturnType<typeof references>> };
  portal: { runs: object; cold_start: object; memory: { empty: Memory; seeded: Memory; seeded_after_load: Memory; model: Record<string, number> } };
  seed: { seconds: number; db_mib: number };
  targets: object;
  met: object;
}): string {
  const rb = r.references.before;
  const ra = r.references.after;
  const k = (n: number) => `${(n / 1000).toFixed(1)} k`;
  const both = (a: number, b: number, f: (n: number) => string) => `${f(a)} / ${f(b)}`;
  const lat = (w: WrkResult) => `p50 ${w.p50_ms.toFixed(1)} ms, p99 ${w.p99_ms.toFixed(1)} ms`;
  const p = r.portal.runs as Record<string, WrkResult & { rss_growth_mib?: number }>;
  const targets = r.targets as Record<string, { ratio: number }>;
  const met = r.met as Record<string, boolean>;
  const mark = (key: string) => (met[key] ? 'met' : '**missed**');
  // The floor for answers of that size: the portal's throughput against a bare route sending its bytes.
  const floorRow = (name: string, floor: WrkResult | undefined, portal: WrkResult, what: string): string[][] =>
    floor ? [[name, `${k(floor.rps)} req/s, ${lat(floor)}`, `(after only) of bare Fastify constant: ${(floor.rps / Math.max(rb.fastify.constant.rps, ra.fastify.constant.rps)).toFixed(2)}`, `${what}: ${(portal.rps / floor.rps).toFixed(2)} of it`, '(no target; the floor)']] : [];
  const rows = [
    ['scenario', 'portal', 'reference (before / after)', 'ratio', 'target'],
    ['---', '---', '---', '---', '---'],
    ['catalog `sort=name`, first page', `${k(p['name_first']!.rps)} req/s, ${lat(p['name_first']!)}`, `Go page after id 0: ${both(rb.go.page_first.rps, ra.go.page_first.rps, k)} req/s`, `${targets['catalog_name_first']!.ratio}`, `≥ 1.2 — ${mark('catalog_name_first')}`],
    ['catalog `sort=name`, page at app 50 000', `${k(p['name_deep']!.rps)} req/s, ${lat(p['name_deep']!)}`, `Go page after id 50 000: ${both(rb.go.page_deep.rps, ra.go.page_deep.rps, k)} req/s`, `${targets['catalog_name_deep']!.ratio}`, `≥ 1.2 — ${mark('catalog_name_deep')}`],
    ['catalog `sort=popular`, first page', `${k(p['popular_first']!.rps)} req/s, ${lat(p['popular_first']!)}`, 'Go page after id 0 (as above)', `${targets['catalog_popular_first']!.ratio}`, `≥ 1.2 — ${mark('catalog_popular_first')}`],
    ['catalog `sort=popular`, page at app 50 000', `${k(p['popular_deep']!.rps)} req/s, ${lat(p['popular_deep']!)}`, 'Go page after id 50 000 (as above)', `${targets['catalog_popular_deep']!.ratio}`, `≥ 1.2 — ${mark('catalog_popular_deep')}`],
    ['app detail (random app, device headers)', `${k(p['detail']!.rps)} req/s, ${lat(p['detail']!)}`, `bare Fastify constant: ${both(rb.fastify.constant.rps, ra.fastify.constant.rps, k)} req/s (Go detail ${both(rb.go.detail.rps, ra.go.detail.rps, k)})`, `${targets['detail']!.ratio}`, `≥ 0.6, p99 < 20 ms — ${mark('detail')}`],
    ['app detail, 100 apps only (cached)', `${k(p['detail_hot']!.rps)} req/s, ${lat(p['detail_hot']!)}`, 'bare Fastify constant (as above)', `${(p['detail_hot']!.rps / Math.max(rb.fastify.constant.rps, ra.fastify.constant.rps)).toFixed(2)}`, '(no target; for comparison)'],
    ...floorRow('app detail: bare Fastify sending the portal\'s detail answer (same bytes and headers)', ra.fastify.floor?.detail, p['detail_hot']!, 'cached detail'),
    ['update check, 50 installed / 10 updates', `${k(p['updates']!.rps)} req/s, ${lat(p['updates']!)}`, 'bare Fastify constant (as above)', `${targets['updates']!.ratio}`, `≥ 0.6, p99 < 20 ms — ${mark('updates')}`],
    ...floorRow('update check: bare Fastify taking the same POST and sending the portal\'s answer (same bytes and headers)', ra.fastify.floor?.updates, p['updates']!, 'update check'),
    ['50 MiB download, 20 parallel', `${p['download']!.transfer_mib_s.toFixed(0)} MiB/s, RSS growth ${p['download']!.rss_growth_mib} MiB`, `createReadStream: ${both(rb.stream.transfer_mib_s, ra.stream.transfer_mib_s, (n) => n.toFixed(0))} MiB/s, RSS growth ${rb.stream.rss_growth_mib} / ${ra.stream.rss_growth_mib} MiB`, `${targets['download']!.ratio}`, `≥ 0.5, growth < 32 MiB — ${mark('download')}`],
  ];
  const m = r.portal.memory;
  const c = r.portal.cold_start as Record<string, number | null>;
  const ms = (v: number | null | undefined) => (v == null ? 'never' : `${(v / 1000).toFixed(2)} s`);
  rows.push(
    [
      'store model memory',
      `RSS ${m.seeded.rss_mib} MiB seeded vs ${m.empty.rss_mib} MiB empty: **+${m.model['rss_growth_mib']} MiB**; after a forced GC RSS +${m.model['rss_after_gc_growth_mib']} MiB, heapUsed ${m.seeded.heap_used_after_gc_mib} vs ${m.empty.heap_used_after_gc_mib} MiB (+${m.model['heap_used_growth_mib']}); after the whole load RSS ${m.seeded_after_load.rss_mib} MiB`,
      '—',
      '—',
      `≤ 64 MiB — ${mark('model_memory')}`,
    ],
    [
      'cold start (from spawn, seeded)',
      `readyz ${ms(c['readyz_ms'])} (empty catalog: ${ms(c['empty_readyz_ms'])}), first detail 200 ${ms(c['detail_ms'])}, first catalog page 200 ${ms(c['catalog_ms'])}; the portal logged the catalog ordered at ${ms(c['catalog_ordered_ms'])}, the read model built (every version in) at ${ms(c['model_built_ms'])}, the signed index at ${ms(c['signed_index_built_ms'])} (index.json 200 ${ms(c['index_json_ms'])})`,
      '—',
      '—',
      'first requests before the whole model is built',
    ],
    ['seeding', `${r.seed.seconds} s, SQLite file ${r.seed.db_mib} MiB`, '—', '—', '—'],
  );
  return rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
}

await main();
