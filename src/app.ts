import { createRequire } from 'node:module';
import { access, constants, mkdir } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { openDatabase, pendingMigrations, type PortalDatabase } from './db/index.js';
import { AccessTokens, AccountsService, accountsRoutes, tokenAuthenticator } from './features/accounts/index.js';
import { AppsService, appsRoutes } from './features/apps/index.js';
import { SigningKeysService, signingKeysRoutes } from './features/keys/index.js';
import { VersionsService, versionsRoutes } from './features/versions/index.js';
import { createServer, healthRoutes } from './http/index.js';
import { systemClock, systemIds, type Clock, type Ids } from './shared/index.js';
import { FsBlobStore, type BlobStore } from './storage/index.js';

export interface PortalDeps {
  clock?: Clock;
  ids?: Ids;
  /** Where JSON logs go (default stdout); tests capture them to prove secrets are redacted. */
  logStream?: Writable;
}

export interface Portal {
  app: FastifyInstance;
  database: PortalDatabase;
  blobs: BlobStore;
}

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * The one place that wires the portal together. It does not listen and does not migrate: the
 * `serve` verb does both, tests call this directly and talk to it through inject or a socket.
 */
export async function buildApp(config: Config, deps: PortalDeps = {}): Promise<Portal> {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? systemIds(clock);
  for (const dir of [config.dataDir, config.packagesDir, config.backupsDir]) await mkdir(dir, { recursive: true });
  const database = openDatabase(config.database);
  const { db } = database;
  const blobs = new FsBlobStore(config.packagesDir);

  const app = await createServer(config, ids, { logStream: deps.logStream, version });
  app.addHook('onClose', async () => database.close());

  const tokens = await AccessTokens.open(config.dataDir, config.baseUrl, clock);
  const auth = tokenAuthenticator(db, tokens);
  const accounts = new AccountsService({ db, clock, ids, tokens });
  const apps = new AppsService({ db, clock, ids });
  const signingKeys = new SigningKeysService({ db, clock, ids });
  const versions = new VersionsService({
    db,
    clock,
    ids,
    blobs,
    apps,
    signingKeys,
    maxPackageBytes: config.limits.packageBytes,
    packageLimits: { maxTotalBytes: config.limits.packageInflatedBytes },
  });

  healthRoutes(app, [
    ['database', () => database.ping()],
    [
      'migrations',
      async () => {
        const pending = await pendingMigrations(db);
        if (pending.length > 0) throw new Error(`pending: ${pending.join(', ')}`);
      },
    ],
    ['data_dir', () => access(config.dataDir, constants.W_OK)],
    ['backups_dir', () => access(config.backupsDir, constants.W_OK)],
    ['packages', () => blobs.checkWritable()],
  ]);
  accountsRoutes(app, accounts, auth, tokens);
  appsRoutes(app, apps, auth);
  signingKeysRoutes(app, signingKeys, auth);
  versionsRoutes(app, versions, auth, config.limits.packageBytes);

  await app.ready();
  return { app, database, blobs };
}
