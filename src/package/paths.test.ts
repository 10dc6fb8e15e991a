import { describe, expect, it } from 'vitest';
import { checkEntryName, extensionOf, isPackagePath } from './paths.js';

const codes = (name: string, directory = false) => checkEntryName(name, directory).map((found) => found.code);

describe('checkEntryName', () => {
  it('accepts ordinary relative names and folders', () => {
    expect(codes('assets/scripts/app.lua')).toEqual([]);
    expect(codes('assets/', true)).toEqual([]);
    expect(codes('données/écran.rml')).toEqual([]);
  });

  it.each([
    ['/etc/passwd', 'path_absolute'],
    ['../evil.lua', 'path_traversal'],
    ['assets/../../x', 'path_traversal'],
    ['assets\\evil.lua', 'path_backslash'],
    ['C:/Windows/x.txt', 'path_drive_letter'],
    ['assets/bell\u0007.txt', 'path_control_character'],
    ['assets/\u202eexe.txt', 'path_control_character'],
    ['assets//x.lua', 'path_invalid'],
    ['assets/./x.lua', 'path_invalid'],
    ['assets/x.txt:stream', 'path_invalid'],
    ['', 'path_invalid'],
  ])('refuses %j with %s', (name, code) => {
    expect(codes(name)).toContain(code);
  });

  it('treats a backslash as a separator when looking for ".."', () => {
    expect(codes('..\\..\\evil.lua')).toEqual(['path_backslash', 'path_traversal']);
  });

  it('refuses a file name ending with a slash and overlong segments', () => {
    expect(codes('assets/', false)).toEqual(['path_invalid']);
    expect(codes(`assets/${'a'.repeat(256)}.lua`)).toEqual(['path_invalid']);
  });

  it('names the entry in every finding', () => {
    expect(checkEntryName('../x', false)).toEqual([expect.objectContaining({ file: '../x', tier: 1, severity: 'error' })]);
  });
});

describe('isPackagePath and extensionOf', () => {
  it('agree with the entry rules', () => {
    expect(isPackagePath('icons/icon-32.png')).toBe(true);
    expect(isPackagePath('../icon.png')).toBe(false);
    expect(isPackagePath('icons/')).toBe(false);
  });

  it('give the lowercase extension', () => {
    expect(extensionOf('assets/Main.RML')).toBe('.rml');
    expect(extensionOf('assets/.hidden')).toBe('');
    expect(extensionOf('assets.d/README')).toBe('');
  });
});
