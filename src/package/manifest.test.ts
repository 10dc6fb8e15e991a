import { describe, expect, it } from 'vitest';
import { checkManifestBytes, validateManifest } from './manifest.js';
import { manifestJson } from './test-support.js';

const messages = (json: unknown) => validateManifest(json).findings.map((found) => found.message);

describe('validateManifest', () => {
  it('returns the manifest, with x- extensions, when every field is valid', () => {
    const json = manifestJson({ 'x-build': { commit: 'abc' }, description: 'Hi', locales: { default: 'en', supported: ['en', 'pt-BR'] } });
    const { manifest, findings } = validateManifest(json);
    expect(findings).toEqual([]);
    expect(manifest).toEqual(json);
  });

  it('defaults a missing permissions list to none', () => {
    expect(validateManifest(manifestJson({ permissions: undefined })).manifest?.permissions).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['id with capitals', { id: 'com.Example.app' }, 'manifest.json: id must be a reverse-domain id'],
    ['id with one segment', { id: 'example' }, 'manifest.json: id must be a reverse-domain id'],
    ['id with a double period', { id: 'com..example' }, 'manifest.json: id must be a reverse-domain id'],
    ['empty name', { name: '' }, 'manifest.json: name must be text of 1 to 50 characters'],
    ['long name', { name: 'x'.repeat(51) }, 'manifest.json: name must be text of 1 to 50 characters'],
    ['version not semver', { version: 'one' }, 'manifest.json: version must be a semantic version'],
    ['version_code 0', { version_code: 0 }, 'manifest.json: version_code must be an integer from 1 to 2147483647'],
    ['version_code too big', { version_code: 2147483648 }, 'manifest.json: version_code must be an integer from 1 to 2147483647'],
    ['version_code as text', { version_code: '3' }, 'manifest.json: version_code must be an integer from 1 to 2147483647'],
    ['version_code fraction', { version_code: 1.5 }, 'manifest.json: version_code must be an integer from 1 to 2147483647'],
    ['entry outside the package', { entry: '../main.rml' }, 'manifest.json: entry must be the path of an .rml file'],
    ['entry not RML', { entry: 'assets/main.lua' }, 'manifest.json: entry must be the path of an .rml file'],
    ['min_mosis_version', { min_mosis_version: '1' }, 'manifest.json: min_mosis_version must be a semantic version'],
    ['unknown permission', { permissions: ['camera', 'root'] }, 'manifest.json: permissions[1] "root" is not a known permission'],
    ['duplicate permission', { permissions: ['storage', 'storage'] }, 'manifest.json: permissions[1] lists "storage" more than once'],
    ['author without email', { author: { name: 'A' } }, 'manifest.json: author.email is required'],
    ['author with a bad url', { author: { name: 'A', email: 'a@b.co', url: 'ftp://x' } }, 'manifest.json: author.url must be an http(s) URL'],
    ['author with a typo', { author: { name: 'A', email: 'a@b.co', emial: 'x' } }, 'manifest.json: author.emial is not a known field'],
    ['icon missing a size', { icons: { '32': 'a.png', '64': 'b.png' } }, 'manifest.json: icons["128"] is required'],
    ['icon not a png path', { icons: { '32': 'a.jpg', '64': 'b.png', '128': 'c.png' } }, 'manifest.json: icons["32"] must be the path of a PNG file'],
    ['locales default not supported', { locales: { default: 'fr', supported: ['en'] } }, 'manifest.json: locales.default must be listed in locales.supported'],
    ['required field missing', { name: undefined }, 'manifest.json: name is required'],
  ])('%s', (_case, patch, message) => {
    const result = validateManifest(manifestJson(patch));
    expect(result.manifest).toBeNull();
    expect(result.findings.map((found) => found.message)).toEqual([expect.stringContaining(message)]);
    expect(result.findings[0]).toMatchObject({ code: 'manifest_invalid', file: 'manifest.json', tier: 1, severity: 'error' });
  });

  it('reports unknown top-level fields with their own code, one finding per problem', () => {
    const { findings } = validateManifest(manifestJson({ permisions: [], version_code: 0 }));
    expect(findings.map((found) => [found.code, found.message])).toEqual([
      ['manifest_unknown_field', 'manifest.json: permisions is not a known field (extension fields must start with "x-")'],
      ['manifest_invalid', 'manifest.json: version_code must be an integer from 1 to 2147483647'],
    ]);
  });

  it('refuses anything but an object', () => {
    expect(messages([1, 2])).toEqual(['manifest.json must contain a JSON object']);
    expect(messages(null)).toEqual(['manifest.json must contain a JSON object']);
  });
});

describe('checkManifestBytes', () => {
  const bytes = (text: string) => Buffer.from(text);

  it('refuses values nested deeper than 64 levels, even in an x- field, and keeps 64', () => {
    const withDepth = (depth: number) => `{"x-deep": ${'['.repeat(depth)}${']'.repeat(depth)},\n${JSON.stringify(manifestJson()).slice(1)}`;
    const deep = checkManifestBytes(bytes(withDepth(10_000)));
    expect(deep.manifest).toBeNull();
    expect(deep.findings).toEqual([expect.objectContaining({ code: 'manifest_invalid', line: 1, message: 'manifest.json:1: values are nested more than 64 deep' })]);
    // 63 arrays inside the root object: 64 levels, the most there may be.
    expect(checkManifestBytes(bytes(withDepth(63))).findings).toEqual([]);
  });

  it('keeps 100 findings of a code and counts the rest', () => {
    const fields = Array.from({ length: 500 }, (_, i) => `"unknown${i}": 1`).join(', ');
    const result = checkManifestBytes(bytes(`{${fields}, ${JSON.stringify(manifestJson()).slice(1)}`));
    const unknown = result.findings.filter((found) => found.code === 'manifest_unknown_field');
    expect(unknown).toHaveLength(101);
    expect(unknown.at(-1)?.message).toBe('… and 400 more manifest_unknown_field findings not shown');
  });

  it('puts the line of the field (or of its object, when missing) on each finding', () => {
    const text = JSON.stringify(manifestJson({ version_code: 0, author: { name: 'A' } }), null, 2);
    const result = checkManifestBytes(bytes(text));
    expect(result.findings.map((found) => [found.message, found.line])).toEqual([
      ['manifest.json: version_code must be an integer from 1 to 2147483647', 5],
      ['manifest.json: author.email is required', 9],
    ]);
    expect(result.fields.entry).toBe('assets/main.rml');
  });

  it('refuses a key that appears twice, which JSON readers resolve differently', () => {
    const result = checkManifestBytes(bytes(JSON.stringify(manifestJson()).replace('{', '{"permissions":["camera"],')));
    expect(result.findings).toEqual([expect.objectContaining({ code: 'manifest_invalid', line: 1, message: expect.stringContaining('permissions appears more than once') })]);
    expect(result.manifest).toBeNull();
  });

  it('reports text that is not JSON with the line of the error', () => {
    const result = checkManifestBytes(bytes('{\n  "id": "com.example.app",\n  name: "x"\n}'));
    expect(result.findings).toEqual([expect.objectContaining({ code: 'manifest_not_json', line: 3 })]);
    expect(result.fields).toEqual({});
  });

  it('refuses a byte order mark and bytes that are not UTF-8', () => {
    expect(checkManifestBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{}')])).findings[0]?.code).toBe('manifest_not_json');
    expect(checkManifestBytes(Buffer.from([0x7b, 0xff, 0x7d])).findings[0]?.code).toBe('manifest_not_json');
  });
});
