import { openSqliteReader, type Db } from '../../db/index.js';
import { searchPackages } from './store.repository.js';

/**
 * The body of the store's search thread on SQLite (see search.ts): better-sqlite3 runs a query on
 * the thread that calls it, and ranking a common prefix over a large catalog takes hundreds of
 * milliseconds, which must not be the portal's main thread.
 */
export interface SearchTask {
  file: string;
  terms: string[];
  category: string | null;
}

let reader: { file: string; db: Db } | undefined;

export default async function searchInWorker({ file, terms, category }: SearchTask): Promise<string[]> {
  if (reader?.file !== file) reader = { file, db: openSqliteReader(file) };
  return searchPackages(reader.db, terms, category);
}
