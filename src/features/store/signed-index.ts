import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { finished } from 'node:stream';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import path from 'node:path';
import type { StoreKeys } from '../review/index.js';

export interface SignedIndexFile {
  size: number;
  /** Strong ETag: the SHA-256 of the bytes. */
  etag: string;
  signature: string;
  keyId: string;
}

/** An index file held open: whoever deletes or replaces the name, readers keep reading these bytes. */
interface HeldIndex extends SignedIndexFile {
  file: string;
  handle: FileHandle;
  readers: number;
  superseded: boolean;
}

export interface SignedIndexOptions {
  /** Writes the index's bytes to a file (index-file.ts; on a thread of its own for a large catalog). */
  write: (file: string) => Promise<void>;
  storeKeys: StoreKeys;
  /** Where the index files live (DATA_DIR/store-index): derived data, rebuilt at every start. */
  dir: string;
  log: { warn(details: object, message: string): void; info(details: object, message: string): void };
  /** A change waits this long for the changes that come with it before the index is rebuilt. */
  settleMs?: number;
  /** Rebuilds start at least this far apart: at the seed's catalog size one reads every version. */
  minIntervalMs?: number;
}


async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * /v1/store/index.json: every published, non-yanked version, signed by the store key over its exact
 * bytes. Rebuilt when the catalog changes (a burst of changes makes one rebuild, and rebuilds are
 * at least a minute apart), streamed from the database into a file and signed by reading the file
 * back, so the index never sits in the heap. The bytes depend only on the
 * catalog, so instances on one database serve the same index under the same ETag.
 */
export class SignedIndex {
  private current: HeldIndex | null = null;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private building: Promise<void> | undefined;
  private stopped = false;
  private firstBuild: Promise<void> | undefined;
  private lastStarted = 0;

  constructor(private readonly options: SignedIndexOptions) {}

  /** The index as last built; null until the first build finished. */
  get file(): SignedIndexFile | null {
    return this.current;
  }

  /**
   * The current index and a stream of its bytes, or null before the first build. The file stays
   * open until the last reader is done, so a rebuild (here or by another instance sharing DATA_DIR)
   * never cuts a download short or swaps its bytes.
   */
  open(): { index: SignedIndexFile; body: Readable } | null {
    const held = this.current;
    if (!held) return null;
    held.readers += 1;
    // Positional reads (start given) on a shared descriptor: concurrent readers do not disturb each other.
    const body = createReadStream('', { fd: held.handle.fd, start: 0, end: Math.max(0, held.size - 1), autoClose: false });
    // Ended, failed or cut off by the client: exactly once. (Without autoClose a stream read to
    // its end never emits 'close'.)
    let done = false;
    finished(body, () => {
      if (done) return;
      done = true;
      held.readers -= 1;
      void this.release(held);
    });
    return { index: held, body };
  }

  /** Builds the first index (removing what earlier runs left). */
  start(): Promise<void> {
    this.firstBuild ??= (async () => {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      await this.removeLeftovers();
      this.dirty = true;
      await this.rebuild();
    })();
    return this.firstBuild;
  }

  /** The catalog changed: rebuild once things settle. */
  changed(): void {
    if (this.stopped || this.firstBuild === undefined) return;
    this.dirty = true;
    clearTimeout(this.timer);
    const wait = Math.max(this.options.settleMs ?? 500, this.lastStarted + (this.options.minIntervalMs ?? 60_000) - Date.now());
    this.timer = setTimeout(() => void this.rebuild(), wait);
    this.timer.unref();
  }

  /** Resolves once no change is waiting and no build is running (tests; shutdown). */
  async settled(): Promise<void> {
    await this.firstBuild;
    while (this.dirty || this.building) {
      if (this.dirty && !this.building) {
        await this.rebuild();
        // A build that failed leaves the change waiting: do not spin on it.
        if (this.dirty) return;
      } else await this.building;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.building?.catch(() => undefined);
    const held = this.current;
    if (held) {
      held.superseded = true;
      await this.release(held);
    }
  }

  private async release(held: HeldIndex): Promise<void> {
    if (held.superseded && held.readers === 0) await held.handle.close().catch(() => undefined);
  }

  private rebuild(): Promise<void> {
    if (this.building) return this.building;
    clearTimeout(this.timer);
    this.building = (async () => {
      this.dirty = false;
      try {
        await this.build();
      } catch (err) {
        // Tried again at the next change, or by settled().
        this.dirty = true;
        this.options.log.warn({ err }, 'store: cannot build the signed index, keeping the previous one');
      }
    })().finally(() => {
      this.building = undefined;
      // Changes during the build wait for the next slot like any other.
      if (this.dirty && !this.stopped) this.changed();
    });
    return this.building;
  }

  private async build(): Promise<void> {
    const started = Date.now();
    this.lastStarted = started;
    const { dir } = this.options;
    const temp = path.join(dir, `building-${randomBytes(6).toString('hex')}.json`);
    try {
      await this.options.write(temp);
      const etag = await sha256Of(temp);
      const { size } = await stat(temp);
      const { signature, key_id } = await this.options.storeKeys.signFile(temp);
      const file = path.join(dir, `index-${etag}.json`);
      await rename(temp, file);
      const handle = await open(file, 'r');
      const previous = this.current;
      this.current = { file, size, etag, signature, keyId: key_id, handle, readers: 0, superseded: false };
      if (previous) {
        previous.superseded = true;
        // Readers of the old file keep its descriptor; the name can go (unless it is the same bytes).
        if (previous.file !== file) await rm(previous.file, { force: true });
        await this.release(previous);
      }
      this.options.log.info({ bytes: size, ms: Date.now() - started }, 'store: signed index built');
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /**
   * Index files of earlier runs (or of other instances sharing DATA_DIR: they hold their files
   * open, so removing the names does them no harm), and builds left unfinished for an hour.
   */
  private async removeLeftovers(): Promise<void> {
    for (const name of await readdir(this.options.dir)) {
      const file = path.join(this.options.dir, name);
      const modified = (await stat(file).catch(() => null))?.mtimeMs ?? 0;
      const stale = name.startsWith('index-') || (name.startsWith('building-') && Date.now() - modified > 3_600_000);
      if (stale) await rm(file, { force: true });
    }
  }
}
