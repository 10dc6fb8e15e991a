import { backupVerb } from './backup.js';
import { createAdminVerb } from './create-admin.js';
import { gcVerb } from './gc.js';
import { importSqliteVerb } from './import-sqlite.js';
import { litestreamRestoreVerb } from './litestream-restore.js';
import { migrateVerb } from './migrate.js';
import { replicateVerb } from './replicate.js';
import { rotateKeysVerb } from './rotate-keys.js';
import { restoreVerb } from './restore.js';
import { serveVerb } from './serve.js';
import type { Verb } from './verb.js';

export { UsageError, type Verb } from './verb.js';

/** Every `mosis-portal` command, in the order `--help` lists them. */
export const VERBS: readonly Verb[] = [serveVerb, migrateVerb, createAdminVerb, rotateKeysVerb, gcVerb, backupVerb, restoreVerb, replicateVerb, litestreamRestoreVerb, importSqliteVerb];
