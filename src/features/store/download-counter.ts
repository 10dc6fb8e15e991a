import type { Db } from '../../db/index.js';

export interface DownloadLogger {
  warn(details: object, message: string): void;
}

/** One download to count: which version, by whom (a keyed hash), on which UTC day. */
export interface Download {
  appId: string;
  versionId: string;
  versionCode: number;
  deviceHash: string;
  day: string;
}

export interface DownloadCounterOptions {
  db: Db;
  logger: DownloadLogger;
  /** Writes happen at least this often while downloads come in. */
  flushIntervalMs?: number;
  /** Downloads held before a write is started at once. */
  batchSize?: number;
  /** Most downloads held; beyond it they are not counted (a flood must not grow memory). */
  capacity?: number;
}

/**
 * Counts downloads off the request path: a download is remembered in memory (the same device and
 * version twice in a batch is one) and written with the others of its batch in one transaction,
 * where the marks table drops what that device already fetched that day. A crash loses at most the
 * last interval's counts; counts are statistics, not acknowledgements.
 */
export class DownloadCounter {
  private pending = new Map<string, Download>();
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly capacity: number;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dropped = 0;

  constructor(private readonly options: DownloadCounterOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
    this.capacity = options.capacity ?? 20_000;
  }

  count(download: Download): void {
    const key = `${download.day}\n${download.versionId}\n${download.deviceHash}`;
    if (this.pending.has(key)) return;
    if (this.pending.size >= this.capacity) {
      this.dropped += 1;
      return;
    }
    this.pending.set(key, download);
    if (this.pending.size >= this.batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  /** Writes everything held now; resolves when it is written (or has failed and been kept for later). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.writing = this.write(batch).finally(() => {
      this.writing = undefined;
    });
    await this.writing;
  }

  private async write(batch: Download[]): Promise<void> {
    try {
      await this.options.db.transaction().execute(async (trx) => {
        const counts = new Map<string, { app_id: string; day: string; version_code: number; downloads: number }>();
        // Chunks keep each statement's parameters far below both databases' limits.
        for (let i = 0; i < batch.length; i += 200) {
          const chunk = batch.slice(i, i + 200);
          const fresh = await trx
            .insertInto('store_download_marks')
            .values(chunk.map((d) => ({ day: d.day, version_id: d.versionId, device_hash: d.deviceHash })))
            .onConflict((oc) => oc.doNothing())
            .returning(['day', 'version_id', 'device_hash'])
            .execute();
          const byKey = new Map(chunk.map((d) => [`${d.day}\n${d.versionId}\n${d.deviceHash}`, d]));
          for (const mark of fresh) {
            const d = byKey.get(`${mark.day}\n${mark.version_id}\n${mark.device_hash}`);
            if (!d) continue;
            const key = `${d.appId}\n${d.day}\n${d.versionCode}`;
            const count = counts.get(key);
            if (count) count.downloads += 1;
            else counts.set(key, { app_id: d.appId, day: d.day, version_code: d.versionCode, downloads: 1 });
          }
        }
        const rows = [...counts.values()];
        for (let i = 0; i < rows.length; i += 200) {
          await trx
            .insertInto('store_downloads')
            .values(rows.slice(i, i + 200))
            .onConflict((oc) => oc.columns(['app_id', 'day', 'version_code']).doUpdateSet((eb) => ({ downloads: eb('store_downloads.downloads', '+', eb.ref('excluded.downloads')) })))
            .execute();
        }
      });
    } catch (err) {
      // Kept for the next write, as far as there is room; a database that stays away loses counts, not memory.
      for (const d of batch) if (this.pending.size < this.capacity) this.pending.set(`${d.day}\n${d.versionId}\n${d.deviceHash}`, d);
      this.options.logger.warn({ err, downloads: batch.length }, 'store: cannot write download counts, will retry');
      this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs * 5);
    }
    if (this.dropped > 0) {
      this.options.logger.warn({ dropped: this.dropped }, 'store: downloads not counted, the counter was full');
      this.dropped = 0;
    }
  }

  /** Removes marks from before yesterday: only the current day's marks can still stop a count. */
  async prune(today: string): Promise<void> {
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    await this.options.db.deleteFrom('store_download_marks').where('day', '<', yesterday).execute();
  }
}
