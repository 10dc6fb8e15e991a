import { describe, expect, it } from 'vitest';
import { formatPath, scanJson } from './json-locate.js';

describe('scanJson', () => {
  it('gives the line of every value, keyed by its path', () => {
    const scan = scanJson('{\n  "id": "a.b",\n  "author": {\n    "email": "x"\n  },\n  "permissions": [\n    "camera",\n    "storage"\n  ]\n}');
    expect(scan.ok).toBe(true);
    if (!scan.ok) return;
    expect(scan.lines.get('')).toBe(1);
    expect(scan.lines.get('id')).toBe(2);
    expect(scan.lines.get('author.email')).toBe(4);
    expect(scan.lines.get('permissions')).toBe(6);
    expect(scan.lines.get('permissions[1]')).toBe(8);
  });

  it('finds keys that appear twice in one object', () => {
    const scan = scanJson('{"permissions": [],\n"a": {"b": 1, "b": 2},\n"permissions": ["camera"]}');
    expect(scan.ok && scan.duplicates).toEqual([
      { path: 'a.b', line: 2 },
      { path: 'permissions', line: 3 },
    ]);
  });

  it('locates syntax errors', () => {
    expect(scanJson('{\n  "id": "x",\n  id: 1\n}')).toEqual({ ok: false, message: 'expected a quoted key but found "i"', line: 3 });
    expect(scanJson('{"a": [1, 2,]}')).toMatchObject({ ok: false, line: 1 });
    expect(scanJson('{"a": "unterminated\n}')).toMatchObject({ ok: false, line: 1 });
    expect(scanJson('{} {}')).toMatchObject({ ok: false });
    expect(scanJson('[01]')).toMatchObject({ ok: false });
  });

  it('accepts every JSON value JSON.parse accepts', () => {
    for (const text of ['0', '-1.5e+3', '"\\u00e9\\n"', 'true', 'null', '[]', '{}', ' [ {"a" : [ false ] } ] ']) {
      expect(scanJson(text).ok, text).toBe(true);
    }
  });
});

describe('formatPath', () => {
  it('writes paths the way messages show them', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['author', 'email'])).toBe('author.email');
    expect(formatPath(['permissions', 2])).toBe('permissions[2]');
    expect(formatPath(['icons', '32'])).toBe('icons["32"]');
    expect(formatPath(['x-build'])).toBe('x-build');
  });
});
