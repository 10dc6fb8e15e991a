import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Shared by the benchmarks: the size argument and the disk's own speed. */

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
