import type { BlobStore } from './blob-store.js';

export interface GcResult {
  kept: number;
  deleted: number;
  /** Unreferenced blobs younger than the grace period, left for a later run. */
  tooYoung: number;
}

/**
 * Deletes blobs nothing refers to. An upload commits its blob a moment before it records the row
 * that refers to it, so blobs younger than `graceMs` are never deleted: a sweep cannot race an
 * upload in flight.
 */
export async function collectGarbage(
  blobs: BlobStore,
  isReferenced: (sha256: string) => Promise<boolean>,
  options: { graceMs: number; now: Date },
): Promise<GcResult> {
  const result: GcResult = { kept: 0, deleted: 0, tooYoung: 0 };
  const cutoff = options.now.getTime() - options.graceMs;
  for await (const sha256 of blobs.list()) {
    if (await isReferenced(sha256)) {
      result.kept += 1;
      continue;
    }
    const storedAt = await blobs.storedAt(sha256);
    if (storedAt === null) continue;
    if (storedAt.getTime() > cutoff) {
      result.tooYoung += 1;
      continue;
    }
    // Asked again right before deleting, so a reference made during the sweep is honoured.
    if (await isReferenced(sha256)) {
      result.kept += 1;
      continue;
    }
    await blobs.delete(sha256);
    result.deleted += 1;
  }
  return result;
}
