import { lstat, readdir } from 'node:fs/promises';
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

/** A name this far ahead of the clock is no snapshot this portal took (planted, or a clock gone wrong). */
const FUTURE_SLACK_MS = 3600_000;

/**
 * The complete snapshots in a directory, oldest first: named like one, no later than an hour from
 * `now`, a real directory (not a link) holding a manifest that is a regular file, both owned by this
 * process's user. Anything else there (temporary directories, the operator's own files, what another
 * account of a shared NAS folder put there) is not a snapshot: retention never keeps one in place of
 * a real snapshot, never deletes it, and a new snapshot never links a blob from it.
 */
export async function listSnapshots(dir: string, now: Date): Promise<SnapshotEntry[]> {
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
    if (time === null || time.getTime() > now.getTime() + FUTURE_SLACK_MS) continue;
    const [folder, manifest] = await Promise.all([lstat(path.join(dir, name)).catch(() => null), lstat(path.join(dir, name, MANIFEST_FILE)).catch(() => null)]);
    if (folder?.isDirectory() === true && manifest?.isFile() === true && ownedHere(folder.uid) && ownedHere(manifest.uid)) {
      found.push({ name, dir: path.join(dir, name), time });
    }
  }
  return found;
}

/** Owned by this process's user (always true where there are no user ids). */
export function ownedHere(uid: number): boolean {
  return process.getuid === undefined || uid === process.getuid();
}
