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
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rawPublicKey } from '../src/package/keys.js';
import { buildBigPackage, cpuSeconds, ddMiBps, freePort, memoryKiB, MiB, resetPeak, sizeMiB, streamUpload } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SIZE_MIB = sizeMiB(1024);
const PROFILE = process.argv.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, 'bench', 'results', 'profiles')}`] : [];

async function json(base: string, method: string, url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(base + url, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(ROOT, 'bench', 'results', 'upload-'));
  const dataDir = path.join(work, 'data');
  console.log(`building a ${SIZE_MIB} MiB package of incompressible assets…`);
  const { file: pkg, size, publicKey } = await buildBigPackage(work, SIZE_MIB);
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
    const baseline = await memoryKiB(pid, 'VmRSS');
    await resetPeak(pid); // so VmHWM measures this upload only
    let sampledPeak = baseline;
    const sampler = setInterval(() => void memoryKiB(pid, 'VmRSS').then((v) => (sampledPeak = Math.max(sampledPeak, v))), 20);
    const serverCpuBefore = await cpuSeconds(pid);
    const clientCpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const { status } = await streamUpload(base, String(app['id']), token, pkg, size);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const serverCpu = (await cpuSeconds(pid)) - serverCpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    clearInterval(sampler);
    const hwm = await memoryKiB(pid, 'VmHWM');
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
