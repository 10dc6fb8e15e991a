/**
 * Size limits of a package. They are enforced on the bytes actually inflated, so an archive that
 * lies about its sizes (a zip bomb) is stopped as soon as it passes them.
 */
export interface PackageLimits {
  /** Entries in the archive, read from the end-of-central-directory record before anything else. */
  maxEntries: number;
  /** Inflated bytes of one entry. */
  maxFileBytes: number;
  /** Inflated bytes of all entries together. */
  maxTotalBytes: number;
  /** Largest .lua/.rml/.rcss/manifest/META-INF/icon file parsed in memory. */
  maxAnalyzedFileBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: PackageLimits = Object.freeze({
  maxEntries: 10_000,
  maxFileBytes: 64 * MiB,
  maxTotalBytes: 512 * MiB,
  maxAnalyzedFileBytes: 4 * MiB,
});

export function resolveLimits(overrides: Partial<PackageLimits> | undefined): PackageLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof PackageLimits)[]) {
    const value = overrides?.[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`limits.${key} must be a non-negative integer, got ${value}`);
    limits[key] = value;
  }
  return limits;
}
