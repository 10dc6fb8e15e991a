import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Key files in DATA_DIR (access-token keys, store keys): JSON read whole, written to a temp file
 * (mode 0600, flushed) and renamed over the old one, so a crash leaves the old file or the new one,
 * never half of either. Answers null when the file does not exist yet.
 */
export async function readPrivateJson<T>(file: string, what: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${what} at ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export async function writePrivateJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2), { mode: 0o600, flush: true });
  await rename(tmp, file);
}
