import { Piscina } from 'piscina';
import type { DatabaseConfig } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import { workerModule } from '../../shared/index.js';
import type { SearchTask } from './search-worker.js';
import { storeError } from './store.errors.js';
import { searchPackages } from './store.repository.js';

/** Full-text search over the catalog: package ids of published apps, best match first. */
export interface StoreSearch {
  search(terms: readonly string[], category: string | null): Promise<string[]>;
  close(): Promise<void>;
}

/** Searches waiting for the thread; beyond them a search is refused (503) rather than queued without end. */
const MAX_WAITING = 64;
/** A search still running after this is abandoned (its thread ends) and answered 503. */
const TIME_BUDGET_MS = 5_000;

/**
 * On SQLite, searches run on a thread of their own with a read-only connection, one at a time,
 * each within a time budget. On PostgreSQL the query runs in the database server and the portal
 * only awaits it: the same repository function, on the portal's own connections.
 */
export function storeSearch(database: DatabaseConfig, db: Db): StoreSearch {
  if (database.dialect === 'postgres') return { search: (terms, category) => searchPackages(db, terms, category), close: () => Promise.resolve() };
  const pool = new Piscina<SearchTask, string[]>({
    ...workerModule('features/store/search-worker'),
    minThreads: 0,
    maxThreads: 1,
    maxQueue: MAX_WAITING,
    idleTimeout: 60_000,
    // Nothing reads Piscina's timing histograms; they cost a portal's start and every task.
    recordTiming: false,
  });
  const file = database.file;
  return {
    async search(terms, category) {
      try {
        return await pool.run({ file, terms: [...terms], category }, { signal: AbortSignal.timeout(TIME_BUDGET_MS) });
      } catch (err) {
        const busy = (err as Error).name === 'AbortError' || /queue is at limit/i.test((err as Error).message);
        if (busy) throw storeError('store_search_unavailable', 'Search is busy; try again in a moment.');
        throw err;
      }
    },
    close: () => pool.destroy(),
  };
}
