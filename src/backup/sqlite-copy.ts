import { stat } from 'node:fs/promises';
import { Piscina } from 'piscina';
import { workerModule } from '../shared/index.js';
import { copyDatabase, type CopiedDatabase } from './sqlite-files.js';
import type { CopyTask } from './sqlite-thread.js';

/**
 * Databases up to this size (with their WAL) are copied on the calling thread: VACUUM INTO writes
 * a few hundred MB/s, so that is tens of milliseconds, less than starting a thread costs.
 */
export const IN_PROCESS_BYTES = 16 * 1024 * 1024;

/**
 * copyDatabase (sqlite-files.ts) for each task, a large database on a thread of its own so the
 * caller's event loop keeps turning. A snapshot copies one or two files an hour: the thread lives
 * for those and goes.
 */
export async function copyDatabases(tasks: readonly CopyTask[], inProcessBytes = IN_PROCESS_BYTES): Promise<CopiedDatabase[]> {
  let pool: Piscina<CopyTask, CopiedDatabase> | undefined;
  try {
    const copied: CopiedDatabase[] = [];
    for (const task of tasks) {
      if ((await liveBytes(task.source)) <= inProcessBytes) {
        copied.push(copyDatabase(task.source, task.target, { named: task.named }));
        continue;
      }
      pool ??= new Piscina<CopyTask, CopiedDatabase>({ ...workerModule('backup/sqlite-thread'), minThreads: 0, maxThreads: 1, recordTiming: false });
      copied.push(await pool.run(task));
    }
    return copied;
  } finally {
    await pool?.destroy();
  }
}

async function liveBytes(file: string): Promise<number> {
  const size = (f: string) => stat(f).then((s) => s.size, () => 0);
  return (await size(file)) + (await size(`${file}-wal`));
}
