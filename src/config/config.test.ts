import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('works with no environment at all: SQLite and packages under ./data on port 8080', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.baseUrl).toBe('http://localhost:8080');
    expect(config.dataDir).toBe(path.resolve('data'));
    expect(config.database).toEqual({ dialect: 'sqlite', file: path.resolve('data', 'portal.db') });
    expect(config.packagesDir).toBe(path.resolve('data', 'packages'));
    expect(config.backupsDir).toBe(path.resolve('data', 'backups'));
    expect(config.limits.packageBytes).toBe(256 * 1024 * 1024);
  });

  it('switches to PostgreSQL on a postgres:// DATABASE_URL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/portal' });
    expect(config.database).toEqual({ dialect: 'postgres', url: 'postgres://u@db:5432/portal' });
  });

  it('derives directories from DATA_DIR and strips a trailing slash from BASE_URL', () => {
    const config = loadConfig({ DATA_DIR: '/srv/mosis', BASE_URL: 'https://portal.example.com/' });
    expect(config.packagesDir).toBe('/srv/mosis/packages');
    expect(config.baseUrl).toBe('https://portal.example.com');
  });

  it('reads REQUIRE_2FA_ROLES as a set of roles, "none" as none, and refuses a role that does not exist', () => {
    expect(loadConfig({}).accounts.require2faRoles).toEqual(['reviewer', 'admin']);
    expect(loadConfig({ REQUIRE_2FA_ROLES: ' admin , developer,admin' }).accounts.require2faRoles).toEqual(['admin', 'developer']);
    expect(loadConfig({ REQUIRE_2FA_ROLES: 'none' }).accounts.require2faRoles).toEqual([]);
    for (const bad of ['root', 'admin,', 'admin,superuser', ' , ']) {
      expect(() => loadConfig({ REQUIRE_2FA_ROLES: bad }), bad).toThrow(/REQUIRE_2FA_ROLES must be a comma-separated list of developer, reviewer, admin, or "none"/);
    }
  });

  it.each([
    [undefined, false],
    ['false', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['127.0.0.1', ['127.0.0.1']],
    [' 10.0.0.0/8 , ::1, fd00::/8,uniquelocal ', ['10.0.0.0/8', '::1', 'fd00::/8', 'uniquelocal']],
  ])('reads TRUST_PROXY=%s as %j', (value, expected) => {
    expect(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it('has timeouts that let the largest package through a 1 Mbit/s line, and scales the request timeout with it', () => {
    const config = loadConfig({});
    expect(config.http).toEqual({ headersMs: 30_000, requestMs: 3_600_000, idleMs: 60_000, keepAliveMs: 72_000 });
    // 256 MiB at 125 000 bytes/s is 2 147 s: well inside the hour.
    expect(config.http.requestMs).toBeGreaterThan(((256 * 1024 * 1024) / 125_000) * 1000);
    const big = loadConfig({ MAX_PACKAGE_BYTES: String(2 * 1024 * 1024 * 1024) });
    expect(big.http.requestMs).toBe(Math.ceil(((2 * 1024 * 1024 * 1024) / 125_000) * 1.5) * 1000);
    expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '40000' }).http.requestMs).toBe(40_000);
  });

  it('leaves the package-check budget to the checker unless a variable sets part of it', () => {
    expect(loadConfig({}).packageChecks).toEqual({});
    expect(loadConfig({ PACKAGE_CHECK_TIMEOUT_MS: '5000', PACKAGE_CHECK_QUEUE: '0' }).packageChecks).toEqual({ timeMs: 5000, queue: 0 });
  });

  it('runs two jobs at once by default under a 30 s lease, and none on an instance that only serves', () => {
    expect(loadConfig({}).jobs).toEqual({ enabled: true, concurrency: 2, leaseMs: 30_000 });
    expect(loadConfig({ JOBS_ENABLED: 'false', JOBS_CONCURRENCY: '8', JOBS_LEASE_SECONDS: '5' }).jobs).toEqual({ enabled: false, concurrency: 8, leaseMs: 5_000 });
  });

  it('is frozen, deep down', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
  });

  it.each([
    ['PORT', 'abc', /PORT must be an integer between 1 and 65535 \(got "abc"\)/],
    ['PORT', '70000', /PORT must be an integer between 1 and 65535/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must be postgres:\/\/.* or sqlite:<path to file>/],
    ['BASE_URL', 'portal.example.com', /BASE_URL must be an absolute http\(s\) URL/],
    ['MAX_PACKAGE_BYTES', '-5', /MAX_PACKAGE_BYTES must be an integer/],
    ['PACKAGE_CHECK_TIMEOUT_MS', '50', /PACKAGE_CHECK_TIMEOUT_MS must be an integer between 100 and 3600000 \(got "50"\)/],
    ['PACKAGE_CHECK_MEMORY_MB', 'lots', /PACKAGE_CHECK_MEMORY_MB must be an integer between 16 and 65536/],
    ['PACKAGE_CHECK_THREADS', '0', /PACKAGE_CHECK_THREADS must be an integer between 1 and 64/],
    ['JOBS_ENABLED', 'no', /JOBS_ENABLED must be true or false \(got "no"\)/],
    ['JOBS_CONCURRENCY', '0', /JOBS_CONCURRENCY must be an integer between 1 and 64 \(got "0"\)/],
    ['JOBS_LEASE_SECONDS', '2', /JOBS_LEASE_SECONDS must be an integer between 3 and 3600 \(got "2"\)/],
    ['TRUST_PROXY', 'maybe', /TRUST_PROXY must be false, a number of proxy hops .* \(got "maybe"\)/],
    ['TRUST_PROXY', 'true', /TRUST_PROXY must be .*"true" is refused because it trusts an X-Forwarded-For from anyone/],
    ['TRUST_PROXY', '10.0.0.0/33', /TRUST_PROXY must be false, a number of proxy hops/],
    ['TRUST_PROXY', '10.0.0.1,proxy.example.com', /TRUST_PROXY must be false, a number of proxy hops/],
    ['HTTP_IDLE_TIMEOUT_MS', '0', /HTTP_IDLE_TIMEOUT_MS must be an integer between 100 and 3600000/],
    ['HTTP_REQUEST_TIMEOUT_MS', '20000', /HTTP_REQUEST_TIMEOUT_MS \(20000\) must be at least HTTP_HEADERS_TIMEOUT_MS \(30000\)/],
  ])('refuses %s=%s with one line naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describe('loadConfig: account secrets and web sessions', () => {
  it('takes SECRETS_KEY as base64 of 32 bytes, and never repeats a bad one in its error', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({}).accounts.secretsKey).toBeNull();
    expect(loadConfig({ SECRETS_KEY: key }).accounts.secretsKey).toBe(key);
    for (const bad of [Buffer.alloc(16, 7).toString('base64'), `${key.slice(0, -2)}!=`, 'not a key at all']) {
      expect(() => loadConfig({ SECRETS_KEY: bad })).toThrow(/SECRETS_KEY must be base64 of 32 random bytes/);
      try {
        loadConfig({ SECRETS_KEY: bad });
      } catch (err) {
        expect((err as Error).message).not.toContain(bad);
      }
    }
  });

  it('ends idle web sessions after 60 minutes unless WEB_SESSION_IDLE_MINUTES says otherwise', () => {
    expect(loadConfig({}).accounts.webSessionIdleMs).toBe(60 * 60_000);
    expect(loadConfig({ WEB_SESSION_IDLE_MINUTES: '15' }).accounts.webSessionIdleMs).toBe(15 * 60_000);
    expect(() => loadConfig({ WEB_SESSION_IDLE_MINUTES: '0' })).toThrow(/WEB_SESSION_IDLE_MINUTES must be an integer between 1 and 10080/);
  });

  it('refuses MAX_PACKAGE_BYTES above 5 GiB on the S3 store, which commits with one CopyObject', () => {
    const GiB = 1024 * 1024 * 1024;
    expect(loadConfig({ STORAGE_URL: 's3://bucket/p', MAX_PACKAGE_BYTES: String(5 * GiB) }).limits.packageBytes).toBe(5 * GiB);
    expect(() => loadConfig({ STORAGE_URL: 's3://bucket/p', MAX_PACKAGE_BYTES: String(5 * GiB + 1) })).toThrow(/MAX_PACKAGE_BYTES .* above 5 GiB/);
    expect(loadConfig({ MAX_PACKAGE_BYTES: String(6 * GiB) }).limits.packageBytes).toBe(6 * GiB);
  });
});
