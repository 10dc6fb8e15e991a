import type { Config } from '../config/index.js';
import { createCore, type Core } from '../core.js';
import { migrateToLatest } from '../db/index.js';

/** Runs a verb on a core of its own (no HTTP server, no jobs), migrated first, closed after. */
export async function withCore<T>(config: Config, verb: (core: Core) => Promise<T>): Promise<T> {
  // Quiet: a verb talks to the operator on stdout; only warnings and errors are logged.
  const core = await createCore({ ...config, logLevel: 'warn' });
  try {
    await migrateToLatest(core.db);
    return await verb(core);
  } finally {
    await core.close();
  }
}
