import type { MessagePort } from 'node:worker_threads';
import { checkPackage, type CheckOptions } from './check.js';
import type { PackageCheckResult } from './findings.js';
import type { ScannedEntries } from './stream-scan.js';

/**
 * The body of a package-check worker thread (see check-pool.ts). The parsers (luaparse, css-tree,
 * saxes, pngjs) are loaded here and only here, so the portal's main thread neither pays their
 * memory nor runs their work.
 */
export interface CheckTask {
  file: string;
  options: CheckOptions;
  /** Told when the check starts, so its time budget does not count the thread's own start. */
  started: MessagePort;
}

export default async function checkInWorker({ file, options, started }: CheckTask): Promise<PackageCheckResult> {
  started.postMessage(null);
  started.close();
  return checkPackage(file, { ...options, scanned: revive(options.scanned) });
}

/** Buffers cross the thread boundary as plain Uint8Arrays; the checks read them as Buffers. */
function revive(scanned: ScannedEntries | undefined): ScannedEntries | undefined {
  if (scanned === undefined) return undefined;
  for (const entry of scanned.values()) {
    const head: Uint8Array = entry.digest.head;
    if (!Buffer.isBuffer(head)) entry.digest.head = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  }
  return scanned;
}
