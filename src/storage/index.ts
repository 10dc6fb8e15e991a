export type { BlobStore, StagedBlob, StageOptions } from './blob-store.js';
export { FsBlobStore } from './fs-blob-store.js';
export { collectGarbage, type GcResult } from './gc.js';
