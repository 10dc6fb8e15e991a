import path from 'node:path';
import { z } from 'zod';
import { trustProxySchema, type TrustProxy } from './trust-proxy.js';
import { ROLES, type Role } from '../shared/actor.js';
import { parseCron } from '../shared/cron.js';

/**
 * The portal's whole configuration. Built once from the environment at start; nothing else in the
 * code base reads process.env, so every knob is listed here and in the README's table.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  /** Where package bytes live when `storage` is the filesystem (and where a migration reads them from). */
  readonly packagesDir: string;
  /** The BlobStore: PACKAGES_DIR on local disk (the NAS), or an S3-compatible bucket (scale-out). */
  readonly storage: StorageConfig;
  readonly backupsDir: string;
  /** Online snapshots into backupsDir (src/backup/): the recurring job and what it keeps. */
  readonly backups: {
    /** Whether this instance defines the recurring snapshot job (default: on SQLite). */
    readonly enabled: boolean;
    /** When it runs: a cron expression in UTC. */
    readonly schedule: string;
    /** Snapshots kept: the newest of each of the last this-many hours, days and (ISO) weeks that have one. */
    readonly keep: { readonly hourly: number; readonly daily: number; readonly weekly: number };
  };
  readonly logLevel: LogLevel;
  /** Whose X-Forwarded-For sets the client IP: nobody, the nearest n hops, or these proxies. */
  readonly trustProxy: TrustProxy;
  readonly limits: {
    /** Largest .mosis upload accepted, in bytes; enforced while the body streams in. */
    readonly packageBytes: number;
    /** Most bytes a package may inflate to, all files together (zip bombs stop here). */
    readonly packageInflatedBytes: number;
    /** Largest JSON request body, in bytes. */
    readonly jsonBytes: number;
  };
  readonly shutdownTimeoutMs: number;
  readonly http: HttpTimeouts;
  /** Overrides of the package checks' budget (src/package/check-pool.ts holds the defaults). */
  readonly packageChecks: {
    readonly timeMs?: number;
    readonly memoryMb?: number;
    readonly threads?: number;
    readonly queue?: number;
  };
  readonly accounts: AccountsConfig;
  /** The durable job queue's workers in this process (src/jobs/). */
  readonly jobs: {
    /** False for an instance that only serves: it still enqueues, other instances run the jobs. */
    readonly enabled: boolean;
    /** Jobs this instance runs at once. */
    readonly concurrency: number;
    /**
     * How long a claimed job stays this instance's without a heartbeat (renewed every third of it):
     * after a crash or kill -9, its jobs run elsewhere (or after restart) once this has passed.
     */
    readonly leaseMs: number;
  };
  readonly review: {
    /** How long a reviewer's claim holds a version before another reviewer may take it. */
    readonly claimMs: number;
  };
  readonly store: {
    /** Requests per minute one client address may make to /v1/store; 0 turns the limit off. */
    readonly rateLimitPerMinute: number;
    /** Bytes of serialized catalog pages, listings and versions the store keeps in memory. */
    readonly cacheBytes: number;
  };
  readonly telemetry: {
    /** Days raw events and crash reports are kept after they arrive (aggregates are kept). */
    readonly retentionDays: number;
    /** Most events accepted and not yet on disk; beyond it ingestion answers 503. */
    readonly queueEvents: number;
    /** Telemetry requests per minute one client address may make; 0 turns the limit off. */
    readonly perAddressPerMinute: number;
    /** Telemetry requests per minute one device id may make; 0 turns the limit off. */
    readonly perDevicePerMinute: number;
  };
  readonly notifications: {
    /** At most one "waiting for review" digest per reviewer per this long. */
    readonly reviewDigestMs: number;
    /** Webhook URLs may be plain http (https only otherwise). */
    readonly webhookAllowHttp: boolean;
    /** Webhooks may reach loopback, private and link-local addresses (a LAN, tests). */
    readonly webhookAllowPrivate: boolean;
    /** How often a live event stream sends a heartbeat comment. */
    readonly streamHeartbeatMs: number;
    /** Live event streams one person may hold open at once. */
    readonly streamsPerUser: number;
    /** Live event streams this instance holds at most. */
    readonly streamsMax: number;
  };
  /** GET /metrics (Prometheus text format, src/http/metrics.ts). */
  readonly metrics: {
    /** The bearer token a scrape must send. */
    readonly token: string | null;
    /** Without a token: true answers anyone who reaches the port, false (the default) answers 404. */
    readonly public: boolean;
  };
  /** Litestream's continuous replication of the SQLite files (`mosis-portal replicate`, docs/litestream.md). */
  readonly litestream: LitestreamConfig;
}

/**
 * How long a client may take, so a connection cannot be held for ever by sending a byte a minute.
 * An upload is measured by its silences (idle) and its whole duration (request), never by a rate,
 * so a large package on a slow line passes while a client that stops sending does not.
 */
export interface HttpTimeouts {
  /** From a request's first byte to the end of its headers. */
  readonly headersMs: number;
  /** From a request's first byte to the end of its body; the response may take longer. */
  readonly requestMs: number;
  /** No byte either way for this long closes the connection. */
  readonly idleMs: number;
  /** A kept-alive connection waiting for its next request closes after this long. */
  readonly keepAliveMs: number;
}

export interface OAuthClientConfig {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Accounts and access: email, 2FA policy, abuse limits and OAuth providers. */
export interface AccountsConfig {
  /** smtp(s)://user:pass@host:port; null writes each message to DATA_DIR/outbox as an .eml file. */
  readonly smtpUrl: string | null;
  readonly mailFrom: string;
  /** Roles that must turn on TOTP, and sign in with it, before they may use their privileged routes. */
  readonly require2faRoles: readonly Role[];
  /**
   * Base64 of the 32-byte key that seals TOTP secrets and keys recovery-code hashes; null keeps
   * the key in DATA_DIR/secrets. Instances sharing one database must share the key.
   */
  readonly secretsKey: string | null;
  /** A web UI session unused for this long ends. */
  readonly webSessionIdleMs: number;
  readonly rateLimit: {
    readonly windowMs: number;
    /** Attempts per client IP per window on each auth endpoint. */
    readonly perIp: number;
    /** Attempts per account (email, user or token) per window on each auth endpoint. */
    readonly perAccount: number;
  };
  readonly oauth: {
    readonly github: OAuthClientConfig | null;
    readonly google: OAuthClientConfig | null;
    readonly oidc: (OAuthClientConfig & { readonly issuer: string }) | null;
  };
}

export type DatabaseConfig =
  | { readonly dialect: 'sqlite'; readonly file: string }
  | { readonly dialect: 'postgres'; readonly url: string };

export type StorageConfig =
  | { readonly kind: 'fs'; readonly dir: string }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      /** Key prefix inside the bucket ('' for its root); blobs go under <prefix>/sha256/. */
      readonly prefix: string;
      /** null: the provider's own endpoint (AWS); set for MinIO, Ceph, Garage, R2, B2. */
      readonly endpoint: string | null;
      readonly region: string;
      /** Bucket in the path (http://host/bucket/key) instead of the host name; most self-hosted stores want it. */
      readonly forcePathStyle: boolean;
      /** null: the AWS SDK's default chain (AWS_ACCESS_KEY_ID…, a profile, an instance role). */
      readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | null;
      /** proxy: the portal streams downloads from the bucket; redirect: a 302 to a presigned URL. */
      readonly downloads: 'proxy' | 'redirect';
      /** How long a presigned download URL stays valid. */
      readonly redirectSeconds: number;
    };

/**
 * What `mosis-portal replicate` writes into DATA_DIR/litestream.yml: a file replica under
 * BACKUPS_DIR/litestream always, an S3-compatible bucket when one is named. Credentials are not
 * here: Litestream reads LITESTREAM_ACCESS_KEY_ID and LITESTREAM_SECRET_ACCESS_KEY itself.
 */
export interface LitestreamConfig {
  /** The litestream binary; null: the one @flydotio/litestream installed for this platform. */
  readonly binary: string | null;
  /** How often new WAL frames are copied to the file replica. */
  readonly syncMs: number;
  /** How long snapshots and WAL are kept: the window a point-in-time restore can reach back. */
  readonly retentionHours: number;
  /** How often a new snapshot is taken (a restore replays the WAL written since the last one). */
  readonly snapshotHours: number;
  readonly s3: {
    readonly bucket: string;
    /** Key prefix inside the bucket ('' for the bucket's root); each database goes under <prefix>/<file name>. */
    readonly prefix: string;
    readonly endpoint: string | null;
    readonly region: string | null;
    /** null: Litestream decides (path style whenever an endpoint is set). */
    readonly forcePathStyle: boolean | null;
    /** How often new WAL frames are uploaded: each upload is a request the provider may bill. */
    readonly syncMs: number;
  } | null;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const MiB = 1024 * 1024;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `an integer between ${min} and ${max}`).max(max, `an integer between ${min} and ${max}`));

const httpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.search === '' && u.hash === '';
    } catch {
      return false;
    }
  }, 'an absolute http(s) URL without query or fragment, e.g. https://portal.example.com')
  .transform((v) => v.replace(/\/+$/, ''));

const databaseUrl = z
  .string()
  .trim()
  .refine(
    (v) => /^postgres(ql)?:\/\/.+/.test(v) || /^sqlite:.+/.test(v),
    'postgres://user@host:port/db or sqlite:<path to file>',
  );

const envSchema = z.object({
  PORT: int(1, 65535).default(8080),
  HOST: z.string().trim().min(1, 'a host name or IP address to listen on').default('0.0.0.0'),
  BASE_URL: httpUrl.optional(),
  DATA_DIR: z.string().trim().min(1, 'a directory path').default('./data'),
  DATABASE_URL: databaseUrl.optional(),
  PACKAGES_DIR: z.string().trim().min(1, 'a directory path').optional(),
  BACKUPS_DIR: z.string().trim().min(1, 'a directory path').optional(),
  BACKUPS_ENABLED: z.enum(['true', 'false'], { message: 'true or false' }).optional(),
  BACKUP_SCHEDULE: z
    .string()
    .trim()
    .refine((v) => {
      try {
        parseCron(v);
        return true;
      } catch {
        return false;
      }
    }, 'a cron expression in UTC, e.g. "7 * * * *" (minute 7 of every hour)')
    .default('7 * * * *'),
  BACKUP_KEEP_HOURLY: int(0, 100_000).default(24),
  BACKUP_KEEP_DAILY: int(0, 100_000).default(7),
  BACKUP_KEEP_WEEKLY: int(0, 100_000).default(4),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  TRUST_PROXY: trustProxySchema.default(false),
  MAX_PACKAGE_BYTES: int(1024, 8 * 1024 * MiB).default(256 * MiB),
  MAX_PACKAGE_INFLATED_BYTES: int(1024, 64 * 1024 * MiB).default(512 * MiB),
  MAX_JSON_BYTES: int(1024, 64 * MiB).default(1 * MiB),
  SHUTDOWN_TIMEOUT_MS: int(0, 10 * 60 * 1000).default(30_000),
  PACKAGE_CHECK_TIMEOUT_MS: int(100, 60 * 60 * 1000).optional(),
  PACKAGE_CHECK_MEMORY_MB: int(16, 64 * 1024).optional(),
  PACKAGE_CHECK_THREADS: int(1, 64).optional(),
  PACKAGE_CHECK_QUEUE: int(0, 10_000).optional(),
  JOBS_ENABLED: z.enum(['true', 'false'], { message: 'true or false' }).default('true'),
  JOBS_CONCURRENCY: int(1, 64).default(2),
  JOBS_LEASE_SECONDS: int(3, 3600).default(30),
  REVIEW_CLAIM_MINUTES: int(1, 24 * 60).default(30),
  STORE_RATE_LIMIT_PER_MINUTE: int(0, 10_000_000).default(1200),
  STORE_CACHE_MB: int(1, 4096).default(16),
  TELEMETRY_RETENTION_DAYS: int(1, 3650).default(7),
  TELEMETRY_QUEUE_EVENTS: int(500, 10_000_000).default(50_000),
  TELEMETRY_RATE_LIMIT_PER_MINUTE: int(0, 10_000_000).default(600),
  TELEMETRY_DEVICE_RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(120),
  REVIEW_DIGEST_MINUTES: int(1, 7 * 24 * 60).default(30),
  WEBHOOK_ALLOW_HTTP: z.enum(['true', 'false'], { message: 'true or false' }).default('false'),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false'], { message: 'true or false' }).default('false'),
  EVENTS_HEARTBEAT_SECONDS: int(1, 3600).default(20),
  EVENTS_STREAMS_PER_USER: int(1, 1000).default(10),
  EVENTS_STREAMS_MAX: int(1, 1_000_000).default(10_000),
  HTTP_HEADERS_TIMEOUT_MS: int(100, 10 * 60 * 1000).default(30_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 7 * 24 * 3600 * 1000).optional(),
  HTTP_IDLE_TIMEOUT_MS: int(100, 60 * 60 * 1000).default(60_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 60 * 60 * 1000).default(72_000),
  SMTP_URL: z
    .string()
    .trim()
    .refine((v) => /^smtps?:\/\/[^\s]+$/.test(v), 'smtp://user:password@host:port or smtps://…')
    .optional(),
  MAIL_FROM: z.string().trim().min(3, 'an address such as "Mosis Portal <portal@example.com>"').default('Mosis Portal <portal@localhost>'),
  REQUIRE_2FA_ROLES: z
    .string()
    .trim()
    .refine((v) => v === 'none' || v.split(',').every((r) => (ROLES as readonly string[]).includes(r.trim())), `a comma-separated list of ${ROLES.join(', ')}, or "none"`)
    .default('reviewer,admin'),
  SECRETS_KEY: z
    .string()
    .trim()
    .refine((v) => /^[A-Za-z0-9+/_-]{43}=?$/.test(v) && Buffer.from(v, 'base64').length === 32, 'base64 of 32 random bytes (openssl rand -base64 32)')
    .optional(),
  WEB_SESSION_IDLE_MINUTES: int(1, 7 * 24 * 60).default(60),
  AUTH_RATE_LIMIT_WINDOW_SECONDS: int(1, 24 * 3600).default(300),
  AUTH_RATE_LIMIT_PER_IP: int(1, 1_000_000).default(100),
  AUTH_RATE_LIMIT_PER_ACCOUNT: int(1, 1_000_000).default(10),
  GITHUB_CLIENT_ID: z.string().trim().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().trim().min(1).optional(),
  GOOGLE_CLIENT_ID: z.string().trim().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().trim().min(1).optional(),
  OIDC_ISSUER: httpUrl.optional(),
  OIDC_CLIENT_ID: z.string().trim().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().trim().min(1).optional(),
  METRICS_TOKEN: z
    .string()
    .trim()
    .min(16, 'at least 16 characters (openssl rand -hex 32)')
    .regex(/^\S+$/, 'without spaces (a scrape sends it after "Bearer ")')
    .optional(),
  METRICS_PUBLIC: z.enum(['true', 'false'], { message: 'true or false' }).default('false'),
  LITESTREAM_BIN: z.string().trim().min(1, 'the path of a litestream 0.3 binary').optional(),
  LITESTREAM_SYNC_MS: int(100, 3_600_000).default(1000),
  LITESTREAM_RETENTION_HOURS: int(1, 8760).default(24),
  LITESTREAM_SNAPSHOT_HOURS: int(1, 8760).default(6),
  LITESTREAM_S3_URL: z
    .string()
    .trim()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s?#]*)?$/, 's3://bucket or s3://bucket/prefix')
    .optional(),
  LITESTREAM_S3_ENDPOINT: httpUrl.optional(),
  LITESTREAM_S3_REGION: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a region name such as us-east-1 or auto').optional(),
  LITESTREAM_S3_FORCE_PATH_STYLE: z.enum(['true', 'false'], { message: 'true or false' }).optional(),
  LITESTREAM_S3_SYNC_SECONDS: int(1, 86_400).default(10),
  STORAGE_URL: z
    .string()
    .trim()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s?#]*)?$/, 's3://bucket or s3://bucket/prefix')
    .optional(),
  S3_ENDPOINT: httpUrl.optional(),
  S3_REGION: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a region name such as us-east-1 or auto').default('us-east-1'),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false'], { message: 'true or false' }).optional(),
  S3_ACCESS_KEY_ID: z.string().trim().min(1).max(256).optional(),
  S3_SECRET_ACCESS_KEY: z.string().trim().min(1).max(256).optional(),
  STORAGE_DOWNLOADS: z.enum(['proxy', 'redirect'], { message: 'proxy or redirect' }).default('proxy'),
  STORAGE_REDIRECT_SECONDS: int(10, 3600).default(300),
});

type Env = Record<string, string | undefined>;

/** Variables whose value a configuration error never repeats. */
const SECRET_VARIABLES = new Set(['SECRETS_KEY']);
SECRET_VARIABLES.add('METRICS_TOKEN');
SECRET_VARIABLES.add('S3_SECRET_ACCESS_KEY');

/** Reads the environment into a frozen Config, or throws ConfigError with one line per bad variable. */
export function loadConfig(env: Env = process.env): Config {
  // Empty strings count as unset, so `FOO= mosis-portal serve` falls back to the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      // A near-miss secret must not end up in a log or a terminal scroll-back.
      const got = SECRET_VARIABLES.has(name) ? undefined : present[name];
      return `${name} must be ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const providerProblems = [
    pairProblem('GITHUB', e.GITHUB_CLIENT_ID, e.GITHUB_CLIENT_SECRET),
    pairProblem('GOOGLE', e.GOOGLE_CLIENT_ID, e.GOOGLE_CLIENT_SECRET),
    pairProblem('OIDC', e.OIDC_CLIENT_ID, e.OIDC_CLIENT_SECRET),
    (e.OIDC_ISSUER === undefined) !== (e.OIDC_CLIENT_ID === undefined) ? 'OIDC_ISSUER and OIDC_CLIENT_ID must be set together' : null,
  ].filter((p): p is string => p !== null);
  if (providerProblems.length > 0) throw new ConfigError(`Invalid configuration: ${providerProblems.join('; ')}`);
  if (e.LITESTREAM_S3_URL === undefined && (e.LITESTREAM_S3_ENDPOINT ?? e.LITESTREAM_S3_REGION ?? e.LITESTREAM_S3_FORCE_PATH_STYLE) !== undefined) {
    throw new ConfigError('Invalid configuration: LITESTREAM_S3_ENDPOINT, LITESTREAM_S3_REGION and LITESTREAM_S3_FORCE_PATH_STYLE need LITESTREAM_S3_URL (s3://bucket/prefix)');
  }
  if (e.STORAGE_URL === undefined && (e.S3_ENDPOINT ?? e.S3_FORCE_PATH_STYLE ?? e.S3_ACCESS_KEY_ID ?? e.S3_SECRET_ACCESS_KEY) !== undefined) {
    throw new ConfigError('Invalid configuration: S3_ENDPOINT, S3_FORCE_PATH_STYLE and the S3 keys need STORAGE_URL (s3://bucket/prefix)');
  }
  // The S3 store commits an upload with one CopyObject, which S3 limits to 5 GiB.
  if (e.STORAGE_URL !== undefined && e.MAX_PACKAGE_BYTES > 5 * 1024 * MiB) {
    throw new ConfigError(`Invalid configuration: MAX_PACKAGE_BYTES (${e.MAX_PACKAGE_BYTES}) is above 5 GiB (${5 * 1024 * MiB}), the largest object the S3 store can commit (S3 copies at most 5 GiB at once)`);
  }
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    throw new ConfigError('Invalid configuration: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together');
  }
  const requestTimeoutMs = e.HTTP_REQUEST_TIMEOUT_MS ?? defaultRequestTimeoutMs(e.MAX_PACKAGE_BYTES);
  if (requestTimeoutMs < e.HTTP_HEADERS_TIMEOUT_MS) {
    throw new ConfigError(`Invalid configuration: HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs}) must be at least HTTP_HEADERS_TIMEOUT_MS (${e.HTTP_HEADERS_TIMEOUT_MS})`);
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const packagesDir = path.resolve(e.PACKAGES_DIR ?? path.join(dataDir, 'packages'));
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    baseUrl: e.BASE_URL ?? `http://localhost:${e.PORT}`,
    dataDir,
    database: databaseConfig(e.DATABASE_URL, dataDir),
    packagesDir,
    storage:
      e.STORAGE_URL === undefined
        ? { kind: 'fs', dir: packagesDir }
        : {
            kind: 's3',
            ...s3Location(e.STORAGE_URL),
            endpoint: e.S3_ENDPOINT ?? null,
            region: e.S3_REGION,
            // Path style is what self-hosted stores (MinIO, Ceph, Garage) need; AWS wants virtual hosts.
            forcePathStyle: e.S3_FORCE_PATH_STYLE === undefined ? e.S3_ENDPOINT !== undefined : e.S3_FORCE_PATH_STYLE === 'true',
            credentials:
              e.S3_ACCESS_KEY_ID !== undefined && e.S3_SECRET_ACCESS_KEY !== undefined
                ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
                : null,
            downloads: e.STORAGE_DOWNLOADS,
            redirectSeconds: e.STORAGE_REDIRECT_SECONDS,
          },
    backupsDir: path.resolve(e.BACKUPS_DIR ?? path.join(dataDir, 'backups')),
    backups: {
      // On PostgreSQL the database is pg_dump's or point-in-time recovery's: snapshots only list blobs.
      enabled: e.BACKUPS_ENABLED === undefined ? !e.DATABASE_URL?.startsWith('postgres') : e.BACKUPS_ENABLED === 'true',
      schedule: e.BACKUP_SCHEDULE,
      keep: { hourly: e.BACKUP_KEEP_HOURLY, daily: e.BACKUP_KEEP_DAILY, weekly: e.BACKUP_KEEP_WEEKLY },
    },
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    limits: { packageBytes: e.MAX_PACKAGE_BYTES, packageInflatedBytes: e.MAX_PACKAGE_INFLATED_BYTES, jsonBytes: e.MAX_JSON_BYTES },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    packageChecks: definedOnly({ timeMs: e.PACKAGE_CHECK_TIMEOUT_MS, memoryMb: e.PACKAGE_CHECK_MEMORY_MB, threads: e.PACKAGE_CHECK_THREADS, queue: e.PACKAGE_CHECK_QUEUE }),
    jobs: { enabled: e.JOBS_ENABLED === 'true', concurrency: e.JOBS_CONCURRENCY, leaseMs: e.JOBS_LEASE_SECONDS * 1000 },
    review: { claimMs: e.REVIEW_CLAIM_MINUTES * 60 * 1000 },
    store: { rateLimitPerMinute: e.STORE_RATE_LIMIT_PER_MINUTE, cacheBytes: e.STORE_CACHE_MB * MiB },
    telemetry: {
      retentionDays: e.TELEMETRY_RETENTION_DAYS,
      queueEvents: e.TELEMETRY_QUEUE_EVENTS,
      perAddressPerMinute: e.TELEMETRY_RATE_LIMIT_PER_MINUTE,
      perDevicePerMinute: e.TELEMETRY_DEVICE_RATE_LIMIT_PER_MINUTE,
    },
    notifications: {
      reviewDigestMs: e.REVIEW_DIGEST_MINUTES * 60 * 1000,
      webhookAllowHttp: e.WEBHOOK_ALLOW_HTTP === 'true',
      webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'true',
      streamHeartbeatMs: e.EVENTS_HEARTBEAT_SECONDS * 1000,
      streamsPerUser: e.EVENTS_STREAMS_PER_USER,
      streamsMax: e.EVENTS_STREAMS_MAX,
    },
    metrics: { token: e.METRICS_TOKEN ?? null, public: e.METRICS_PUBLIC === 'true' },
    litestream: {
      binary: e.LITESTREAM_BIN === undefined ? null : path.resolve(e.LITESTREAM_BIN),
      syncMs: e.LITESTREAM_SYNC_MS,
      retentionHours: e.LITESTREAM_RETENTION_HOURS,
      snapshotHours: e.LITESTREAM_SNAPSHOT_HOURS,
      s3:
        e.LITESTREAM_S3_URL === undefined
          ? null
          : {
              ...s3Location(e.LITESTREAM_S3_URL),
              endpoint: e.LITESTREAM_S3_ENDPOINT ?? null,
              region: e.LITESTREAM_S3_REGION ?? null,
              forcePathStyle: e.LITESTREAM_S3_FORCE_PATH_STYLE === undefined ? null : e.LITESTREAM_S3_FORCE_PATH_STYLE === 'true',
              syncMs: e.LITESTREAM_S3_SYNC_SECONDS * 1000,
            },
    },
    http: { headersMs: e.HTTP_HEADERS_TIMEOUT_MS, requestMs: requestTimeoutMs, idleMs: e.HTTP_IDLE_TIMEOUT_MS, keepAliveMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS },
    accounts: {
      smtpUrl: e.SMTP_URL ?? null,
      mailFrom: e.MAIL_FROM,
      require2faRoles:
        e.REQUIRE_2FA_ROLES === 'none' ? [] : [...new Set(e.REQUIRE_2FA_ROLES.split(',').map((r) => r.trim() as Role))],
      secretsKey: e.SECRETS_KEY ?? null,
      webSessionIdleMs: e.WEB_SESSION_IDLE_MINUTES * 60 * 1000,
      rateLimit: { windowMs: e.AUTH_RATE_LIMIT_WINDOW_SECONDS * 1000, perIp: e.AUTH_RATE_LIMIT_PER_IP, perAccount: e.AUTH_RATE_LIMIT_PER_ACCOUNT },
      oauth: {
        github: e.GITHUB_CLIENT_ID && e.GITHUB_CLIENT_SECRET ? { clientId: e.GITHUB_CLIENT_ID, clientSecret: e.GITHUB_CLIENT_SECRET } : null,
        google: e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_SECRET ? { clientId: e.GOOGLE_CLIENT_ID, clientSecret: e.GOOGLE_CLIENT_SECRET } : null,
        oidc:
          e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET
            ? { issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET }
            : null,
      },
    },
  };
  return deepFreeze(config);
}

/** The slowest line on which the largest package must still upload by default: 1 Mbit/s. */
const SLOW_LINE_BYTES_PER_SECOND = 125_000;

/** An hour, or half again the time MAX_PACKAGE_BYTES takes on the slow line when that is longer. */
function defaultRequestTimeoutMs(packageBytes: number): number {
  return Math.max(60 * 60 * 1000, Math.ceil((packageBytes / SLOW_LINE_BYTES_PER_SECOND) * 1.5) * 1000);
}

/** A provider needs both halves of its client credentials, or neither. */
function pairProblem(name: string, id: string | undefined, secret: string | undefined): string | null {
  return (id === undefined) !== (secret === undefined) ? `${name}_CLIENT_ID and ${name}_CLIENT_SECRET must be set together` : null;
}

function databaseConfig(url: string | undefined, dataDir: string): DatabaseConfig {
  if (url === undefined) return { dialect: 'sqlite', file: path.join(dataDir, 'portal.db') };
  if (url.startsWith('sqlite:')) return { dialect: 'sqlite', file: path.resolve(url.slice('sqlite:'.length)) };
  return { dialect: 'postgres', url };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The entries that were set, so an unset variable leaves its default to the code that owns it. */
function definedOnly<T extends Record<string, number | undefined>>(values: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: number };
}

/** s3://bucket/some/prefix -> the bucket and the key prefix without surrounding slashes. */
function s3Location(url: string): { bucket: string; prefix: string } {
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  if (slash === -1) return { bucket: rest, prefix: '' };
  return { bucket: rest.slice(0, slash), prefix: rest.slice(slash + 1).replace(/^\/+|\/+$/g, '') };
}
