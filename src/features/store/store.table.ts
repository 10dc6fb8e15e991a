/** One device fetched one version on one UTC day: a download counts once per such mark. */
export interface StoreDownloadMarksTable {
  /** `YYYY-MM-DD`, UTC. Marks older than yesterday are pruned: only today's dedupe needs them. */
  day: string;
  version_id: string;
  /** Keyed hash of the device id (or, without one, of the client IP); never the raw value. */
  device_hash: string;
}

/** Downloads of one version of an app on one UTC day. */
export interface StoreDownloadsTable {
  app_id: string;
  day: string;
  version_code: number;
  downloads: number;
}
