export type { BlobStore, StagedBlob } from './blob-store.js';
export { FsBlobStore } from './fs-blob-store.js';
export { collectGarbage, type GcResult } from './gc.js';
