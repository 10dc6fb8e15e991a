import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { distBuilt } from '../support/dist.js';
import { freePort } from '../support/server-process.js';

// Docker cannot run where the suite runs, so this file does what the Dockerfile does, read from
// the Dockerfile itself: the deps stage's files and install command in an empty directory, the
// runtime stage's copies (dist/ is what the build stage's `npm run build` makes: the run built
// it), its environment with the volumes moved to a scratch directory, then its CMD and HEALTHCHECK.
// What this proves: `npm ci --omit=dev` gives everything the server loads (no dev dependency is
// needed at run time), and the image's command serves, reports ready and stops cleanly on SIGTERM.

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile's stages: continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [, image = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ image, name, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile: ${keyword} before FROM`);
      stage.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const one = (stage: Stage, keyword: string): string => {
  const found = all(stage, keyword);
  if (found.length !== 1) throw new Error(`the stage FROM ${stage.image} should have one ${keyword}, has ${found.length}`);
  return found[0]!;
};

/** A COPY: `--from=<stage>` or the build context, sources, destination (relative to WORKDIR). */
function parseCopy(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const from = words[0]?.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
  if (words.some((w) => w.startsWith('--'))) throw new Error(`COPY ${args}: an option this test does not know`);
  const dest = words.pop()!;
  return { from, sources: words, dest };
}

/** ENV k=v k=v (no quoting: the Dockerfile's values have no spaces). */
function parseEnv(args: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of args.flatMap((a) => a.split(/\s+/))) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`ENV ${pair}: only the k=v form is read here`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1)!;
const stageNamed = (name: string): Stage => {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`the Dockerfile has no stage named ${name}`);
  return stage;
};

/**
 * better-sqlite3's install step fetches a prebuilt binary for its version, Node ABI and platform
 * (in the image build) and compiles from source when it cannot (here: 90 CPU seconds, most of a
 * suite run). It also looks in a local folder first: this hands it the binary the checkout's own
 * install made for this very Node, so the command below runs unchanged and quickly.
 */
async function localPrebuilds(dir: string): Promise<Record<string, string>> {
  const sqlite = path.join(ROOT, 'node_modules/better-sqlite3');
  const { version } = JSON.parse(readFileSync(path.join(sqlite, 'package.json'), 'utf8')) as { version: string };
  const stage = path.join(dir, 'stage');
  await mkdir(path.join(stage, 'build/Release'), { recursive: true });
  await cp(path.join(sqlite, 'build/Release/better_sqlite3.node'), path.join(stage, 'build/Release/better_sqlite3.node'));
  const tarball = path.join(dir, `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
  await run('tar', ['-czf', tarball, '-C', stage, 'build']);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

/**
 * Known gaps, each with what the arm64 image does without it. Litestream: the npm registry this
 * project installs from has its linux-x64 package only, so there `replicate` (the image's CMD)
 * warns and serves without continuous replication (docs/litestream.md, Platforms).
 */
const NO_ARM64_BUILD = new Set(['node_modules/@flydotio/litestream-linux-arm64']);

describe('the image, built the way the Dockerfile builds it', () => {
  const scratch: string[] = [];
  afterAll(async () => {
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('puts every stage on one Node image and runs tini as PID 1', () => {
    // The deps stage compiles native modules for its Node's ABI: the runtime must be that Node.
    expect(new Set(stages.map((s) => s.image)).size).toBe(1);
    expect(JSON.parse(one(runtime, 'ENTRYPOINT'))).toEqual(['/usr/bin/tini', '--']);
    expect(one(runtime, 'USER')).toBe('node');
    expect(one(runtime, 'EXPOSE')).toBe('8080');
  });

  it('lists a linux-arm64 build of every linux-x64 dependency in the lock file', () => {
    // Every stage runs `npm ci` on the target platform, which installs what the lock file lists for
    // it: an optional dependency missing there leaves the arm64 image without, say, its image codec
    // or Litestream, or its build without the docs search indexer.
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { os?: string[]; cpu?: string[]; libc?: string[] }>;
    };
    const linuxX64 = Object.entries(lock.packages).filter(
      ([, p]) => p.os?.includes('linux') === true && p.cpu?.includes('x64') === true && p.libc?.includes('musl') !== true,
    );
    expect(linuxX64.length).toBeGreaterThan(0);
    const missing = linuxX64.map(([name]) => name.replace(/x64/g, 'arm64')).filter((name) => !(name in lock.packages) && !NO_ARM64_BUILD.has(name));
    expect(missing).toEqual([]);
  });

  it('installs production dependencies only, then its CMD serves, reports ready and stops cleanly on SIGTERM', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mosis-image-'));
    scratch.push(dir);
    const deps = stageNamed('deps');
    const workdir = one(deps, 'WORKDIR');
    expect(one(runtime, 'WORKDIR')).toBe(workdir);
    const app = path.join(dir, 'app');
    await mkdir(app);

    // The deps stage: its files from the build context, then its npm commands as written. Its
    // other commands install the compiler packages (apt-get), which this machine has.
    for (const copy of all(deps, 'COPY').map(parseCopy)) {
      expect(copy.from).toBeUndefined();
      for (const source of copy.sources) await cp(path.join(ROOT, source), path.join(app, copy.dest, path.basename(source)));
    }
    const commands = all(deps, 'RUN');
    const install = commands.filter((c) => c.startsWith('npm '));
    expect(install.join('\n')).toContain('npm ci --omit=dev');
    expect(commands.filter((c) => !c.startsWith('npm ') && !c.startsWith('apt-get '))).toEqual([]);
    const npmEnv = {
      // npm (a node script) runs on the Node running this test, so native modules match it.
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'] ?? tmpdir(),
      // The run's npm cache, and the headers a compile would need (.ci/node22 sets them for Node 22).
      ...(process.env['npm_config_cache'] ? { npm_config_cache: process.env['npm_config_cache'] } : {}),
      ...(process.env['npm_config_nodedir'] ? { npm_config_nodedir: process.env['npm_config_nodedir'] } : {}),
      ...(await localPrebuilds(path.join(dir, 'prebuilds'))),
    };
    const started = Date.now();
    for (const command of install) await run('sh', ['-c', command], { cwd: app, env: npmEnv, maxBuffer: 16 * 1024 * 1024 });
    const installSeconds = (Date.now() - started) / 1000;

    // Production dependencies only: nothing the lock file marks as a dev dependency was installed.
    const lock = JSON.parse(readFileSync(path.join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devInstalled = Object.entries(lock.packages).filter(([name, p]) => name !== '' && p.dev === true && existsSync(path.join(app, name)));
    expect(devInstalled.map(([name]) => name)).toEqual([]);
    expect(existsSync(path.join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);

    // The runtime stage: a fresh directory with only what it copies, from the deps stage (the
    // install above), the build stage (dist/, built by this run) or the build context.
    const image = path.join(dir, 'image');
    await mkdir(image);
    await distBuilt();
    const build = stageNamed('build');
    expect(one(build, 'WORKDIR')).toBe(workdir);
    for (const copy of all(runtime, 'COPY').map(parseCopy)) {
      for (const source of copy.sources) {
        let from: string;
        if (copy.from === undefined) from = path.join(ROOT, source);
        else if (copy.from === 'deps') from = path.join(app, path.relative(workdir, source));
        else if (copy.from === 'build') {
          // What the build stage makes: `npm run build`'s dist/, as the run built it here.
          expect(all(build, 'RUN')).toContain('npm run build');
          expect(source).toBe(path.posix.join(workdir, 'dist'));
          from = path.join(ROOT, 'dist');
        } else throw new Error(`COPY --from=${copy.from}: a stage this test does not know`);
        const to = copy.dest.endsWith('/') ? path.join(image, copy.dest, path.basename(source)) : path.join(image, copy.dest);
        // The deps stage is not used again: its files move (a copy of node_modules takes seconds).
        if (copy.from === 'deps') await rename(from, to);
        else await cp(from, to, { recursive: true, verbatimSymlinks: true });
      }
    }

    // Its environment, with each volume a scratch directory and the port a free one on loopback.
    const env: Record<string, string> = parseEnv(all(runtime, 'ENV'));
    const volumes = JSON.parse(one(runtime, 'VOLUME')) as string[];
    for (const [name, value] of Object.entries(env)) {
      if (volumes.includes(value)) {
        env[name] = path.join(dir, 'volumes', value);
        await mkdir(env[name], { recursive: true, mode: 0o700 });
      }
    }
    expect(Object.keys(env).filter((name) => name.endsWith('_DIR')).sort()).toEqual(['BACKUPS_DIR', 'DATA_DIR', 'PACKAGES_DIR']);
    const port = await freePort();
    Object.assign(env, { PORT: String(port), HOST: '127.0.0.1', PATH: npmEnv.PATH, HOME: npmEnv.HOME });

    const cmd = JSON.parse(one(runtime, 'CMD')) as string[];
    expect(cmd[0]).toBe('node');
    const child = spawn(process.execPath, cmd.slice(1), { cwd: image, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const output = () => Buffer.concat(chunks).toString('utf8');
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const baseUrl = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      let ready: { status: string } | undefined;
      while (ready === undefined && child.exitCode === null && Date.now() < deadline) {
        const res = await fetch(`${baseUrl}/readyz`).catch(() => undefined);
        if (res?.ok === true) ready = (await res.json()) as { status: string };
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready, `the image's CMD did not become ready:\n${output()}`).toEqual(expect.objectContaining({ status: 'ready' }));

      // The HEALTHCHECK command as written, with the image's environment.
      const healthcheck = /^(?:--\S+\s+)*CMD\s+(.+)$/.exec(one(runtime, 'HEALTHCHECK'))?.[1];
      expect(healthcheck).toBeDefined();
      await expect(run('sh', ['-c', healthcheck!], { env, cwd: image })).resolves.toBeDefined();

      // Litestream 0.3.13 can fail its own shutdown when SIGTERM lands while it writes a database's
      // first generation (a stat of its .wal.lz4.tmp races its shutdown sync; seen once in CI, exit
      // 1). A NAS portal is not stopped within a second of starting; wait for that first snapshot.
      if (output().includes('(Litestream,')) {
        const synced = Date.now() + 15_000;
        while (!/"msg":"snapshot written","db":"[^"]*portal\.db"/.test(output()) && Date.now() < synced) await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      expect({ code, signal }, output()).toEqual({ code: 0, signal: null });
      expect(output()).toContain('"msg":"shutting down"');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    console.log(`production install (${install.join(' && ')}): ${installSeconds.toFixed(1)} s`);
  });
});
