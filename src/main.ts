#!/usr/bin/env node
import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { createPortal } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createCore, GC_GRACE_MS, type Core } from './core.js';
import { migrateToLatest, openDatabase } from './db/index.js';
import { AccessTokens, createAdminAccount, type TakeoverReport } from './features/accounts/index.js';
import { StoreKeys } from './features/review/index.js';
import { AppError } from './shared/index.js';
import { collectGarbage, PRIVATE_UMASK, restrictStateModes } from './storage/index.js';

const USAGE = `Usage: mosis-portal <command>

Commands:
  serve     apply pending migrations, then serve the portal (default)
  migrate   apply pending migrations and exit
  create-admin --email <email> [--password <password>]
            create an admin account; without --password a strong password is
            generated and printed once. An existing account is promoted and
            taken over: new password, its sessions, API keys, 2FA and
            provider links removed, email marked verified
  rotate-keys [--store]
            add a new access-token signing key; older keys keep verifying
            until their tokens expire. With --store: add a new store signing
            key instead; the older ones stay published, so every store
            signature made with them still verifies
  gc        delete stored packages and images nothing refers to any more
  help      show this text

Configuration comes from environment variables; see the README.`;

async function serve(config: Config): Promise<void> {
  // Before the database opens, so SQLite gives new -wal and -shm files the tightened mode.
  const loose = await restrictStateModes(config);
  const portal = await createPortal(config);
  const { app, core } = portal;
  const { log } = core;
  const applied = await migrateToLatest(core.db);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');
  for (const problem of loose) log.warn({ problem }, 'could not close this state to other OS users; fix its owner or mode');
  // TOTP secrets and recovery codes stored before the server key protected them: protect them now.
  const upgraded = await core.twoFactor.upgradeStoredSecrets();
  if (upgraded.totpSecrets + upgraded.recoveryCodes > 0) log.info(upgraded, 'sealed stored TOTP secrets and rehashed recovery codes');
  // An upload cut off by a crash or kill -9 left a staging file; no request is running yet.
  const swept = await core.blobs.sweepStaging();
  if (swept > 0) log.info({ swept }, 'removed staging files of interrupted uploads');

  // Jobs run once the database is migrated; closing the portal stops them before the database closes.
  core.jobWorker?.start();
  await core.events.start();
  await core.notificationFanout.start();
  // The store's read model builds in the background; requests are served meanwhile.
  await core.store.start();

  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to the timeout), then the
  // jobs, and close the database.
  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an unexpected error');
    else log.info({ signal }, 'shutting down');
    await portal.close();
  });
  await app.listen({ port: config.port, host: config.host });
}

async function migrate(config: Config): Promise<void> {
  const database = openDatabase(config.database);
  try {
    const applied = await migrateToLatest(database.db);
    console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
  } finally {
    await database.close();
  }
}


/** Runs a CLI verb on a core of its own (no HTTP server, no jobs), migrated first, closed after. */
async function withCore<T>(config: Config, verb: (core: Core) => Promise<T>): Promise<T> {
  // Quiet: a verb talks to the operator on stdout; only warnings and errors are logged.
  const core = await createCore({ ...config, logLevel: 'warn' });
  try {
    await migrateToLatest(core.db);
    return await verb(core);
  } finally {
    await core.close();
  }
}

async function gc(config: Config): Promise<void> {
  await withCore(config, async (core) => {
    const result = await collectGarbage(core.blobs, (sha256) => core.blobReferences.isReferenced(sha256), { graceMs: GC_GRACE_MS, now: core.clock.now() });
    console.log(`Deleted ${result.deleted} unreferenced blob(s); kept ${result.kept} in use and ${result.tooYoung} younger than an hour.`);
  });
}

async function createAdmin(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, password: { type: 'string' } }, strict: true });
  if (!values.email) throw new UsageError('create-admin needs --email <email>');
  const email = values.email;
  await withCore(config, async (core) => {
    const result = await createAdminAccount(core, { email, password: values.password });
    if (result.takeover) {
      console.log(promotionReport(email, result.takeover, result.suspended === true));
    } else {
      console.log(`Created admin ${email}.`);
    }
    // Printed once and never stored in clear: the operator copies it now or resets it later.
    if (result.generatedPassword) console.log(`Password (shown once): ${result.generatedPassword}`);
    console.log('Admins must turn on two-factor authentication (POST /v1/auth/2fa/setup) before using admin routes.');
  });
}

/** Says exactly what promoting an existing account took from whoever held it before. */
function promotionReport(email: string, t: TakeoverReport, suspended: boolean): string {
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const lines = [
    `${email} already had an account; it is now an admin. Anyone could have registered that address, so the account was taken from its previous holder:`,
    t.password_replaced ? '  - its password was replaced; the old one no longer works' : '  - it had no password (provider sign-in only); it has one now',
    `  - ${plural(t.sessions_ended, 'session')} ended, every refresh token revoked`,
    `  - ${plural(t.api_keys_revoked, 'API key')} revoked`,
    `  - ${plural(t.signing_keys_revoked, 'package signing key')} revoked`,
    t.totp_removed ? '  - two-factor authentication and its recovery codes removed' : '  - it had no two-factor authentication',
    `  - ${plural(t.oauth_identities_unlinked, 'GitHub/Google/OpenID sign-in')} unlinked`,
    '  - its email address is marked verified (you vouch for it)',
  ];
  if (suspended) lines.push('It is suspended: another admin must reactivate it (PATCH /v1/admin/users/{id} {"status": "active"}) before it can sign in.');
  return lines.join('\n');
}

async function rotateKeys(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { store: { type: 'boolean', default: false } }, strict: true });
  if (values.store) {
    const { keyId, published } = await withCore(config, (core) => StoreKeys.rotate(config.dataDir, core.clock));
    console.log(`New store signing key ${keyId}; it signs versions approved from now on (running servers pick it up within seconds).`);
    console.log(`${published} store key(s) are published at /.well-known/mosis-store-keys.json.`);
    return;
  }
  const { kid, dropped } = await withCore(config, (core) => AccessTokens.rotate(config.dataDir, core.clock));
  console.log(`New access-token signing key ${kid}; running servers pick it up within seconds.`);
  if (dropped.length > 0) console.log(`Removed retired keys whose tokens have all expired: ${dropped.join(', ')}`);
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'serve';
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  const verbs: Record<string, (config: Config, args: string[]) => Promise<void>> = { serve, migrate, gc, 'create-admin': createAdmin, 'rotate-keys': rotateKeys };
  const verb = verbs[command];
  if (!verb) {
    console.error(`mosis-portal: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`mosis-portal: ${err.message}`);
      return 1;
    }
    throw err;
  }
  // Everything any verb writes (database, packages, keys, mail, backups) is for this OS user alone.
  process.umask(PRIVATE_UMASK);
  try {
    await verb(config, argv.slice(1));
  } catch (err) {
    // Wrong arguments and refused input (e.g. a weak --password) are the operator's to fix: say so plainly.
    if (err instanceof UsageError || (err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err instanceof AppError) {
      console.error(`mosis-portal: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    console.error('mosis-portal: failed to start:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
