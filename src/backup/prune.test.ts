import { chown, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from './manifest.js';
import { pruneSnapshots } from './prune.js';
import { snapshotName } from './snapshots.js';

const RETENTION = { hourly: 24, daily: 7, weekly: 4 };
const NOW = new Date('2026-12-02T12:00:00.000Z');
const scratch: string[] = [];
afterAll(() => Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A directory that looks like a snapshot: named by its time, a manifest inside. */
async function fakeSnapshot(dir: string, time: Date, uid?: number): Promise<string> {
  const folder = path.join(dir, snapshotName(time));
  await mkdir(folder);
  await writeFile(path.join(folder, MANIFEST_FILE), '{}');
  if (uid !== undefined) {
    await chown(path.join(folder, MANIFEST_FILE), uid, uid);
    await chown(folder, uid, uid);
  }
  return path.basename(folder);
}

/** The portal's own hourly snapshots of the last 30 hours, the newest written last. */
async function realSnapshots(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (let h = 30; h >= 0; h--) names.push(await fakeSnapshot(dir, new Date(NOW.getTime() - h * 3600_000)));
  return names;
}

describe('pruning snapshots', () => {
  it('ignores directories it did not write: named in the future, links, or (as root can show) owned by another user', async () => {
    const clean = await mkdtemp(path.join(tmpdir(), 'mosis-prune-clean-'));
    const planted = await mkdtemp(path.join(tmpdir(), 'mosis-prune-planted-'));
    scratch.push(clean, planted);
    const written = await realSnapshots(clean);
    await realSnapshots(planted);
    const newest = path.join(planted, written.at(-1)!);

    // What someone who can write to a shared BACKUPS_DIR could leave there to win every retention
    // bucket: newer-looking snapshots of 35 distinct hours, days and weeks in 2099 …
    for (let i = 0; i < 35; i++) await fakeSnapshot(planted, new Date(Date.UTC(2099, 0, 1 + i * 7, i % 24)));
    // … a link to a folder elsewhere dressed as a snapshot of the last minute …
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'mosis-prune-elsewhere-'));
    scratch.push(elsewhere);
    await writeFile(path.join(elsewhere, MANIFEST_FILE), '{}');
    await symlink(elsewhere, path.join(planted, snapshotName(new Date(NOW.getTime() - 60_000))));
    // … and, seen only when the test runs as root (CI does), current-looking ones owned by another user.
    const root = process.getuid?.() === 0;
    if (root) for (let m = 1; m <= 30; m++) await fakeSnapshot(planted, new Date(NOW.getTime() - m * 60_000 - 1000), 4242);

    const prunedClean = await pruneSnapshots(clean, RETENTION, NOW, path.join(clean, written.at(-1)!));
    const prunedPlanted = await pruneSnapshots(planted, RETENTION, NOW, newest);
    // The portal's own snapshots are thinned exactly as without the planted ones, and nothing else is touched.
    expect(prunedPlanted).toEqual(prunedClean);
    expect(prunedClean.length).toBeGreaterThan(0);
    const left = await readdir(planted);
    expect(left).toContain(written.at(-1));
    expect(left.filter((n) => n.startsWith('2099-'))).toHaveLength(35);
    if (root) expect(left.length).toBe((await readdir(clean)).length + 35 + 1 + 30);
  });

  it('never deletes the snapshot just written, whatever the retention says', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mosis-prune-keep-'));
    scratch.push(dir);
    const names = await realSnapshots(dir);
    const older = names[0]!;
    const pruned = await pruneSnapshots(dir, { hourly: 0, daily: 0, weekly: 0 }, NOW, path.join(dir, older));
    expect(pruned).not.toContain(older);
    // The newest is kept by the retention itself; everything else went.
    expect((await readdir(dir)).sort()).toEqual([older, names.at(-1)!].sort());
  });
});
