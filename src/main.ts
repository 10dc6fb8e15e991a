#!/usr/bin/env node
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { migrateToLatest, openDatabase } from './db/index.js';

const USAGE = `Usage: mosis-portal <command>

Commands:
  serve     apply pending migrations, then serve the portal (default)
  migrate   apply pending migrations and exit
  help      show this text

Configuration comes from environment variables; see the README.`;

async function serve(config: Config): Promise<void> {
  const { app, database, blobs } = await buildApp(config);
  const applied = await migrateToLatest(database.db);
  if (applied.length > 0) app.log.info({ applied }, 'migrations applied');
  // An upload cut off by a crash or kill -9 left a staging file; no request is running yet.
  const swept = await blobs.sweepStaging();
  if (swept > 0) app.log.info({ swept }, 'removed staging files of interrupted uploads');

  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to the timeout), close the database.
  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an unexpected error');
    else app.log.info({ signal }, 'shutting down');
    await app.close();
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

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'serve';
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  const verbs: Record<string, (config: Config) => Promise<void>> = { serve, migrate };
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
  await verb(config);
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
