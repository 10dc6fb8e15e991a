import type { DatabaseConfig } from '../../config/index.js';
import { openDatabase, openSqliteReader } from '../../db/index.js';
import { writeIndexFile } from './index-file.js';

/**
 * The body of the thread that writes a large catalog's signed index (see index-writer.ts): at the
 * seed's 500 000 versions that is about 200 MB of JSON made from as many rows, seconds of work the
 * main thread must not do between requests.
 */
export interface IndexTask {
  database: DatabaseConfig;
  file: string;
}

export default async function writeIndexInWorker({ database, file }: IndexTask): Promise<void> {
  const db = database.dialect === 'sqlite' ? openSqliteReader(database.file) : openDatabase(database).db;
  try {
    await writeIndexFile(db, file);
  } finally {
    await db.destroy();
  }
}
