import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { checkPackage, type CheckOptions } from './check.js';
import { DEFAULT_LIMITS, FINDING_CODES, type FindingCode, type Manifest, type PackageCheckResult } from './index.js';
import { rawZip } from '../../test/support/raw-zip.js';
import { APP_ID, appFiles, keyPair, manifestJson, signed, Workbench, yazlZip, type FixtureFile, type KeyPair } from './test-support.js';

let bench: Workbench;
let keys: KeyPair;

beforeAll(async () => {
  bench = await Workbench.create();
  keys = keyPair();
});
afterAll(async () => {
  await bench.cleanup();
});

const options = (extra: Partial<CheckOptions> = {}): CheckOptions => ({ allowedKeys: [keys.publicKey], ...extra });

async function check(files: readonly FixtureFile[], extra: Partial<CheckOptions> = {}, streamed = false): Promise<PackageCheckResult> {
  return checkPackage(await bench.file(await yazlZip(files, { streamed })), options(extra));
}

function codes(result: PackageCheckResult): FindingCode[] {
  return result.findings.map((found) => found.code);
}

describe('checkPackage on a clean package', () => {
  it('has no finding, returns the manifest and lists every file with its real size and SHA-256', async () => {
    const files = signed(appFiles(), keys);
    const result = await check(files);
    expect(result.findings).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.manifest).toMatchObject({ id: APP_ID, version_code: 1, permissions: [] });
    expect(result.files).toEqual(
      files.map((file) => ({ path: file.path, size: file.data.length, sha256: createHash('sha256').update(file.data).digest('hex') })),
    );
  });

  it('accepts entries written with data descriptors (streamed ZIP writers)', async () => {
    const result = await check(signed(appFiles(), keys), {}, true);
    expect(result.findings).toEqual([]);
  });

  it('skips folder entries: they are not files and need no signature', async () => {
    const files = signed(appFiles(), keys);
    const entries = [{ name: 'assets/', method: 0 }, ...files.map((file) => ({ name: file.path, data: file.data }))];
    const result = await checkPackage(await bench.file(rawZip(entries)), options());
    expect(result.findings).toEqual([]);
    expect(result.files.map((file) => file.path)).not.toContain('assets/');
  });
});

describe('checkPackage stops at structural problems', () => {
  it('returns the ZIP finding alone for a file that is not a ZIP', async () => {
    const result = await checkPackage(await bench.file(Buffer.from('hello, this is text '.repeat(20))), options());
    expect(codes(result)).toEqual(['zip_invalid']);
    expect(result).toMatchObject({ ok: false, manifest: null, files: [] });
  });

  it('does not inflate anything when a declared size is over the limit', async () => {
    const files = signed(appFiles({ 'assets/big.bin': Buffer.alloc(4096) }), keys);
    const result = await check(files, { limits: { maxFileBytes: 1024 } });
    expect(codes(result)).toEqual(['zip_file_too_large']);
    expect(result.files).toEqual([]);
  });

  it.each([
    ['small', 1024],
    ['streamed', 2 * 1024 * 1024],
  ])('refuses a lying zip bomb (%s declared size) within a second and keeps reading other entries', async (_kind, declared) => {
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const entries = [
      { name: 'assets/bomb.bin', compressed: bomb, uncompressedSize: declared, data: Buffer.alloc(declared) },
      { name: 'assets/after.txt', data: Buffer.from('still read') },
    ];
    const file = await bench.file(rawZip(entries));
    const started = performance.now();
    const result = await checkPackage(file, options());
    expect(performance.now() - started).toBeLessThan(1000);
    expect(codes(result)).toEqual(['zip_size_mismatch']);
    expect(result.files.map((entry) => entry.path)).toEqual(['assets/after.txt']);
  });

  it('counts the real bytes against the total limit', async () => {
    const files = signed(appFiles({ 'assets/a.bin': Buffer.alloc(3000, 1), 'assets/b.bin': Buffer.alloc(3000, 2) }), keys);
    const total = files.reduce((sum, file) => sum + file.data.length, 0);
    const result = await check(files, { limits: { maxTotalBytes: total - 1 } });
    expect(codes(result)).toContain('zip_total_too_large');
    expect(result.ok).toBe(false);
  });
});

describe('checkPackage reports every problem of a readable package', () => {
  it('combines tier 1, 2 and 3 findings, sorted by tier', async () => {
    const files = appFiles({ 'assets/scripts/app.lua': 'os.execute("ls")\nlocal x = = 1\n', 'tools/run.sh': 'echo hi' });
    const result = await check(signed(files, keys));
    expect(codes(result)).toEqual(['file_forbidden_type', 'lua_syntax_error']);
    expect(result.findings.map((found) => found.tier)).toEqual([1, 2]);
  });

  it('analyses scripts that parse and skips those that do not', async () => {
    const files = appFiles({ 'assets/scripts/app.lua': 'os.execute("ls")\n', 'assets/scripts/broken.lua': 'if then' });
    const result = await check(signed(files, keys));
    expect(codes(result).sort()).toEqual(['lua_sandbox_escape', 'lua_syntax_error']);
    expect(result.findings.find((found) => found.code === 'lua_sandbox_escape')).toMatchObject({ file: 'assets/scripts/app.lua', line: 1, severity: 'warning' });
  });

  it('refuses a package whose id is not the app it is uploaded to', async () => {
    const result = await check(signed(appFiles(), keys), { expectedId: 'com.example.other' });
    expect(result.findings).toEqual([expect.objectContaining({ code: 'manifest_id_mismatch', file: 'manifest.json', line: 2 })]);
    expect(result.manifest?.id).toBe(APP_ID);
  });

  it('refuses a version_code below the lowest the app accepts, and only then', async () => {
    const code = (await check(signed(appFiles(), keys))).manifest?.version_code ?? 0;
    const below = await check(signed(appFiles(), keys), { minVersionCode: code + 1 });
    expect(below.ok).toBe(false);
    expect(below.findings).toEqual([expect.objectContaining({ code: 'version_code_not_higher', tier: 1, severity: 'error', file: 'manifest.json' })]);
    expect((await check(signed(appFiles(), keys), { minVersionCode: code })).findings).toEqual([]);
  });

  it('still checks the entry file and icons when another manifest field is wrong', async () => {
    const manifest = { version_code: 0, icons: { '32': 'icons/icon-32.png', '64': 'icons/icon-32.png', '128': 'icons/missing.png' } };
    const result = await check(signed(appFiles({}, manifest), keys));
    expect(codes(result).sort()).toEqual(['icon_missing', 'icon_wrong_size', 'manifest_invalid']);
    expect(result.manifest).toBeNull();
  });

  it('reports a missing manifest, a missing entry and missing signature files', async () => {
    const unsigned = await check(appFiles({ 'manifest.json': null }));
    expect(codes(unsigned)).toEqual(['manifest_missing', 'signature_manifest_missing', 'signature_missing']);
    const noEntry = await check(signed(appFiles({ 'assets/main.rml': null }), keys));
    expect(codes(noEntry)).toEqual(['entry_missing']);
  });

  it('refuses a signature by a key that is not allowed', async () => {
    const result = await check(signed(appFiles(), keyPair()));
    expect(codes(result)).toEqual(['signature_key_not_allowed']);
    const nobody = await check(signed(appFiles(), keys), { allowedKeys: [] });
    expect(codes(nobody)).toEqual(['signature_key_not_allowed']);
  });

  it('flags permissions: undeclared, unused and added since the previous version', async () => {
    const lua = 'local data = http.get("https://api.example.com/items")\n';
    const result = await check(signed(appFiles({ 'assets/scripts/app.lua': lua }, { permissions: ['camera'] }), keys), {
      previousManifest: manifestJson() as unknown as Manifest,
    });
    expect(result.ok).toBe(true);
    expect(result.findings.map((found) => [found.code, found.file, found.line])).toEqual([
      ['permission_undeclared', 'assets/scripts/app.lua', 1],
      ['permission_unused', 'manifest.json', 9],
      ['permission_added', 'manifest.json', 9],
    ]);
  });

  it('analyses inline RML scripts and flags insecure URLs in markup and styles', async () => {
    const rml = '<rml>\n<head><script>\nlocal f = io.open("x")\n</script></head>\n<body><img src="http://example.com/a.png"/></body>\n</rml>\n';
    const rcss = 'body {\n  decorator: image(https://10.0.0.2/bg.png);\n}\n';
    const result = await check(signed(appFiles({ 'assets/main.rml': rml, 'assets/styles/app.rcss': rcss }), keys));
    expect(result.findings.map((found) => [found.code, found.file, found.line])).toEqual([
      ['lua_sandbox_escape', 'assets/main.rml', 3],
      ['url_insecure', 'assets/main.rml', 5],
      ['url_private_host', 'assets/styles/app.rcss', 2],
    ]);
  });

  it('analyses very long expressions and refuses code too deeply nested to analyse, never throwing', async () => {
    const long = await check(signed(appFiles({ 'assets/scripts/app.lua': `local x = 1${' + 1'.repeat(100_000)}\n` }), keys));
    expect(long.findings).toEqual([]);
    const deep = await check(signed(appFiles({ 'assets/scripts/app.lua': `local x = a${'.b'.repeat(200_000)}\n` }), keys));
    expect(codes(deep)).toEqual(['lua_syntax_error']);
  });

  it('refuses files too large to analyse instead of skipping them', async () => {
    const lua = `-- ${'x'.repeat(5000)}\nreturn 1\n`;
    const result = await check(signed(appFiles({ 'assets/scripts/app.lua': lua }), keys), { limits: { maxAnalyzedFileBytes: 4096 } });
    expect(codes(result)).toEqual(['file_too_large_to_analyze']);
  });

  it('caps the findings of one code so a hostile package cannot flood the review', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 150; i++) many[`tools/t${i}.sh`] = 'echo';
    const result = await check(signed(appFiles(many), keys));
    const forbidden = result.findings.filter((found) => found.code === 'file_forbidden_type');
    expect(forbidden).toHaveLength(101);
    expect(forbidden.at(-1)?.message).toMatch(/50 more/);
  });
});

describe('checkPackage contract', () => {
  it('throws for a file that does not exist', async () => {
    await expect(checkPackage(`${bench.dir}/missing.mosis`, options())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('uses the documented default limits', () => {
    expect(DEFAULT_LIMITS).toEqual({ maxEntries: 10_000, maxFileBytes: 64 * 1024 * 1024, maxTotalBytes: 512 * 1024 * 1024, maxAnalyzedFileBytes: 4 * 1024 * 1024 });
  });

  it('gives every finding the tier and severity of its code', async () => {
    const files = appFiles({ 'assets/scripts/app.lua': 'dofile("x")\nlocal u = "http://x.example"\n' });
    const result = await check(signed(files, keys), { expectedId: 'com.example.other' });
    expect(result.findings.length).toBeGreaterThan(0);
    for (const found of result.findings) expect(found).toMatchObject(FINDING_CODES[found.code]);
  });
});
