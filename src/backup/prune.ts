import { rm } from 'node:fs/promises';
import { snapshotsToKeep, type Retention } from './retention.js';
import { listSnapshots } from './snapshots.js';

/**
 * Deletes the snapshots in `dir` that the retention does not keep (retention.ts) and answers their
 * names. Only complete snapshots named by time are considered: a snapshot being written, or an
 * operator's own directory, is never deleted here. Blobs shared with the store or with kept
 * snapshots by hard links stay: deleting a link deletes only that name.
 */
export async function pruneSnapshots(dir: string, retention: Retention, now: Date, written: string): Promise<string[]> {
  const snapshots = await listSnapshots(dir, now);
  const keep = snapshotsToKeep(
    snapshots.map((s) => s.time),
    retention,
  );
  const deleted: string[] = [];
  for (const [index, snapshot] of snapshots.entries()) {
    // The snapshot just written stays whatever the retention says (it is the newest real one).
    if (keep.has(index) || snapshot.dir === written) continue;
    await rm(snapshot.dir, { recursive: true, force: true });
    deleted.push(snapshot.name);
  }
  return deleted;
}
