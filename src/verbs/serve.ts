import type { Config } from '../config/index.js';
import type { Verb } from './verb.js';

export const serveVerb: Verb = {
  name: 'serve',
  summary: 'apply pending migrations, then serve the portal (the default command)',
  usage: 'mosis-portal serve',
  help: `Applies pending migrations, then serves the portal on HOST:PORT until SIGTERM or SIGINT,
which let requests in flight finish (up to SHUTDOWN_TIMEOUT_MS) before the jobs stop and the
database closes. Configuration comes from environment variables (see the README).`,
  run: (config) => serve(config),
};

async function serve(config: Config): Promise<void> {
  const [{ default: closeWithGrace }, { createPortal }, { migrateToLatest }, { restrictStateModes }] = await Promise.all([
    import('close-with-grace'),
    import('../app.js'),
    import('../db/index.js'),
    import('../storage/index.js'),
  ]);
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
  // An upload cut off by a crash or kill -9 left a staging file; no request of this instance is
  // running yet, but another instance sharing PACKAGES_DIR may be receiving one: its files are
  // kept until idle for longer than a request may last. A bucket that cannot be reached right now
  // is no reason not to start: /readyz says not ready.
  const swept = await core.blobs.sweepStaging({ idleMs: config.http.requestMs + 60_000 }).catch((err: unknown) => {
    if ((err as { code?: unknown } | null)?.code !== 'storage_unavailable') throw err;
    log.warn({ err }, 'package storage cannot be reached: staging leftovers are swept at the next start');
    return 0;
  });
  if (swept > 0) log.info({ swept }, 'removed staging files of interrupted uploads');

  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to the timeout), then the
  // jobs, and close the database.
  let closing = false;
  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    closing = true;
    if (err) log.error({ err }, 'shutting down after an unexpected error');
    else log.info({ signal }, 'shutting down');
    await portal.close();
  });
  await app.listen({ port: config.port, host: config.host });

  // Started once the portal answers, so their first work (due jobs, the store's read model and
  // signed index) does not hold up the first request or /readyz. Jobs run once the database is
  // migrated; closing the portal stops them before the database closes.
  if (closing) return;
  core.jobWorker?.start();
  await core.events.start();
  await core.notificationFanout.start();
  // The store's read model builds in the background; requests are served meanwhile.
  await core.store.start();
}
