import { Piscina } from 'piscina';
import type { DatabaseConfig } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import { workerModule } from '../../shared/index.js';
import { writeIndexFile } from './index-file.js';
import type { IndexTask } from './index-worker.js';

/** Up to this many versions the index is written on the main thread: a few milliseconds of work. */
export const IN_PROCESS_VERSIONS = 5_000;

/**
 * Writes the signed index: a small catalog's on the main thread, a large one's on a thread of its
 * own with its own database connection (made when first needed, gone when idle).
 */
export class IndexWriter {
  private pool: Piscina<IndexTask, void> | undefined;

  constructor(
    private readonly database: DatabaseConfig,
    private readonly db: Db,
    /** How many versions the catalog has now. */
    private readonly versions: () => number,
    private readonly inProcessVersions = IN_PROCESS_VERSIONS,
  ) {}

  write(file: string): Promise<void> {
    if (this.versions() <= this.inProcessVersions) return writeIndexFile(this.db, file);
    return this.threads().run({ database: this.database, file });
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }

  private threads(): Piscina<IndexTask, void> {
    this.pool ??= new Piscina<IndexTask, void>({
      ...workerModule('features/store/index-worker'),
      minThreads: 0,
      maxThreads: 1,
      // A thread is a whole V8 isolate (30-50 MiB of RSS while it lives): kept a second for a
      // burst of catalog changes, not for minutes between them.
      idleTimeout: 1_000,
      // Nothing reads Piscina's timing histograms; they cost a portal's start and every task.
      recordTiming: false,
    });
    return this.pool;
  }
}
