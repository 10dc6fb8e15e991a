import { readFileSync } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { packageFile } from '../shared/index.js';
import { SnapshotRefused } from './refused.js';

/**
 * `manifest.json`: what a snapshot holds and the checksum of each part. It is written last, under
 * the snapshot's temporary name, so a directory with a whole manifest is a whole snapshot.
 */
export const MANIFEST_FILE = 'manifest.json';
export const FORMAT = 'mosis-portal-snapshot';
/** Bumped when an older portal could no longer read what a newer one writes. */
export const FORMAT_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest');
const size = z.number().int().min(0);
/** A path inside the snapshot: relative, no `..`, so a forged manifest cannot point outside it. */
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).some((part) => part === '..' || part === ''), 'a relative path inside the snapshot')
  // Printed to the operator's terminal: no control characters (escape sequences).
  .refine((p) => !/\p{Cc}/u.test(p), 'no control characters');

const manifestSchema = z.object({
  format: z.literal(FORMAT),
  format_version: z.number().int().min(1),
  created_at: z.iso.datetime(),
  // Printed to the operator: a version string, never terminal control sequences.
  portal_version: z.string().regex(/^[\w.+-]{1,64}$/, 'a version such as 0.1.0'),
  /** `sqlite`: the database files are in the snapshot. `postgres`: they are pg_dump's business. */
  dialect: z.enum(['sqlite', 'postgres']),
  databases: z.array(
    z.object({
      /** `portal` or `telemetry`. */
      name: z.enum(['portal', 'telemetry']),
      file: relativePath,
      size,
      sha256,
      /** Applied migrations, in order (Kysely's `kysely_migration`). */
      migrations: z.array(z.string()),
    }),
  ),
  /** The migrations the PostgreSQL database had when the blob list was taken (empty on SQLite: see databases). */
  migrations: z.array(z.string()),
  /** DATA_DIR's key files (keys/, secrets/), by path relative to DATA_DIR and to the snapshot. */
  files: z.array(z.object({ path: relativePath.refine((p) => /^(keys|secrets)\//.test(p), 'a file under keys/ or secrets/'), size, sha256 })),
  /** `snapshot`: in `blobs/<hash>`. `packages_dir`: listed only, checked against PACKAGES_DIR. */
  blobs_location: z.enum(['snapshot', 'packages_dir']),
  /** Every blob the database's rows refer to; the hash is the blob's name and its checksum. */
  blobs: z.array(z.object({ sha256, size })),
});

export type SnapshotManifest = z.infer<typeof manifestSchema>;
export type ManifestDatabase = SnapshotManifest['databases'][number];

/** The version in package.json. */
export function portalVersion(): string {
  return (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
}

/** A manifest lists each blob in about 100 bytes: this is several million blobs. */
const MANIFEST_MAX_BYTES = 128 * 1024 * 1024;

/** Reads and checks a snapshot's manifest, or refuses the snapshot saying what is wrong with it. */
export async function readManifest(dir: string): Promise<SnapshotManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    // A regular file of sane size: a FIFO would hang the read, a link to /dev/zero fill the memory.
    const found = await lstat(file);
    if (!found.isFile()) throw new SnapshotRefused(`${file} is not a regular file: this snapshot cannot be trusted`);
    if (found.size > MANIFEST_MAX_BYTES) {
      throw new SnapshotRefused(`${file} is ${found.size} bytes, more than any manifest (${MANIFEST_MAX_BYTES}): this snapshot cannot be trusted`);
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SnapshotRefused(`${dir} is not a complete snapshot: it has no ${MANIFEST_FILE} (a snapshot cut off before it finished has none)`);
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SnapshotRefused(`${file} is not valid JSON (${text.length} bytes; truncated or damaged): this snapshot cannot be trusted`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`);
    throw new SnapshotRefused(`${file} is not a Mosis Portal snapshot manifest:`, problems);
  }
  if (parsed.data.format_version > FORMAT_VERSION) {
    throw new SnapshotRefused(
      `${file} has format version ${parsed.data.format_version}, written by portal ${parsed.data.portal_version}; this portal (${portalVersion()}) reads up to ${FORMAT_VERSION}: use a newer portal`,
    );
  }
  return parsed.data;
}

export function manifestText(manifest: SnapshotManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
