/**
 * The floor under the upload benchmark: how fast this machine takes an N MiB body over loopback
 * HTTP into a file (fsynced) with nothing else, with one SHA-256 pass, and with two (what a
 * package upload needs at least: the whole file for its content address, every entry for its
 * signature). Client and server share one Node process here, which if anything makes it slower.
 * Compare with upload.ts to see what the portal adds on top of the unavoidable.
 *
 *   npx tsx bench/upload-floor.ts [--mib 500]
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ddMiBps, MiB, sizeMiB } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SIZE_MIB = sizeMiB(500);
const BUFFER_BYTES = MiB;

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(ROOT, 'bench', 'results', 'floor-'));
  const source = path.join(work, 'body.bin');
  const target = path.join(work, 'received.bin');
  await writeFile(source, randomBytes(SIZE_MIB * MiB));
  execFileSync('sync');
  let hashes = 0;
  const server = createServer((req, res) => {
    const passes = Array.from({ length: hashes }, () => createHash('sha256'));
    const hashing = new Transform({
      highWaterMark: BUFFER_BYTES,
      transform(chunk: Buffer, _encoding, done) {
        for (const pass of passes) pass.update(chunk);
        done(null, chunk);
      },
    });
    void pipeline(req, hashing, createWriteStream(target, { highWaterMark: BUFFER_BYTES }))
      .then(async () => {
        const handle = await open(target, 'r+');
        await handle.sync();
        await handle.close();
        res.end('stored');
      })
      .catch((err: unknown) => res.destroy(err as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const rows: Record<string, number | string>[] = [];
  try {
    for (const passes of [0, 1, 2]) {
      hashes = passes;
      for (let run = 0; run < 3; run += 1) {
        const started = process.hrtime.bigint();
        await new Promise<void>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': String(SIZE_MIB * MiB) } }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          createReadStream(source, { highWaterMark: BUFFER_BYTES }).pipe(req);
        });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const dd = ddMiBps(work, SIZE_MIB);
        rows.push({ sha256_passes: passes, seconds: +seconds.toFixed(2), mib_s: +(SIZE_MIB / seconds).toFixed(0), dd_mib_s: +dd.toFixed(0), ratio_to_dd: +(SIZE_MIB / seconds / dd).toFixed(2) });
      }
    }
  } finally {
    server.close();
    await rm(work, { recursive: true, force: true });
  }
  console.table(rows);
  await writeFile(path.join(ROOT, 'bench', 'results', 'upload-floor.json'), JSON.stringify(rows, null, 2));
}

await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
await main();
