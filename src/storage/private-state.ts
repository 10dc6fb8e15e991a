import { chmod, stat } from 'node:fs/promises';
import type { Config } from '../config/index.js';

/** The process umask for all the portal writes: files 0600, directories 0700. */
export const PRIVATE_UMASK = 0o077;

/**
 * What the portal keeps is its users' data (password hashes, sessions, unpublished packages, mail
 * with reset links), for the portal's own OS user alone. New files get that from the umask
 * (main.ts); this takes group and world access off what an older version or another umask left.
 * A directory closed to others closes everything below it, so only the top of each tree and the
 * database files (which may live elsewhere) are changed. Answers one line per path it could not
 * change (another owner, a read-only mount): the caller warns and carries on.
 */
export async function restrictStateModes(config: Config): Promise<string[]> {
  const database = config.database;
  const paths = [config.dataDir, config.packagesDir, config.backupsDir];
  if (database.dialect === 'sqlite') paths.push(...['', '-wal', '-shm'].map((suffix) => `${database.file}${suffix}`));
  const problems: string[] = [];
  for (const file of paths) {
    try {
      const { mode } = await stat(file);
      if ((mode & 0o077) !== 0) await chmod(file, mode & 0o700);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${file}: ${(err as Error).message}`);
    }
  }
  return problems;
}
