import type { Kysely, Transaction } from 'kysely';
import type { RefreshTokensTable, UsersTable } from '../features/accounts/accounts.table.js';
import type { AppsTable } from '../features/apps/apps.table.js';
import type { SigningKeysTable } from '../features/keys/keys.table.js';
import type { VersionsTable } from '../features/versions/versions.table.js';

/** Every table of the portal database. Row types live beside the feature that owns them. */
export interface Database {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  apps: AppsTable;
  versions: VersionsTable;
  signing_keys: SigningKeysTable;
}

export type Db = Kysely<Database>;
/** What repositories take: the database or an open transaction on it. */
export type Executor = Kysely<Database> | Transaction<Database>;
export type Dialect = 'sqlite' | 'postgres';
