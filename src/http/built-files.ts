import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The files a build wrote into a folder of dist/ (the docs site, the web UI), read into memory
 * whole on the first request: they are then served as one consistent build, and an address names
 * a file only if the build wrote it, so no request path ever reaches the file system (no
 * traversal, no symbolic link, no dot-file).
 */
export interface BuiltFile {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

/** Files by their path in the folder (`index.html`, `assets/index-Bx1c2d3e.js`). */
export type BuiltFiles = ReadonlyMap<string, BuiltFile>;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Reads the folder, or null when the build has not written it (yet). `immutable` says which names carry their content's hash. */
async function readBuiltFiles(dir: string, immutable: (name: string) => boolean): Promise<BuiltFiles | null> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const files = new Map<string, BuiltFile>();
  for (const entry of entries) {
    // Regular files only: a symbolic link is not followed, a dot-file (the build's stamp) not served.
    if (!entry.isFile()) continue;
    const name = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (name.split('/').some((part) => part.startsWith('.'))) continue;
    const body = await readFile(path.join(dir, name));
    files.set(name, {
      body,
      type: TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      cacheControl: immutable(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  return files;
}

/**
 * The folder's files, read at the first call; a folder not built yet (or that `complete` finds
 * half-written) is looked for again at the next call (`npm run build` while `dev` runs).
 */
export function builtFilesLoader(dir: string, options: { immutable: (name: string) => boolean; complete?: (files: BuiltFiles) => boolean }): () => Promise<BuiltFiles | null> {
  let loading: Promise<BuiltFiles | null> | undefined;
  const load = async () => {
    const files = await readBuiltFiles(dir, options.immutable);
    return files !== null && (options.complete?.(files) ?? true) ? files : null;
  };
  return () =>
    (loading ??= load().then(
      (loaded) => {
        if (loaded === null) loading = undefined;
        return loaded;
      },
      (err: unknown) => {
        loading = undefined;
        throw err;
      },
    ));
}
