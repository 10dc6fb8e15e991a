/**
 * Pathological package content against the checks: each input at a base size N and at 4N, timed
 * in the same run. Work that is linear in its input takes about 4× as long at 4N; quadratic work
 * takes about 16× (the reference every row is read against). Also: how long the event loop of a
 * process that hands the same inputs to a PackageChecker is held up (it should not be).
 *
 *   npx tsx bench/package-pathological.ts [--n 50000]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { analyzeLua, LuaModules } from '../src/package/analysis.js';
import { checkRcss, parseLua } from '../src/package/content.js';
import { checkManifestBytes } from '../src/package/manifest.js';
import { checkRml } from '../src/package/rml.js';
import { PackageChecker } from '../src/package/index.js';
import { appFiles, keyPair, signed, Workbench, yazlZip } from '../src/package/test-support.js';

const arg = process.argv.indexOf('--n');
const N = arg === -1 ? 50_000 : Number(process.argv[arg + 1]);

function lua(source: string): void {
  const parsed = parseLua(source, 'a.lua');
  if (parsed.ok) analyzeLua([parsed.chunk], { file: 'a.lua', luaModules: new LuaModules([]), declared: null });
}

/** Each input as a function of its size n. */
const INPUTS: Record<string, { file: string; make: (n: number) => string; run: (text: string) => void }> = {
  'RCSS: n × "(" then n × "]"': { file: 'assets/styles/x.rcss', make: (n) => '('.repeat(n) + ']'.repeat(n), run: (t) => checkRcss(t, 'a.rcss') },
  'RCSS: n nested blocks': { file: 'assets/styles/x.rcss', make: (n) => 'a{'.repeat(n), run: (t) => checkRcss(t, 'a.rcss') },
  'RML: n <style> blocks': { file: 'assets/x.rml', make: (n) => '<style>a{</style>\n'.repeat(n), run: (t) => checkRml(Buffer.from(t), 'a.rml') },
  'RML: n "<script " without ">"': { file: 'assets/x.rml', make: (n) => '<script '.repeat(n), run: (t) => checkRml(Buffer.from(t), 'a.rml') },
  'RML: n comments, n scripts': { file: 'assets/x.rml', make: (n) => '<!--x-->'.repeat(n) + '<script>x=1</script>'.repeat(n), run: (t) => checkRml(Buffer.from(t), 'a.rml') },
  'RML: n unclosed elements': { file: 'assets/x.rml', make: (n) => '<a>'.repeat(n), run: (t) => checkRml(Buffer.from(t), 'a.rml') },
  'Lua: member chains, 2 000 long, n/2 000 of them': { file: 'assets/scripts/x.lua', make: (n) => `x = a${'.b'.repeat(2_000)}\n`.repeat(Math.max(1, n / 2_000)), run: lua },
  'Lua: n sandbox escapes': { file: 'assets/scripts/x.lua', make: (n) => 'os.execute("ls")\n'.repeat(n), run: lua },
  'manifest: n unknown fields': {
    file: 'manifest.json',
    make: (n) => `{${Array.from({ length: n }, (_, i) => `"f${i}": 1`).join(', ')}}`,
    run: (t) => checkManifestBytes(Buffer.from(t)),
  },
};

function timed(fn: () => void): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

console.log(`N = ${N}`);
console.log(`${'input'.padEnd(48)} ${'N (ms)'.padStart(8)} ${'4N (ms)'.padStart(8)} ${'4N/N'.padStart(6)}`);
const rows: Record<string, { n: number; ms: number; ms4: number }> = {};
for (const [name, input] of Object.entries(INPUTS)) {
  const small = input.make(N);
  const large = input.make(4 * N);
  input.run(small); // warm up the parsers
  const ms = Math.min(timed(() => input.run(small)), timed(() => input.run(small)));
  const ms4 = Math.min(timed(() => input.run(large)), timed(() => input.run(large)));
  rows[name] = { n: N, ms, ms4 };
  console.log(`${name.padEnd(48)} ${ms.toFixed(0).padStart(8)} ${ms4.toFixed(0).padStart(8)} ${(ms4 / ms).toFixed(1).padStart(6)}`);
}

// The same inputs (at 4N, as files of signed packages) through the checker, while the event loop is watched.
const bench = await Workbench.create();
const keys = keyPair();
const files: string[] = [];
for (const [, input] of Object.entries(INPUTS)) files.push(await bench.file(await yazlZip(signed(appFiles({ [input.file]: input.make(4 * N) }), keys))));
const checker = new PackageChecker();
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const started = performance.now();
const verdicts = await Promise.all(files.map((file) => checker.check(file, { allowedKeys: [keys.publicKey] })));
const total = performance.now() - started;
delay.disable();
await checker.close();
await bench.cleanup();
const maxDelayMs = delay.max / 1e6;
console.log(`\n${files.length} packages through PackageChecker: ${total.toFixed(0)} ms in all, ${verdicts.filter((v) => !v.ok).length} refused; event loop delay max ${maxDelayMs.toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`);

const out = path.join(import.meta.dirname, 'results');
await mkdir(out, { recursive: true });
await writeFile(path.join(out, 'package-pathological.json'), JSON.stringify({ n: N, rows, checker: { packages: files.length, totalMs: total, maxEventLoopDelayMs: maxDelayMs } }, null, 2));
