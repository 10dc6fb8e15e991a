import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

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
