import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { sampleApp } from '../src/cli/sample-app.js';
import { buildPackage } from '../src/package/build.js';

/** Shared by the benchmarks: the size argument, the disk's own speed, and the portal process under measurement. */

export const MiB = 1024 * 1024;

/** The `--mib N` argument, or `fallback`. */
export function sizeMiB(fallback: number): number {
  const at = process.argv.indexOf('--mib');
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

/** Sequential write speed of the disk under `dir` in MiB/s, fsync included like a committed upload. */
export function ddMiBps(dir: string, mib: number): number {
  const file = path.join(dir, 'dd.bin');
  const started = process.hrtime.bigint();
  execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`, 'conv=fsync'], { stdio: 'ignore' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  execFileSync('rm', ['-f', file]);
  return mib / seconds;
}

/** A free TCP port on 127.0.0.1 for a portal under measurement. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** A process's resident memory now, in MiB. */
export const rssMiB = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** CPU seconds (user + system, every thread) a process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Until `url` answers 2xx (a minute at most). */
export async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 1200; i += 1) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer`);
}

/** One JSON API call; a non-2xx answer throws with its body. */
export async function api<T>(base: string, method: string, url: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The node flags `npm start` runs the portal with (package.json), so the server measured is the one operators start. */
export async function startFlags(root: string): Promise<string[]> {
  const { scripts } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return scripts.start.split(' ').filter((word) => word.startsWith('--'));
}

/**
 * A signed package of `mib` MiB of incompressible assets (the sample app plus random files), built
 * in `work`: the upload benchmarks' payload. Returns its path, size and the developer key's public half.
 */
export async function buildBigPackage(work: string, mib: number, packageId = 'com.example.big'): Promise<{ file: string; size: number; publicKey: KeyObject }> {
  const appDir = path.join(work, 'app');
  for (const file of sampleApp({ id: packageId, name: 'Big' })) {
    await mkdir(path.dirname(path.join(appDir, file.path)), { recursive: true });
    await writeFile(path.join(appDir, file.path), file.data);
  }
  for (let i = 0; i * 32 < mib; i += 1) await writeFile(path.join(appDir, 'assets', `blob-${i}.bin`), randomBytes(Math.min(32, mib - i * 32) * MiB));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const file = path.join(work, 'big.mosis');
  await buildPackage(appDir, { privateKey, out: file });
  await rm(appDir, { recursive: true });
  return { file, size: (await stat(file)).size, publicKey };
}

/** Resident memory (VmRSS now, or VmHWM: the peak since the last `resetPeak`) in KiB. */
export async function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/** Resets a process's VmHWM, so the next reading is the peak of what follows. */
export const resetPeak = (pid: number) => writeFile(`/proc/${pid}/clear_refs`, '5');

/** Streams `file` as a version upload (1 MiB reads, like a CLI) and resolves with the answer's status and body. */
export function streamUpload(base: string, appId: string, token: string, file: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/apps/${appId}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    createReadStream(file, { highWaterMark: MiB }).pipe(req);
  });
}
