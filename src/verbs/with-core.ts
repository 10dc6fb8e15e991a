import type { Config } from '../config/index.js';
import type { Core } from '../core.js';

/** Runs a verb on a core of its own (no HTTP server, no jobs), migrated first, closed after. */
export async function withCore<T>(config: Config, verb: (core: Core) => Promise<T>): Promise<T> {
  // Quiet: a verb talks to the operator on stdout; only warnings and errors are logged.
  const [{ createCore }, { migrateToLatest }] = await Promise.all([import('../core.js'), import('../db/index.js')]);
  const core = await createCore({ ...config, logLevel: 'warn' });
  try {
    await migrateToLatest(core.db);
    return await verb(core);
  } finally {
    await core.close();
  }
}
