import { copyDatabase, type CopiedDatabase } from './sqlite-files.js';

/**
 * The body of the thread that copies a database (sqlite-copy.ts): VACUUM INTO, the fsync, the
 * checksum and the scan for blob hashes are seconds of synchronous work on a large portal, which a
 * serving portal's event loop must not wait for.
 */
export interface CopyTask {
  source: string;
  target: string;
  named: boolean;
}

export default function copyInThread(task: CopyTask): CopiedDatabase {
  return copyDatabase(task.source, task.target, { named: task.named });
}
