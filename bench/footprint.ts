/**
 * The footprint figures of issue 15, each side by side with its reference in the same run:
 *
 * - cold start: from spawn to the first 200 of GET /readyz, `npm start`'s node flags, on an
 *   existing database (migrated, with --apps N published apps, default 10 000: the store builds its
 *   read model over them after it listens), R rounds (default 9) alternating with bare Fastify
 *   (bench/bare-fastify.mjs: Fastify, one route, no plugin) from spawn to its first 200;
 * - idle RSS: each process 25 s after it answered, once; the portal on a freshly migrated
 *   database (what the target is about) and on the seeded one (its store read model included).
 *
 * The portal is the build in dist/ (`npm run bench` builds first). Target (issue 15): start within
 * 1.5 s, idle RSS at most 96 MiB.
 *
 *   node --import tsx bench/footprint.ts [--apps N] [--rounds R]
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { seedStore } from './store-seed.js';
import { freePort, rssMiB, startFlags } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { apps: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '9' } } });
const APPS = Number(values.apps);
const ROUNDS = Number(values.rounds);
const IDLE_MS = 25_000;

interface Started {
  child: ChildProcess;
  ms: number;
}

/** Spawns `args` and returns once `url` answers 200, with the time since the spawn. */
async function start(args: string[], env: NodeJS.ProcessEnv, url: string): Promise<Started> {
  const begun = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return { child, ms: performance.now() - begun };
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const dataDir = await mkdtemp(path.join(tmpdir(), 'mosis-footprint-'));
const emptyDir = await mkdtemp(path.join(tmpdir(), 'mosis-footprint-empty-'));
try {
  const flags = await startFlags(ROOT);
  const port = await freePort();
  const portalEnv = { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  const bareEnv = { ...process.env, PORT: String(port) };
  for (const dir of [dataDir, emptyDir]) execFileSync(process.execPath, [path.join(ROOT, 'dist/main.js'), 'migrate'], { env: { ...portalEnv, DATA_DIR: dir }, stdio: 'ignore' });
  await mkdir(path.join(dataDir, 'packages'), { recursive: true });
  await seedStore(dataDir, { apps: APPS, packageMiB: 1 });
  const portal = (dir = dataDir) => start([...flags, path.join(ROOT, 'dist/main.js'), 'serve'], { ...portalEnv, DATA_DIR: dir }, `http://127.0.0.1:${port}/readyz`);
  const bare = () => start([path.join(ROOT, 'bench/bare-fastify.mjs')], bareEnv, `http://127.0.0.1:${port}/hello`);

  // One start of each first: the page cache holds the files the rounds read, as on a NAS that has run the portal before.
  for (const once of [() => portal(), bare]) await stop((await once()).child);
  const portalMs: number[] = [];
  const bareMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [once, into] of [[() => portal(), portalMs], [bare, bareMs]] as const) {
      const { child, ms } = await once();
      into.push(Math.round(ms));
      await stop(child);
    }
  }
  const idle = async (once: () => Promise<Started>) => {
    const { child } = await once();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const rss = await rssMiB(child.pid ?? 0);
    await stop(child);
    return Math.round(rss * 10) / 10;
  };
  const result = {
    apps: APPS,
    rounds: ROUNDS,
    node: process.version,
    cold_start_ms: { portal: { median: median(portalMs), all: portalMs }, bare_fastify: { median: median(bareMs), all: bareMs } },
    idle_rss_mib: { portal_empty_database: await idle(() => portal(emptyDir)), portal_seeded: await idle(() => portal()), bare_fastify: await idle(bare) },
  };
  console.log(JSON.stringify(result, null, 2));
  await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(path.join(ROOT, 'bench/results/footprint.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await rm(dataDir, { recursive: true, force: true });
  await rm(emptyDir, { recursive: true, force: true });
}
