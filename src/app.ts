import { createRequire } from 'node:module';
import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { openDatabase, pendingMigrations, type PortalDatabase } from './db/index.js';
import {
  AccessTokens,
  AccountSecrets,
  AccountsService,
  AdminService,
  PortalAuthenticator,
  accountsRoutes,
  adminGuard,
  adminRoutes,
  createMailer,
  OAuthService,
  oauthRoutes,
  preloadPasswordPolicy,
  TwoFactorService,
} from './features/accounts/index.js';
import { AdminJobsService, adminJobsRoutes } from './features/admin-jobs/index.js';
import { AuditLog, auditAccessDenials, auditRoutes } from './features/audit/index.js';
import { AppImagesService, AppsService, ListingsService, appImagesRoutes, appsRoutes, listingsRoutes, mediaRoutes } from './features/apps/index.js';
import { ApiKeysService, SigningKeysService, apiKeysRoutes, signingKeysRoutes } from './features/keys/index.js';
import { VersionsService, versionsRoutes } from './features/versions/index.js';
import { RateLimiter, createServer, healthRoutes } from './http/index.js';
import { EventLog } from './events/index.js';
import { JobQueue, JobsAdmin, JobWorker } from './jobs/index.js';
import { DEFAULT_CHECK_BUDGET, PackageChecker } from './package/index.js';
import { systemClock, systemIds, type Clock, type Ids } from './shared/index.js';
import { FsBlobStore, type BlobStore } from './storage/index.js';

export interface PortalDeps {
  clock?: Clock;
  ids?: Ids;
  /** Where JSON logs go (default stdout); tests capture them to prove secrets are redacted. */
  logStream?: Writable;
  /** Package checks (default: a pool of the config's budget, closed with the app); tests share one. */
  packageChecker?: PackageChecker;
  /** How many rate-limit counters are kept (default 50 000); tests flood a smaller table. */
  rateLimitCapacity?: number;
}

export interface Portal {
  app: FastifyInstance;
  database: PortalDatabase;
  blobs: BlobStore;
  /** Whether anything in the portal still refers to a stored blob (for `mosis-portal gc`). */
  isBlobReferenced(sha256: string): Promise<boolean>;
  /**
   * Seals TOTP secrets and rehashes recovery codes stored before the server key protected them;
   * `serve` runs it after the migrations. Answers how many rows it changed.
   */
  upgradeStoredSecrets(): Promise<{ totpSecrets: number; recoveryCodes: number }>;
  /** The job kinds of every feature; services enqueue through it in their transactions. */
  jobs: JobQueue;
  /** The domain event log; `serve` starts following it (start()) once the database is migrated. */
  events: EventLog;
  /**
   * Runs the jobs of this instance; null when JOBS_ENABLED=false. Not started here: `serve`
   * starts it once migrated, tests call runOnce(), CLI verbs never run jobs.
   */
  jobWorker: JobWorker | null;
}

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * The one place that wires the portal together. It does not listen and does not migrate: the
 * `serve` verb does both, tests call this directly and talk to it through inject or a socket.
 */
export async function buildApp(config: Config, deps: PortalDeps = {}): Promise<Portal> {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? systemIds(clock);
  for (const dir of [config.dataDir, config.packagesDir, config.backupsDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
  const database = openDatabase(config.database);
  const { db } = database;
  const jobs = new JobQueue({ clock, ids });
  const blobs = new FsBlobStore(config.packagesDir);

  const app = await createServer(config, ids, { logStream: deps.logStream, version });
  app.addHook('onClose', async () => database.close());
  // The domain event log: services append in their transactions; `serve` starts following it once
  // migrated. Stopped before the database closes.
  const events = new EventLog({ db, postgresUrl: config.database.dialect === 'postgres' ? config.database.url : undefined, logger: app.log });
  app.addHook('onClose', async () => events.stop());

  const tokens = await AccessTokens.open(config.dataDir, config.baseUrl, clock);
  preloadPasswordPolicy();
  const audit = new AuditLog({ db, clock, ids });
  auditAccessDenials(app, audit, clock);
  const mailer = createMailer({ smtpUrl: config.accounts.smtpUrl, from: config.accounts.mailFrom, outboxDir: path.join(config.dataDir, 'outbox'), ids, log: app.log });
  app.addHook('onClose', async () => mailer.drain());
  // The closure reads `apps` at request time: API keys may be restricted to the caller's own apps.
  const apiKeys = new ApiKeysService({ db, clock, ids, audit, assertOwnsApp: (actor, appId) => apps.owned(actor, appId) });
  const secureCookies = config.baseUrl.startsWith('https:');
  const auth = new PortalAuthenticator(db, tokens, apiKeys, clock, { secureCookies, webSessionIdleMs: config.accounts.webSessionIdleMs });
  const secrets = await AccountSecrets.open(config.dataDir, config.accounts.secretsKey);
  const twoFactor = new TwoFactorService({ db, clock, ids, audit, secrets });
  const accounts = new AccountsService({ db, clock, ids, tokens, audit, mailer, baseUrl: config.baseUrl, require2faRoles: config.accounts.require2faRoles, twoFactor });
  const admin = new AdminService({ db, clock, ids, audit, accounts });
  const limiter = new RateLimiter(clock, deps.rateLimitCapacity);
  const { github, google, oidc } = config.accounts.oauth;
  const oauth = new OAuthService({
    db,
    clock,
    ids,
    audit,
    baseUrl: config.baseUrl,
    providers: { ...(github ? { github } : {}), ...(google ? { google } : {}), ...(oidc ? { oidc } : {}) },
  });
  const apps = new AppsService({ db, clock, ids, audit, events });
  const listings = new ListingsService({ db, clock, apps, events });
  const appImages = new AppImagesService({ db, clock, ids, blobs, apps });
  const signingKeys = new SigningKeysService({ db, clock, ids, audit });
  const checker = deps.packageChecker ?? new PackageChecker({ ...DEFAULT_CHECK_BUDGET, ...config.packageChecks });
  if (deps.packageChecker === undefined) app.addHook('onClose', async () => checker.close());
  const versions = new VersionsService({
    db,
    clock,
    ids,
    blobs,
    apps,
    signingKeys,
    events,
    checker,
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
  accountsRoutes(app, { service: accounts, twoFactor, auth, tokens, limiter, limits: config.accounts.rateLimit, secureCookies });
  adminRoutes(app, admin, auth);
  auditRoutes(app, audit, adminGuard(auth, admin));
  adminJobsRoutes(app, new AdminJobsService({ db, jobs: new JobsAdmin({ db, clock }), audit }), adminGuard(auth, admin));
  apiKeysRoutes(app, apiKeys, auth);
  oauthRoutes(app, { oauth, accounts, limiter, limits: config.accounts.rateLimit, baseUrl: config.baseUrl, secureCookies });
  appsRoutes(app, apps, auth);
  listingsRoutes(app, listings, auth);
  appImagesRoutes(app, appImages, auth);
  mediaRoutes(app, appImages);
  signingKeysRoutes(app, signingKeys, auth);
  versionsRoutes(app, versions, auth, config.limits.packageBytes);

  const jobWorker = config.jobs.enabled
    ? new JobWorker({ db, dialect: database.dialect, queue: jobs, clock, ids, log: app.log, concurrency: config.jobs.concurrency })
    : null;
  // Before the database closes: running handlers finish or give their jobs back.
  if (jobWorker !== null) app.addHook('onClose', async () => jobWorker.stop(Math.floor(config.shutdownTimeoutMs / 2)));

  await app.ready();
  return {
    app,
    database,
    blobs,
    isBlobReferenced: async (sha256) => (await versions.isPackageReferenced(sha256)) || (await appImages.isReferenced(sha256)),
    upgradeStoredSecrets: () => twoFactor.upgradeStoredSecrets(),
    jobs,
    jobWorker,
    events,
  };
}
