/**
 * How long `checkPackage` takes on a realistic large package, and how much memory it needs, so
 * upload checks can be sized for a NAS. Also times the refusal of a zip bomb, whose memory peak
 * must stay flat. Run: `npx tsx bench/package-validate.ts` (add `--expose-gc` through
 * NODE_OPTIONS for steadier baselines). Writes bench/results/package-validate.json.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleApp } from '../src/cli/sample-app.js';
import { buildPackage } from '../src/package/build.js';
import { checkPackage } from '../src/package/check.js';
import type { PackageCheckResult } from '../src/package/index.js';
import { HostileWorkshop, deflatedZeros, signedRaw } from '../test/support/hostile.js';
import { rawZip } from '../test/support/raw-zip.js';

const TOTAL_BYTES = 50 * 1024 * 1024;
const FILE_COUNT = 2_000;
const SOURCE_FILES = { lua: 120, rml: 40, rcss: 40 };
const RUNS = 3;
const SAMPLE_EVERY_MS = 10;

interface MemoryPeak {
  rssGrowthBytes: number;
  heapGrowthBytes: number;
}

/** Samples process memory every 10 ms while `work` runs; reports the peak growth over the baseline. */
async function measure<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; memory: MemoryPeak }> {
  collectGarbage();
  const baseline = process.memoryUsage();
  let rss = baseline.rss;
  let heap = baseline.heapUsed;
  const sample = (): void => {
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss);
    heap = Math.max(heap, now.heapUsed);
  };
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  const started = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - started;
    sample();
    return { value, ms, memory: { rssGrowthBytes: rss - baseline.rss, heapGrowthBytes: heap - baseline.heapUsed } };
  } finally {
    clearInterval(timer);
  }
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

/** The sample app plus generated scripts, markup, styles and random (incompressible) assets. */
async function writeLargeApp(folder: string): Promise<{ files: number; bytes: number }> {
  const files = sampleApp({ id: 'com.example.bench', name: 'Bench' }).map((file) => ({ path: file.path, data: file.data }));
  for (let i = 0; i < SOURCE_FILES.lua; i++) {
    files.push({ path: `assets/scripts/module${i}.lua`, data: Buffer.from(luaModule(i)) });
  }
  for (let i = 0; i < SOURCE_FILES.rml; i++) {
    files.push({ path: `assets/screens/screen${i}.rml`, data: Buffer.from(rmlScreen(i)) });
  }
  for (let i = 0; i < SOURCE_FILES.rcss; i++) {
    files.push({ path: `assets/styles/screen${i}.rcss`, data: Buffer.from(rcssSheet(i)) });
  }
  const assetCount = FILE_COUNT - files.length;
  const remaining = TOTAL_BYTES - files.reduce((sum, file) => sum + file.data.length, 0);
  // Sizes spread from half to one and a half times the mean, the way real media do.
  const weights = Array.from({ length: assetCount }, (_, i) => 0.5 + ((i * 37) % 100) / 100);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  let assigned = 0;
  weights.forEach((weight, i) => {
    // The last asset takes the rounding remainder so the content is exactly TOTAL_BYTES.
    const size = i === assetCount - 1 ? remaining - assigned : Math.floor((remaining * weight) / totalWeight);
    assigned += size;
    files.push({ path: `assets/media/asset${String(i).padStart(4, '0')}.bin`, data: randomBytes(size) });
  });
  for (const file of files) {
    const target = path.join(folder, ...file.path.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.data);
  }
  return { files: files.length, bytes: files.reduce((sum, file) => sum + file.data.length, 0) };
}

function luaModule(i: number): string {
  return `-- Generated module ${i} for the benchmark.
Module${i} = {}

local items = {}

function Module${i}.add(name, quantity)
  items[#items + 1] = { name = name, quantity = quantity or 1 }
  return #items
end

function Module${i}.total()
  local sum = 0
  for _, item in ipairs(items) do
    sum = sum + item.quantity
  end
  return sum
end

function Module${i}.describe()
  local parts = {}
  for index, item in ipairs(items) do
    parts[#parts + 1] = string.format("%d. %s x%d", index, item.name, item.quantity)
  end
  return table.concat(parts, "\\n")
end
`.repeat(4);
}

function rmlScreen(i: number): string {
  const rows = Array.from({ length: 20 }, (_, row) => `      <div class="row"><span>Item ${row}</span><button>Open</button></div>`).join('\n');
  return `<rml>
  <head>
    <title>Screen ${i}</title>
    <link type="text/rcss" href="../styles/screen${i}.rcss"/>
  </head>
  <body>
    <h1>Screen ${i}</h1>
    <div class="list">
${rows}
    </div>
  </body>
</rml>
`;
}

function rcssSheet(i: number): string {
  return Array.from({ length: 20 }, (_, rule) => `.screen${i}-rule${rule} {\n  color: #${(rule * 1234567).toString(16).padStart(6, '0').slice(0, 6)};\n  padding: ${rule}px;\n  margin: 4px 8px;\n}\n`).join('\n');
}

function errorCodes(result: PackageCheckResult): string {
  const codes = [...new Set(result.findings.filter((finding) => finding.severity === 'error').map((finding) => finding.code))];
  return codes.length === 0 ? 'none' : codes.join(', ');
}

/** Left-aligned columns, a rule under the header row. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]): string => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  const [header, ...body] = rows;
  return [line(header ?? []), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n');
}

const ms = (value: number): string => `${value.toFixed(0)} ms`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function benchLargePackage(scratch: string, privateKey: KeyObject, publicKey: KeyObject) {
  const folder = path.join(scratch, 'large-app');
  const app = await writeLargeApp(folder);
  const build = await measure(() => buildPackage(folder, { privateKey, out: path.join(scratch, 'large.mosis') }));
  const runs: { ms: number; memory: MemoryPeak; errors: string }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const check = await measure(() => checkPackage(build.value.file, { allowedKeys: [publicKey] }));
    runs.push({ ms: check.ms, memory: check.memory, errors: errorCodes(check.value) });
  }
  return { app, packageBytes: build.value.size, buildMs: build.ms, buildMemory: build.memory, runs };
}

async function benchZipBomb(workshop: HostileWorkshop) {
  const bomb = await deflatedZeros(1024 * 1024 * 1024);
  const file = await workshop.bytes('bomb', rawZip(signedRaw(workshop.key, [{ name: 'assets/bomb.bin', data: Buffer.alloc(1024), compressed: bomb.compressed, crc32: bomb.crc32, uncompressedSize: 1024 }])));
  const runs: { ms: number; memory: MemoryPeak; errors: string }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const check = await measure(() => checkPackage(file, { allowedKeys: [workshop.publicKey] }));
    runs.push({ ms: check.ms, memory: check.memory, errors: errorCodes(check.value) });
  }
  return { inflatesToBytes: bomb.size, compressedBytes: bomb.compressed.length, runs };
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mosis-bench-'));
  const workshop = await HostileWorkshop.open();
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const large = await benchLargePackage(scratch, privateKey, publicKey);
    const bomb = await benchZipBomb(workshop);
    const times = large.runs.map((run) => run.ms);
    const peakRss = Math.max(...large.runs.map((run) => run.memory.rssGrowthBytes));
    const peakHeap = Math.max(...large.runs.map((run) => run.memory.heapGrowthBytes));
    const bombTimes = bomb.runs.map((run) => run.ms);
    const bombRss = Math.max(...bomb.runs.map((run) => run.memory.rssGrowthBytes));
    const bombHeap = Math.max(...bomb.runs.map((run) => run.memory.heapGrowthBytes));

    console.log(`package: ${large.app.files} files, ${mib(large.app.bytes)} of content, ${mib(large.packageBytes)} on disk; built in ${large.buildMs.toFixed(0)} ms`);
    console.log(
      table([
        ['scenario', 'best', 'median', 'peak RSS growth', 'peak heap growth', 'error findings'],
        ['checkPackage, 50 MiB / 2000 files', ms(Math.min(...times)), ms(median(times)), mib(peakRss), mib(peakHeap), large.runs[0]?.errors ?? ''],
        ['zip bomb refusal (1 GiB of zeros)', ms(Math.min(...bombTimes)), ms(median(bombTimes)), mib(bombRss), mib(bombHeap), bomb.runs[0]?.errors ?? ''],
      ]),
    );

    const report = {
      measured_at: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      gc_exposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
      large_package: {
        files: large.app.files,
        content_bytes: large.app.bytes,
        package_bytes: large.packageBytes,
        build_ms: Math.round(large.buildMs),
        check_runs_ms: times.map(Math.round),
        check_best_ms: Math.round(Math.min(...times)),
        check_median_ms: Math.round(median(times)),
        peak_rss_growth_bytes: peakRss,
        peak_heap_growth_bytes: peakHeap,
        error_findings: large.runs[0]?.errors,
      },
      zip_bomb: {
        inflates_to_bytes: bomb.inflatesToBytes,
        compressed_bytes: bomb.compressedBytes,
        refusal_runs_ms: bombTimes.map(Math.round),
        refusal_best_ms: Math.round(Math.min(...bombTimes)),
        refusal_median_ms: Math.round(median(bombTimes)),
        peak_rss_growth_bytes: bombRss,
        peak_heap_growth_bytes: bombHeap,
        error_findings: bomb.runs[0]?.errors,
      },
    };
    const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
    await mkdir(resultsDir, { recursive: true });
    await writeFile(path.join(resultsDir, 'package-validate.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`written: ${path.relative(process.cwd(), path.join(resultsDir, 'package-validate.json'))}`);
  } finally {
    await workshop.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
