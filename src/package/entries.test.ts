import { describe, expect, it } from 'vitest';
import { checkEntries, forbiddenContent, forbiddenName } from './entries.js';
import type { ZipEntry } from './zip.js';

function entry(name: string, overrides: Partial<ZipEntry> = {}): ZipEntry {
  return {
    index: 0,
    name,
    nameBytes: Buffer.from(name),
    isDirectory: name.endsWith('/'),
    versionMadeBy: (3 << 8) | 20,
    flags: 0x800,
    method: 8,
    crc32: 0,
    compressedSize: 2,
    size: name.endsWith('/') ? 0 : 10,
    localHeaderOffset: 0,
    externalAttributes: (0o100644 << 16) >>> 0,
    dataOffset: 0,
    ...overrides,
  };
}

const codes = (entries: ZipEntry[]) => checkEntries(entries).map((found) => found.code);

describe('checkEntries', () => {
  it('accepts ordinary files and folders', () => {
    expect(codes([entry('assets/'), entry('assets/main.rml'), entry('icons/icon-32.png')])).toEqual([]);
  });

  it('refuses symbolic links and special files made on Unix', () => {
    expect(codes([entry('assets/link', { externalAttributes: (0o120777 << 16) >>> 0 })])).toEqual(['file_symlink']);
    expect(codes([entry('assets/fifo', { externalAttributes: (0o010644 << 16) >>> 0 })])).toEqual(['file_forbidden_type']);
    // Attributes of other hosts have no Unix mode.
    expect(codes([entry('assets/link', { versionMadeBy: 20, externalAttributes: (0o120777 << 16) >>> 0 })])).toEqual([]);
  });

  it('refuses folder entries with content and files marked as folders', () => {
    expect(codes([entry('assets/', { size: 5 })])).toEqual(['path_invalid']);
    expect(codes([entry('assets', { externalAttributes: (0o040755 << 16) >>> 0 })])).toEqual(['path_invalid']);
  });

  it('refuses duplicates, case-only differences and a name that is both file and folder', () => {
    expect(codes([entry('manifest.json'), entry('manifest.json'), entry('manifest.json')])).toEqual(['path_duplicate']);
    expect(codes([entry('assets/Main.rml'), entry('assets/main.rml')])).toEqual(['path_duplicate']);
    expect(codes([entry('caf\u00e9.txt'), entry('cafe\u0301.txt')])).toEqual(['path_duplicate']);
    expect(codes([entry('assets'), entry('assets/main.rml')])).toEqual(['path_duplicate']);
  });

  it('refuses native binaries and shell scripts by name', () => {
    for (const name of ['bin/setup.exe', 'lib/a.dll', 'lib/libx.so', 'lib/libx.so.1.2', 'lib/x.dylib', 'run.sh', 'run.BAT', 'x.cmd', 'x.ps1', 'x.bash']) {
      expect(codes([entry(name)]), name).toEqual(['file_forbidden_type']);
    }
    expect(forbiddenName('assets/sound.ogg')).toBeNull();
  });
});

describe('forbiddenContent', () => {
  it('recognises scripts and native executables by their first bytes', () => {
    expect(forbiddenContent(Buffer.from('#!/bin/sh\nrm -rf ~'))).toMatch(/#!/);
    expect(forbiddenContent(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]))).toMatch(/ELF/);
    expect(forbiddenContent(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]))).toMatch(/Mach-O/);
    const pe = Buffer.alloc(256);
    pe.write('MZ', 0, 'latin1');
    pe.writeUInt32LE(0x80, 0x3c);
    pe.write('PE\0\0', 0x80, 'latin1');
    expect(forbiddenContent(pe)).toMatch(/Windows/);
  });

  it('leaves ordinary content alone', () => {
    expect(forbiddenContent(Buffer.from('-- a comment\nreturn 1'))).toBeNull();
    expect(forbiddenContent(Buffer.from('MZ is just text here'))).toBeNull();
    expect(forbiddenContent(Buffer.alloc(0))).toBeNull();
  });
});
