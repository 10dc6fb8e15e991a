import { existsSync } from 'node:fs';
import { access, constants, mkdir } from 'node:fs/promises';
import { sql } from 'kysely';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Config } from './config/index.js';
import { createSnapshot, pruneSnapshots } from './backup/index.js';
import { openDatabase, pendingMigrations, type Db, type PortalDatabase } from './db/index.js';
import { EventLog, type EventConsumer } from './events/index.js';
import {
  AccessTokens,
  AccountSecrets,
  AccountsService,
  DeviceGrantService,
  AdminService,
  EmailTokensService,
  OAuthService,
  PortalAuthenticator,
  SessionsService,
  TwoFactorService,
  preloadPasswordPolicy,
  setPasswordHashCost,
  type PasswordHashCost,
} from './features/accounts/index.js';
import { AdminJobsService } from './features/admin-jobs/index.js';
import { PortalMetrics } from './features/metrics/index.js';
import { AppImagesService, AppsService, ListingsService } from './features/apps/index.js';
import { AuditLog } from './features/audit/index.js';
import { ApiKeysService, SigningKeysService } from './features/keys/index.js';
import { ReviewService, StoreKeys } from './features/review/index.js';
import { LiveStream, Mailer, NotificationsService, createMailTransport, notificationFanout } from './features/notifications/index.js';
import { WebhooksService, type WebhookNetwork } from './features/notifications/index.js';
import { IndexWriter, SignedIndex, StoreService, STORE_CHORES_JOB, storeSearch } from './features/store/index.js';
import { TelemetryService, TelemetryWriter } from './features/telemetry/index.js';
import { CrashGuard, ReleaseService, VersionsService, type VersionHealth } from './features/versions/index.js';
import { openTelemetryReader, telemetryFile } from './db/telemetry.js';
import type { ReadinessCheck } from './http/health.js';
import { loggerOptions } from './http/logging.js';
import { MemoryRateLimits, type RateLimits } from './http/rate-limit.js';
import { PostgresRateLimits } from './http/rate-limit-pg.js';
import { JobQueue, JobsAdmin, JobWorker } from './jobs/index.js';
import { DEFAULT_CHECK_BUDGET, PackageChecker } from './package/index.js';
import { systemClock, systemIds, type Clock, type Ids } from './shared/index.js';
import { BlobReferences, collectGarbage, DeviceIds, openBlobStore, type BlobStore } from './storage/index.js';

export interface CoreDeps {
  clock?: Clock;
  ids?: Ids;
  /** Where JSON logs go (default stdout); tests capture them to prove secrets are redacted. */
  logStream?: Writable;
  /** Package checks (default: a pool of the config's budget, closed with the core); tests share one. */
  packageChecker?: PackageChecker;
  /** How many rate-limit counters are kept (default 50 000); tests flood a smaller table. */
  rateLimitCapacity?: number;
  /** Sessions and crashes per version for the crash guard (default: telemetry's rollups). */
  versionHealth?: VersionHealth;
  /** A lower argon2id cost for new password hashes, for the whole process (the test suite's; default OWASP's). */
  passwordHashCost?: PasswordHashCost;
  /** Where webhook deliveries connect (default: real DNS, the address rule); tests map names and exempt a receiver. */
  webhookNetwork?: WebhookNetwork;
}

/**
 * The portal without HTTP: the database, the blob store and every service, wired once. The server
 * (`buildApp`), the CLI verbs and the job workers all run on a core; only the server builds Fastify.
 * Creating a core neither migrates nor starts anything: `serve` migrates, then starts the job worker
 * and the event log.
 */
export interface Core {
  readonly config: Config;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  readonly database: PortalDatabase;
  readonly db: Db;
  readonly blobs: BlobStore;
  /** Every feature that keeps blobs says here which ones it still needs; `gc` asks it. */
  readonly blobReferences: BlobReferences;
  /** The job kinds of every feature; services enqueue through it in their transactions. */
  readonly jobs: JobQueue;
  /** Runs this instance's jobs; null when JOBS_ENABLED=false. Started by `serve`, by runOnce() in tests. */
  readonly jobWorker: JobWorker | null;
  /** The domain event log; `serve` starts following it once the database is migrated. */
  readonly events: EventLog;
  readonly audit: AuditLog;
  /** Email as `mail.send` jobs, enqueued in the transaction of the change that causes it. */
  readonly mailer: Mailer;
  /** GET /v1/events: who sees which event, the stream limits, each stream's writer. */
  readonly liveStream: LiveStream;
  /** In-app notifications, notification mail, preferences and unsubscribe links. */
  readonly notifications: NotificationsService;
  /** Turns each domain event into notifications, mail and webhook deliveries; `serve` starts it. */
  readonly notificationFanout: EventConsumer;
  readonly tokens: AccessTokens;
  /** The store's Ed25519 keys: sign approved versions, published at /.well-known/mosis-store-keys.json. */
  readonly storeKeys: StoreKeys;
  readonly review: ReviewService;
  readonly auth: PortalAuthenticator;
  /**
   * The sign-in, OAuth and device-grant budgets: in memory on SQLite (one process), in the
   * rate_limits table on PostgreSQL, shared by every instance.
   */
  readonly rateLimiter: RateLimits;
  readonly accounts: AccountsService;
  readonly sessions: SessionsService;
  readonly emailTokens: EmailTokensService;
  readonly twoFactor: TwoFactorService;
  readonly admin: AdminService;
  readonly oauth: OAuthService;
  readonly deviceGrant: DeviceGrantService;
  readonly apiKeys: ApiKeysService;
  readonly signingKeys: SigningKeysService;
  readonly apps: AppsService;
  readonly listings: ListingsService;
  readonly appImages: AppImagesService;
  readonly versions: VersionsService;
  readonly release: ReleaseService;
  /** Apps' signed webhooks: CRUD, the delivery log, `dispatch` for the fan-out, the `webhook.deliver` job. */
  readonly webhooks: WebhooksService;
  /** The device-facing store: its read model, caches and download counts (started by `serve` or its first request). */
  readonly store: StoreService;
  /** /v1/store/index.json, signed; rebuilt when the catalog changes. */
  readonly storeIndex: SignedIndex;
  /** Keyed hashes of device ids: the store's download marks and telemetry keep only these. */
  readonly deviceIds: DeviceIds;
  /** Device events and crash reports, their rollups, crash groups and analytics. */
  readonly telemetry: TelemetryService;
  /** The thread that owns the telemetry database (its file on SQLite). */
  readonly telemetryWriter: TelemetryWriter;
  /** Halts staged rollouts that crash too often (a recurring job; sweep() runs it once). */
  readonly crashGuard: CrashGuard;
  readonly adminJobs: AdminJobsService;
  /** The portal's Prometheus registry and domain metrics; app.ts serves it as GET /metrics. */
  readonly metrics: PortalMetrics;
  /** What /readyz asks: the database, its migrations, the data directories, the blob store. */
  readonly readiness: readonly ReadinessCheck[];
  /** Stops the job worker and the event log, closes the checks and the database. */
  close(): Promise<void>;
}

export const GC_JOB = 'storage.gc';
/** The recurring online snapshot into BACKUPS_DIR, then its retention (src/backup/). */
export const BACKUP_JOB = 'backup.snapshot';
/** PostgreSQL: how far behind arrival the telemetry rollup reads (a commit's longest delay). */
const TELEMETRY_COMMIT_LAG_MS = 10_000;
/** PostgreSQL: how often each instance deletes rate-limit counters whose window has ended. */
const RATE_LIMITS_SWEEP_MS = 5 * 60_000;
/** Blobs younger than this are kept even when unreferenced: an upload may be about to record them. */
export const GC_GRACE_MS = 60 * 60 * 1000;

export async function createCore(config: Config, deps: CoreDeps = {}): Promise<Core> {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? systemIds(clock);
  // Written without blocking (lines written while a write is under way go out together with it):
  // a synchronous write per request line was a fifth of a store answer's CPU. pino flushes at exit.
  const log = pino(loggerOptions(config.logLevel), deps.logStream ?? pino.destination({ dest: 1, sync: false }));
  for (const dir of [config.dataDir, config.packagesDir, config.backupsDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key files first: nothing awaited after the database opens, so a bad key file leaks no connection.
  const tokens = await AccessTokens.open(config.dataDir, config.baseUrl, clock);
  const storeKeys = await StoreKeys.open(config.dataDir, clock);
  const secrets = await AccountSecrets.open(config.dataDir, config.accounts.secretsKey);
  const deviceIds = await DeviceIds.open(config.dataDir);
  // PACKAGES_DIR, or an S3-compatible bucket with this instance's staging files in DATA_DIR/staging.
  const blobs = await openBlobStore(config.storage, { localDir: path.join(config.dataDir, 'staging') });
  const database = openDatabase(config.database);
  const { db } = database;
  const blobReferences = new BlobReferences();
  const jobs = new JobQueue({ clock, ids });
  const events = new EventLog({ db, postgresUrl: config.database.dialect === 'postgres' ? config.database.url : undefined, logger: log });
  const audit = new AuditLog({ db, clock, ids });
  const metrics = new PortalMetrics({ clock, log });

  const mailer = new Mailer({
    jobs,
    ids,
    seal: secrets.sealer('mail'),
    transport: createMailTransport({
      smtpUrl: config.accounts.smtpUrl,
      from: config.accounts.mailFrom,
      outboxDir: path.join(config.dataDir, 'outbox'),
      messageIdDomain: new URL(config.baseUrl).hostname,
      log,
    }),
    wake: () => jobWorker?.wake(),
  });
  preloadPasswordPolicy();
  if (deps.passwordHashCost) setPasswordHashCost(deps.passwordHashCost);
  const apiKeys = new ApiKeysService({ db, clock, ids, audit, assertOwnsApp: (actor, appId) => apps.owned(actor, appId) });
  const auth = new PortalAuthenticator(db, tokens, apiKeys, clock, { secureCookies: config.baseUrl.startsWith('https:'), webSessionIdleMs: config.accounts.webSessionIdleMs });
  const twoFactor = new TwoFactorService({ db, clock, ids, audit, secrets });
  const sessions = new SessionsService({ db, clock, ids, tokens, audit, twoFactor });
  const emailTokens = new EmailTokensService({ db, clock, ids, audit, jobs, mailer, baseUrl: config.baseUrl });
  const accounts = new AccountsService({ db, clock, ids, audit, mailer, emailTokens, baseUrl: config.baseUrl, require2faRoles: config.accounts.require2faRoles });
  const admin = new AdminService({ db, clock, ids, audit, accounts });
  const deviceGrant = new DeviceGrantService({ db, clock, ids, audit, apiKeys, mailer, baseUrl: config.baseUrl });
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
  const appImages = new AppImagesService({ db, clock, ids, blobs, blobReferences, apps, events });
  const webhooks = new WebhooksService({
    db,
    clock,
    ids,
    jobs,
    audit,
    events,
    apps,
    seal: secrets.sealer('webhook'),
    // The worker is made below; the closure reads it when a ping or redelivery commits.
    wake: () => jobWorker?.wake(),
    config: config.notifications,
    network: deps.webhookNetwork,
  });
  const signingKeys = new SigningKeysService({ db, clock, ids, audit });
  const checker = deps.packageChecker ?? new PackageChecker({ ...DEFAULT_CHECK_BUDGET, ...config.packageChecks });
  const versions = new VersionsService({
    db,
    clock,
    ids,
    blobs,
    blobReferences,
    apps,
    signingKeys,
    events,
    checker,
    maxPackageBytes: config.limits.packageBytes,
    jobs,
    // The worker is made below; the closure reads it when an upload commits.
    wake: () => jobWorker?.wake(),
    packageLimits: { maxTotalBytes: config.limits.packageInflatedBytes },
    metrics: metrics.packages,
  });
  const release = new ReleaseService({ db, clock, audit, apps, events });
  const { streamHeartbeatMs, streamsPerUser, streamsMax } = config.notifications;
  const liveStream = new LiveStream({ db, events, apps, roles: admin, heartbeatMs: streamHeartbeatMs, streamsPerUser, streamsMax, log });
  const adminJobs = new AdminJobsService({ db, jobs: new JobsAdmin({ db, clock }), audit });
  const jobWorker = config.jobs.enabled ? new JobWorker({ db, dialect: database.dialect, queue: jobs, clock, ids, log, concurrency: config.jobs.concurrency, leaseMs: config.jobs.leaseMs, onAttemptFailed: (kind, dead) => metrics.jobFailed(kind, dead) }) : null;

  // Packages of failed versions, replaced icons and the like are dropped by a daily sweep (what
  // `mosis-portal gc` does by hand), so a NAS's disk does not fill with unreferenced blobs.
  jobs.define(GC_JOB, {
    schedule: '17 4 * * *',
    maxAttempts: 3,
    timeoutMs: 60 * 60_000,
    handler: async () => {
      const result = await collectGarbage(blobs, (sha256) => blobReferences.isReferenced(sha256), { graceMs: GC_GRACE_MS, now: clock.now() });
      if (result.deleted > 0) log.info(result, 'deleted unreferenced blobs');
    },
  });
  // Snapshots while serving (what `mosis-portal backup` does by hand), then the old ones thinned out.
  if (config.backups.enabled) {
    jobs.define(BACKUP_JOB, {
      schedule: config.backups.schedule,
      maxAttempts: 3,
      // A first snapshot onto another disk copies every blob: hours on a large store over a slow link.
      timeoutMs: 12 * 3600_000,
      // One at a time: a slow snapshot and the next slot's must not copy side by side.
      concurrency: 1,
      handler: async (job) => {
        const source = { database: config.database, dataDir: config.dataDir, blobs, db, isReferenced: (sha256: string) => blobReferences.isReferenced(sha256) };
        const { dir, manifest } = await createSnapshot(source, { into: config.backupsDir, now: clock.now(), signal: job.signal });
        const pruned = await pruneSnapshots(config.backupsDir, config.backups.keep, clock.now(), dir);
        log.info({ snapshot: dir, blobs: manifest.blobs.length, pruned }, 'backup snapshot written');
      },
    });
  }

  // Ended windows are dead rows: each instance sweeps them now and then (bounded, idempotent).
  const sharedRateLimits = database.dialect === 'postgres' ? new PostgresRateLimits(db, clock) : null;
  sharedRateLimits?.startSweeping(RATE_LIMITS_SWEEP_MS, log);
  const rateLimiter: RateLimits = sharedRateLimits ?? new MemoryRateLimits(clock, deps.rateLimitCapacity);

  // The writer reads the catalog's size from the store, made just below.
  const indexWriter: IndexWriter = new IndexWriter(config.database, db, (): number => store.model.stats().versions);
  const storeIndex: SignedIndex = new SignedIndex({ write: (file: string): Promise<void> => indexWriter.write(file), storeKeys, dir: path.join(config.dataDir, 'store-index'), log });
  const store: StoreService = new StoreService({ db, clock, events, blobs, deviceIds, index: storeIndex, search: storeSearch(config.database, db), baseUrl: config.baseUrl, log, cacheBytes: config.store.cacheBytes,
    downloadRedirectSeconds: config.storage.kind === 's3' && config.storage.downloads === 'redirect' ? config.storage.redirectSeconds : null,
  });
  // Download marks only stop a second count on the same day (yesterday's go); SQLite's statistics.
  jobs.define(STORE_CHORES_JOB, { schedule: '23 0 * * *', maxAttempts: 3, timeoutMs: 10 * 60_000, handler: () => store.dailyChores() });

  /** Whether any telemetry was ever written here (so idle portals start no writer thread for jobs or /readyz). */
  const hasTelemetry = async (): Promise<boolean> => {
    if (config.database.dialect === 'sqlite') return existsSync(telemetryFile(config.database));
    const { rows } = await sql<{ any: number }>`select 1 as any from telemetry_events limit 1`.execute(db);
    return rows.length > 0;
  };
  const telemetryWriter = new TelemetryWriter({
    database: config.database,
    dataDir: config.dataDir,
    perDevicePerMinute: config.telemetry.perDevicePerMinute,
    log,
    queueEvents: config.telemetry.queueEvents,
    // PostgreSQL: an insert commits within seconds of its arrival stamp; the rollup stays this far behind.
    lagMs: config.database.dialect === 'postgres' ? TELEMETRY_COMMIT_LAG_MS : 0,
  });
  const telemetry = new TelemetryService({
    db,
    clock,
    deviceIds,
    apps,
    writer: telemetryWriter,
    openReader: () => openTelemetryReader(config.database),
    retentionDays: config.telemetry.retentionDays,
    hasTelemetry,
    jobs,
    log,
  });

  const notifications = new NotificationsService({
    db,
    clock,
    ids,
    jobs,
    mailer,
    seal: secrets.sealer('unsubscribe'),
    baseUrl: config.baseUrl,
    reviewDigestMs: config.notifications.reviewDigestMs,
  });
  const fanout = notificationFanout({
    db,
    events,
    logger: log,
    reactions: [notifications, webhooks],
    afterCommit: () => {
      jobWorker?.wake();
      events.notify();
    },
  });

  // Read when /metrics is scraped: nothing here runs until then.
  metrics.watch({
    db,
    database: config.database,
    jobKinds: () => jobs.kinds().map((k) => k.kind),
    eventLog: events,
    followers: { store: () => store.eventPosition() },
    telemetry: telemetryWriter,
    blobs,
  });

  const readiness: ReadinessCheck[] = [
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
    // The writer's thread is started by the first device that sends; a portal nobody has sent to
    // has no telemetry file yet to check (the data directory's own check covers where it goes).
    ['telemetry', async () => {
      if (telemetryWriter.started || (await hasTelemetry())) await telemetryWriter.start();
    }],
  ];

  let closing: Promise<void> | undefined;
  const close = async () => {
    // Running jobs (mail among them) finish or give their jobs back before the database goes;
    // then nothing is left that uses the database.
    try {
      await jobWorker?.stop(Math.floor(config.shutdownTimeoutMs / 2));
      // Download counts held in memory are written before the database goes.
      await store.stop();
      await indexWriter.close();
      await telemetry.close();
      await telemetryWriter.close();
      await fanout.stop();
      await liveStream.closeAll();
      await events.stop();
      await sharedRateLimits?.stop();
      if (deps.packageChecker === undefined) await checker.close();
    } finally {
      await database.close();
      await blobs.close?.();
      log.flush();
    }
  };

  return {
    config,
    clock,
    ids,
    log,
    database,
    db,
    blobs,
    blobReferences,
    jobs,
    jobWorker,
    events,
    audit,
    mailer,
    liveStream,
    notifications,
    notificationFanout: fanout,
    tokens,
    storeKeys,
    review: new ReviewService({ db, clock, audit, events, blobs, roles: admin, storeKeys, release, claimMs: config.review.claimMs }),
    auth,
    rateLimiter,
    accounts,
    sessions,
    emailTokens,
    twoFactor,
    admin,
    oauth,
    deviceGrant,
    apiKeys,
    signingKeys,
    apps,
    listings,
    appImages,
    versions,
    release,
    webhooks,
    store,
    storeIndex,
    deviceIds,
    telemetry,
    telemetryWriter,
    crashGuard: new CrashGuard({ db, clock, audit, events, jobs, health: deps.versionHealth ?? telemetry }),
    adminJobs,
    metrics,
    readiness,
    close: () => (closing ??= close()),
  };
}
