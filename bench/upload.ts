/**
 * Upload benchmark: streams a large signed package into a running portal process and reports the
 * server's resident memory growth and throughput, next to the disk's own sequential write speed
 * (dd with fsync, same filesystem, right before and right after the upload; the ratio is taken
 * against the faster of the two).
 *
 *   npx tsx bench/upload.ts [--mib 1024] [--profile]
 *
 * --profile writes the server's CPU profile to bench/results/profiles/ (open it in Chrome DevTools).
 */
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { sampleApp } from '../src/cli/sample-app.js';
import { buildPackage } from '../src/package/build.js';
import { rawPublicKey } from '../src/package/keys.js';
import { ddMiBps, MiB, sizeMiB } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SIZE_MIB = sizeMiB(1024);
const PROFILE = process.argv.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, 'bench', 'results', 'profiles')}`] : [];

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(s)?.[1] ?? 0));
}

/** CPU seconds (user + system) the process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function json(base: string, method: string, url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(base + url, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(ROOT, 'bench', 'results', 'upload-'));
  const dataDir = path.join(work, 'data');
  const appDir = path.join(work, 'app');
  console.log(`building a ${SIZE_MIB} MiB package of incompressible assets…`);
  for (const file of sampleApp({ id: 'com.example.big', name: 'Big' })) {
    await mkdir(path.dirname(path.join(appDir, file.path)), { recursive: true });
    await writeFile(path.join(appDir, file.path), file.data);
  }
  const chunk = 32 * MiB;
  for (let i = 0; i * 32 < SIZE_MIB; i += 1) await writeFile(path.join(appDir, 'assets', `blob-${i}.bin`), randomBytes(Math.min(chunk, (SIZE_MIB - i * 32) * MiB)));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pkg = path.join(work, 'big.mosis');
  await buildPackage(appDir, { privateKey, out: pkg });
  const size = (await stat(pkg)).size;
  await rm(appDir, { recursive: true });
  // Nothing written before the measurement may still be on its way to the disk during it.
  execFileSync('sync');

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...PROFILE, path.join(ROOT, 'dist/main.js'), 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', MAX_PACKAGE_BYTES: String(4096 * MiB), MAX_PACKAGE_INFLATED_BYTES: String(4096 * MiB) },
    stdio: 'inherit',
  });
  try {
    for (let i = 0; i < 300; i += 1) {
      if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await json(base, 'POST', '/v1/auth/register', { email: 'bench@example.com', password: 'benchmark password 1', name: 'Bench' });
    const session = await json(base, 'POST', '/v1/auth/login', { email: 'bench@example.com', password: 'benchmark password 1' });
    const token = String(session['access_token']);
    await json(base, 'POST', '/v1/signing-keys', { name: 'bench', public_key: rawPublicKey(publicKey).toString('base64') }, token);
    const app = await json(base, 'POST', '/v1/apps', { package_id: 'com.example.big', name: 'Big' }, token);
    const pid = child.pid ?? 0;

    const ddBefore = ddMiBps(work, Math.min(SIZE_MIB, 1024));
    const baseline = await rssKiB(pid, 'VmRSS');
    await writeFile(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM so it measures this upload only
    let sampledPeak = baseline;
    const sampler = setInterval(() => void rssKiB(pid, 'VmRSS').then((v) => (sampledPeak = Math.max(sampledPeak, v))), 20);
    const serverCpuBefore = await cpuSeconds(pid);
    const clientCpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/v1/apps/${String(app['id'])}/versions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      createReadStream(pkg, { highWaterMark: 1024 * 1024 }).pipe(req);
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const serverCpu = (await cpuSeconds(pid)) - serverCpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    clearInterval(sampler);
    const hwm = await rssKiB(pid, 'VmHWM');
    const peak = Math.max(hwm, sampledPeak);
    execFileSync('sync');
    const ddAfter = ddMiBps(work, Math.min(SIZE_MIB, 1024));
    // The faster of the two: the harder comparison for the upload.
    const dd = Math.max(ddBefore, ddAfter);
    const result = {
      package_mib: +(size / MiB).toFixed(1),
      status,
      seconds: +seconds.toFixed(2),
      throughput_mib_s: +(size / MiB / seconds).toFixed(1),
      dd_write_mib_s: +dd.toFixed(1),
      dd_before_after_mib_s: `${ddBefore.toFixed(0)} / ${ddAfter.toFixed(0)}`,
      ratio_to_dd: +((size / MiB / seconds) / dd).toFixed(2),
      server_cpu_s: +serverCpu.toFixed(2),
      client_cpu_s: +((clientCpu.user + clientCpu.system) / 1e6).toFixed(2),
      rss_baseline_mib: +(baseline / 1024).toFixed(1),
      rss_peak_mib: +(peak / 1024).toFixed(1),
      rss_growth_mib: +((peak - baseline) / 1024).toFixed(1),
    };
    console.table(result);
    await writeFile(path.join(ROOT, 'bench', 'results', 'upload.json'), JSON.stringify(result, null, 2));
    if (status !== 201) throw new Error(`the upload answered ${status}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(work, { recursive: true, force: true });
  }
}

await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
await main();
