import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Key files in DATA_DIR (access-token keys, store keys): JSON read whole, written to a temp file
 * (mode 0600, flushed) and renamed over the old one, so a crash leaves the old file or the new one,
 * never half of either. Temp names are random: instances sharing DATA_DIR (each PID 1 in its
 * container) never write the same temp file. Answers null when the file does not exist yet.
 */
export async function readPrivateJson<T>(file: string, what: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${what} at ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function writeTemp(file: string, value: unknown): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2), { mode: 0o600, flush: true });
  return tmp;
}

export async function writePrivateJson(file: string, value: unknown): Promise<void> {
  const tmp = await writeTemp(file, value);
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Writes the file only if it does not exist yet (a hard link fails when the name is taken), so
 * two instances starting at once on a fresh DATA_DIR agree on one first key: the loser answers
 * false and reads the winner's.
 */
export async function createPrivateJson(file: string, value: unknown): Promise<boolean> {
  const tmp = await writeTemp(file, value);
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
