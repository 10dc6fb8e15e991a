import type { StorageConfig } from '../config/index.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

/**
 * The blob store the configuration names. The S3 adapter (and the AWS SDK with it) is loaded only
 * when it is used, so a portal on the filesystem store does not pay the SDK's start-up time.
 * `localDir` is this instance's own directory for the S3 store's staging files and local copies.
 */
export async function openBlobStore(storage: StorageConfig, options: { localDir: string }): Promise<BlobStore> {
  if (storage.kind === 'fs') return new FsBlobStore(storage.dir);
  const { S3BlobStore } = await import('./s3-blob-store.js');
  return new S3BlobStore(storage, { localDir: options.localDir });
}

