export type { BlobStore, LocalBlobFile, StagedBlob, StageOptions } from './blob-store.js';
export type { BlobUsage, DownloadUrlOptions } from './blob-store.js';
export { openBlobStore } from './open.js';
export { FsBlobStore } from './fs-blob-store.js';
export { BlobReferences, type BlobReferenceCheck } from './blob-references.js';
export { collectGarbage, type GcResult } from './gc.js';
export { PRIVATE_UMASK, restrictStateModes } from './private-state.js';
export { createPrivateJson, readPrivateJson, writePrivateJson } from './private-file.js';
export { DeviceIds } from './device-ids.js';
