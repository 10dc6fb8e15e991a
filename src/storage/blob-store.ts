import type { Readable } from 'node:stream';

/**
 * Package storage, content-addressed by SHA-256. Bytes are first staged on local disk (checks need
 * random access to the ZIP), then committed into the store under their hash, so nothing partial
 * is ever visible and identical content is stored once.
 */
export interface BlobStore {
  /**
   * Streams `source` to a staging file while hashing it. Throws AppError 413 the moment more than
   * `maxBytes` arrive and 507 when the disk is full; in both cases the staging file is gone.
   */
  stage(source: Readable, options: StageOptions): Promise<StagedBlob>;
  has(sha256: string): Promise<boolean>;
  /** Size in bytes, or null when the blob is not stored. */
  size(sha256: string): Promise<number | null>;
  /** Reads a stored blob, optionally the inclusive byte range [start, end]. */
  read(sha256: string, range?: { start: number; end: number }): Readable;
  /**
   * Like read(), resolved once the store has answered: a remote store that is down fails here,
   * before a response has started, instead of in the middle of the stream.
   */
  open(sha256: string, range?: { start: number; end: number }): Promise<Readable>;
  /**
   * A URL that serves the blob directly from the store for `seconds` (a presigned GET), for
   * downloads by redirect. Stores that cannot leave it out.
   */
  downloadUrl?(sha256: string, options: DownloadUrlOptions): Promise<string>;
  /**
   * A local file with a stored blob's bytes, for work that needs random access (the package checks
   * of a stored upload). The filesystem store answers the blob itself; a remote store a temporary
   * copy. Call release() when done. Null when the blob is not stored.
   */
  localFile(sha256: string): Promise<LocalBlobFile | null>;
  delete(sha256: string): Promise<void>;
  /** Every stored hash, for garbage collection. */
  list(): AsyncIterable<string>;
  /** When the blob was stored (last committed), or null when it is not stored. */
  storedAt(sha256: string): Promise<Date | null>;
  /**
   * Removes staging files left by a crash; called at start before the server listens. Files that
   * may belong to another live instance sharing the store are removed only once idle for `idleMs`.
   */
  sweepStaging(options?: { idleMs?: number }): Promise<number>;
  /** Throws when the store cannot be written (readiness probe). */
  checkWritable(): Promise<void>;
  /**
   * How many blobs are stored and their bytes, for /metrics. Walks the whole store (the caller
   * caches it); a store that cannot count cheaply leaves it out.
   */
  usage?(): Promise<BlobUsage>;
  /** Releases connections (a remote store's client). */
  close?(): Promise<void>;
}

export interface DownloadUrlOptions {
  /** The file name the browser saves it under (Content-Disposition). */
  readonly fileName: string;
  readonly seconds: number;
}

export interface BlobUsage {
  readonly blobs: number;
  readonly bytes: number;
}

export interface LocalBlobFile {
  readonly path: string;
  release(): Promise<void>;
}

export interface StageOptions {
  maxBytes: number;
  /**
   * Sees every staged byte, in order, as it is written (to work on an upload in the same pass
   * that stores it). A returned promise holds the next chunk back until it settles.
   */
  observe?: (chunk: Buffer) => Promise<void> | undefined;
}

export interface StagedBlob {
  readonly sha256: string;
  readonly size: number;
  /** Local file with the staged bytes, valid until commit() or discard(). */
  readonly path: string;
  /** Moves the bytes into the store under their hash; a no-op when the content is already stored. */
  commit(): Promise<void>;
  /** Deletes the staged bytes. Safe to call more than once and after commit(). */
  discard(): Promise<void>;
}
