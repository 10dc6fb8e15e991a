export { createSnapshot, type SnapshotOptions, type SnapshotResult, type SnapshotSource } from './snapshot.js';
export { verifySnapshot, type VerifiedSnapshot } from './verify.js';
export { restoreSnapshot, type RestoreResult, type RestoreTarget } from './restore.js';
export { pruneSnapshots } from './prune.js';
export { snapshotsToKeep, type Retention } from './retention.js';
export { listSnapshots, snapshotName, snapshotTime, type SnapshotEntry } from './snapshots.js';
export { MANIFEST_FILE, readManifest, type SnapshotManifest } from './manifest.js';
export { SnapshotRefused } from './refused.js';
export { importSqlite, type ImportReport, type ImportSource, type ImportTarget, type TableReport } from './import-sqlite.js';
