import { parseArgs } from 'node:util';
import type { Config } from '../config/index.js';
import { describe } from './backup.js';
import { UsageError, type Verb } from './verb.js';

export const restoreVerb: Verb = {
  name: 'restore',
  summary: 'restore a snapshot into an empty DATA_DIR',
  usage: 'mosis-portal restore <snapshot>',
  help: `Restores a snapshot taken by \`mosis-portal backup\` (or the recurring backup job) into DATA_DIR,
which must be empty or not exist yet: the database files, the key files (keys/, secrets/) and every
blob, into PACKAGES_DIR. The whole snapshot is verified first (as backup --verify does), copied into
a temporary directory beside DATA_DIR, checked again, and only then renamed into place: a damaged
or incomplete snapshot is refused and nothing is left behind. Stop the portal first; start it on
the restored DATA_DIR afterwards (it applies any migrations the snapshot predates). Exit code 2
for a DATA_DIR that is not empty or a snapshot that is damaged or incomplete, naming each problem.`,
  run: (config, args) => restore(config, args),
};

async function restore(config: Config, args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('restore needs exactly one argument: the snapshot directory (e.g. /backups/2026-11-27T13-07-00Z)');
  const { restoreSnapshot, SnapshotRefused } = await import('../backup/index.js');
  const started = performance.now();
  try {
    const { manifest, dataDir } = await restoreSnapshot(positionals[0]!, config);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`Restored the snapshot taken ${manifest.created_at} (portal ${manifest.portal_version}) into ${dataDir} in ${seconds} s:`);
    for (const line of describe(manifest)) console.log(`  ${line}`);
    console.log('Start the portal on it: mosis-portal serve');
  } catch (err) {
    if (err instanceof SnapshotRefused) throw new UsageError(err.message);
    throw err;
  }
}
