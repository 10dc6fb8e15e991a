import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Executor } from '../../db/index.js';
import { indexChunk } from './store.repository.js';

/** Apps per query: a few thousand versions each. */
const CHUNK = 500;

/**
 * Writes the signed index's bytes (`{format: 1, apps: [{package_id, versions: [...]}]}`, by package
 * id and version code) to a file, a chunk of apps at a time, never holding the whole index. The
 * bytes depend only on the catalog, so every instance writes the same file for the same catalog.
 */
export async function writeIndexFile(db: Executor, file: string): Promise<void> {
  // pipeline: the file's errors (its folder gone, a full disk) reject this call, even while a query
  // is awaited, instead of going out as an unhandled 'error' event that ends the process.
  await pipeline(indexText(db), createWriteStream(file, { mode: 0o600, flags: 'wx' }));
}

/** The index's text, a chunk of apps at a time. */
async function* indexText(db: Executor): AsyncGenerator<string> {
  yield '{"format":1,"apps":[';
  let after: string | null = '';
  let openApp: string | null = null;
  while (after !== null) {
    const chunk = await indexChunk(db, after, CHUNK);
    let text = '';
    for (const row of chunk.rows) {
      if (row.package_id !== openApp) {
        text += `${openApp === null ? '' : ']},'}{"package_id":${JSON.stringify(row.package_id)},"versions":[`;
        openApp = row.package_id;
      } else {
        text += ',';
      }
      text += JSON.stringify({
        version: row.version,
        version_code: row.version_code,
        channel: row.channel,
        sha256: row.sha256,
        size: row.size,
        permissions: JSON.parse(row.permissions) as unknown,
        min_mosis_version: row.min_mosis_version,
        store_signature: row.store_signature,
        store_key_id: row.store_key_id,
      });
    }
    if (text) yield text;
    after = chunk.next;
  }
  yield `${openApp === null ? '' : ']}'}]}`;
}
