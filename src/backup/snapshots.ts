import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE } from './manifest.js';

/**
 * Snapshot directories are named by their UTC time, `2026-11-27T13-07-00Z` (no colons: NAS shares
 * over SMB refuse them), with `-2`, `-3` … when two are taken in the same second. They sort by name
 * in time order. A snapshot being written is `.tmp-<name>-<random>` beside them.
 */
const NAME = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z(?:-(\d+))?$/;
export const TEMP_PREFIX = '.tmp-';

export function snapshotName(time: Date, attempt = 1): string {
  const base = `${time.toISOString().slice(0, 19).replaceAll(':', '-')}Z`;
  return attempt === 1 ? base : `${base}-${attempt}`;
}

/** The time a snapshot name stands for, or null when it is not one. */
export function snapshotTime(name: string): Date | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const time = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.000Z`);
  return Number.isNaN(time.getTime()) ? null : time;
}

export interface SnapshotEntry {
  name: string;
  dir: string;
  time: Date;
}

/**
 * The complete snapshots in a directory, oldest first: named like one and holding a manifest.
 * Anything else there (temporary directories, the operator's own files) is not a snapshot.
 */
export async function listSnapshots(dir: string): Promise<SnapshotEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found: SnapshotEntry[] = [];
  for (const name of names.sort()) {
    const time = snapshotTime(name);
    if (time === null) continue;
    const exists = await stat(path.join(dir, name, MANIFEST_FILE)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (exists) found.push({ name, dir: path.join(dir, name), time });
  }
  return found;
}
