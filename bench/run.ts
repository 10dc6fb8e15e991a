/**
 * `npm run bench`: builds the server, then runs every benchmark in turn. Each prints a table and
 * writes its numbers to bench/results/<name>.json.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });

run('npm', ['run', 'build']);
for (const script of ['bench/upload.ts', 'bench/upload-floor.ts', 'bench/package-validate.ts', 'bench/package-pathological.ts', 'bench/store.ts', 'bench/telemetry.ts', 'bench/sse.ts', 'bench/footprint.ts', 'bench/storage-s3.ts']) {
  console.log(`\n=== ${script}`);
  run(process.execPath, ['--import', 'tsx', script]);
}
