import path from 'node:path';
import { z } from 'zod';

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
  readonly packagesDir: string;
  readonly backupsDir: string;
  readonly logLevel: LogLevel;
  readonly trustProxy: boolean;
  readonly limits: {
    /** Largest .mosis upload accepted, in bytes; enforced while the body streams in. */
    readonly packageBytes: number;
    /** Most bytes a package may inflate to, all files together (zip bombs stop here). */
    readonly packageInflatedBytes: number;
    /** Largest JSON request body, in bytes. */
    readonly jsonBytes: number;
  };
  readonly shutdownTimeoutMs: number;
}

export type DatabaseConfig =
  | { readonly dialect: 'sqlite'; readonly file: string }
  | { readonly dialect: 'postgres'; readonly url: string };

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

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

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
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  TRUST_PROXY: bool.default(false),
  MAX_PACKAGE_BYTES: int(1024, 8 * 1024 * MiB).default(256 * MiB),
  MAX_PACKAGE_INFLATED_BYTES: int(1024, 64 * 1024 * MiB).default(512 * MiB),
  MAX_JSON_BYTES: int(1024, 64 * MiB).default(1 * MiB),
  SHUTDOWN_TIMEOUT_MS: int(0, 10 * 60 * 1000).default(30_000),
});

type Env = Record<string, string | undefined>;

/** Reads the environment into a frozen Config, or throws ConfigError with one line per bad variable. */
export function loadConfig(env: Env = process.env): Config {
  // Empty strings count as unset, so `FOO= mosis-portal serve` falls back to the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = present[name];
      return `${name} must be ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    baseUrl: e.BASE_URL ?? `http://localhost:${e.PORT}`,
    dataDir,
    database: databaseConfig(e.DATABASE_URL, dataDir),
    packagesDir: path.resolve(e.PACKAGES_DIR ?? path.join(dataDir, 'packages')),
    backupsDir: path.resolve(e.BACKUPS_DIR ?? path.join(dataDir, 'backups')),
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    limits: { packageBytes: e.MAX_PACKAGE_BYTES, packageInflatedBytes: e.MAX_PACKAGE_INFLATED_BYTES, jsonBytes: e.MAX_JSON_BYTES },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
  return deepFreeze(config);
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
