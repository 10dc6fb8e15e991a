import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config/index.js';
import { fileReplica, litestreamBinary, NoLitestreamBinary, replicatedDatabases, shellQuote, startFlags, writeLitestreamConfig } from './litestream.js';
import type { Verb } from './verb.js';

export const replicateVerb: Verb = {
  name: 'replicate',
  summary: 'serve the portal under Litestream, which streams its SQLite files to BACKUPS_DIR (and S3)',
  usage: 'mosis-portal replicate',
  help: `Writes DATA_DIR/litestream.yml from the configuration (every start; it is never edited by hand),
then runs \`litestream replicate\`, which runs \`mosis-portal serve\` (with npm start's heap flags,
then this process's own Node flags) and streams every change of the portal database and of
telemetry.db to BACKUPS_DIR/litestream/<file name> and, when LITESTREAM_S3_URL is set, to that
bucket. S3 credentials come from LITESTREAM_ACCESS_KEY_ID and LITESTREAM_SECRET_ACCESS_KEY in the
environment; they are never written to the file. SIGTERM and SIGINT go to Litestream, which passes
them to the portal (its graceful shutdown runs), makes a last sync and exits with it. The
container runs this command. \`mosis-portal litestream-restore\` brings the databases back.
Refused on PostgreSQL (DATABASE_URL=postgres://…): use pg_dump or WAL archiving there.
Details: docs/litestream.md.

Where no Litestream build exists (npm has linux-x64 only: an arm64 NAS) and LITESTREAM_BIN is
unset, it warns and serves without replication; scheduled snapshots (mosis-portal backup) still run.

Exit codes: the portal's own when Litestream passes it on (0 after a clean shutdown; Litestream
reports any failure of the portal as 1); 1 when Litestream cannot start or fails; 2 wrong usage or
PostgreSQL.`,
  run: (config, args) => replicate(config, args),
};

/** Signals an operator or a container runtime stops the portal with. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

async function replicate(config: Config, args: string[]): Promise<void> {
  parseArgs({ args, options: {}, strict: true, allowPositionals: false });
  const databases = replicatedDatabases(config);
  // The same entry point and Node flags this process runs with (dist/main.js, or tsx's loader in
  // development), after npm start's: a flag given here (a larger heap) wins over package.json's.
  const serve = [process.execPath, ...(await startFlags()), ...process.execArgv, process.argv[1]!, 'serve'];
  let binary: string;
  try {
    binary = await litestreamBinary(config);
  } catch (err) {
    if (!(err instanceof NoLitestreamBinary)) throw err;
    // An arm64 NAS: the portal still serves (and its scheduled snapshots still run), loudly without Litestream.
    console.error(`mosis-portal: WARNING: ${err.message}. Serving without continuous replication.`);
    process.exitCode = await supervise(serve[0]!, serve.slice(1));
    return;
  }
  const configFile = await writeLitestreamConfig(config);
  const s3 = config.litestream.s3;
  console.log(
    `mosis-portal: replicating ${databases.map((d) => d.file).join(' and ')} to ${databases.map((d) => fileReplica(config, d)).join(' and ')}` +
      `${s3 === null ? '' : ` and s3://${s3.bucket}/${s3.prefix}`} (Litestream, ${configFile})`,
  );

  // Litestream gets a process group of its own: a terminal's Ctrl-C (or `tini -g`) would otherwise
  // signal the portal too, and the portal takes a second signal as "exit now", skipping the
  // graceful shutdown. Stop signals reach it once, from Litestream.
  // Litestream hands its environment to the command it runs: the web-facing portal must not hold
  // the replica's credentials (they can delete the offsite copies), so env drops them first.
  const withoutCredentials = ['/usr/bin/env', ...REPLICA_CREDENTIALS.flatMap((name) => ['-u', name]), ...serve];
  process.exitCode = await supervise(binary, ['replicate', '-no-expand-env', '-config', configFile, '-exec', withoutCredentials.map(shellQuote).join(' ')]);
}

/** What Litestream reads its S3 credentials from (docs/litestream.md). */
const REPLICA_CREDENTIALS = ['LITESTREAM_ACCESS_KEY_ID', 'LITESTREAM_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** Runs `command` in a process group of its own, passes stop signals on once, and answers its exit code. */
async function supervise(command: string, args: string[]): Promise<number> {
  const litestream = spawn(command, args, {
    stdio: 'inherit',
    detached: true,
  });
  const forward = (signal: NodeJS.Signals) => {
    // A closed terminal stops the portal as SIGTERM does (Litestream would die of SIGHUP at once).
    litestream.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, forward);
  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      litestream.once('error', reject);
      litestream.once('exit', (code, signal) => resolve({ code, signal }));
    });
    // Litestream died without stopping the portal first (killed, crashed): stop what is left of its group.
    try {
      process.kill(-litestream.pid!, 'SIGTERM');
    } catch {
      // Nothing left: the usual case.
    }
    return exit.code ?? 128 + (exit.signal === null ? 0 : constants.signals[exit.signal]);
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, forward);
  }
}
