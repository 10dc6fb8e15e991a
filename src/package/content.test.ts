import { describe, expect, it } from 'vitest';
import { checkIcon, checkRcss, parseLua } from './content.js';
import { png } from './test-support.js';

describe('parseLua', () => {
  it('parses Lua 5.3 and keeps string literals as their bytes', () => {
    const result = parseLua(Buffer.from('local s = "caf\\xc3\\xa9 \\u{41}" // 2\nreturn s\n').toString('latin1'), 'a.lua');
    expect(result.ok).toBe(true);
  });

  it('reports a syntax error with its line', () => {
    const result = parseLua('local a = 1\nfunction broken(\n  return 1\nend', 'assets/scripts/app.lua');
    expect(result).toEqual({ ok: false, finding: expect.objectContaining({ code: 'lua_syntax_error', file: 'assets/scripts/app.lua', line: 3 }) });
    if (!result.ok) expect(result.finding.message).toMatch(/^assets\/scripts\/app\.lua:3: /);
  });

  it('places embedded code at its real line', () => {
    const result = parseLua('\nlocal = 1', 'main.rml', 10);
    expect(!result.ok && result.finding.line).toBe(11);
  });

  it('reports input that trips the parser itself (an invalid first character) as a syntax error', () => {
    const result = parseLua('!x = 1', 'a.lua');
    expect(!result.ok && result.finding.code).toBe('lua_syntax_error');
  });

  it('skips a first line starting with #, as Lua does', () => {
    expect(parseLua('#!/usr/bin/lua\nreturn 1', 'a.lua').ok).toBe(true);
  });

  it('reports nesting too deep to parse instead of crashing', () => {
    const deep = `return ${'('.repeat(100_000)}1${')'.repeat(100_000)}`;
    const result = parseLua(deep, 'deep.lua');
    expect(!result.ok && result.finding.code).toBe('lua_syntax_error');
  });
});

describe('checkRcss', () => {
  it('accepts RCSS: unquoted paths, decorators, sprite sheets, media queries', () => {
    const rcss = `@spritesheet theme {\n  src: invader.tga;\n  title-bar-l: 147px 0px 82px 85px;\n}\nbody { decorator: image(icons/a.png flip-horizontal); font-effect: glow(2px #000); }\n@media (min-width: 600px) { div:hover > p.big { color: rgba(0,0,0,0.5) !important; } }\n/* done */\n`;
    expect(checkRcss(rcss, 'a.rcss').findings).toEqual([]);
  });

  it.each([
    ['an extra closing brace', 'body { color: red; }\n}\n', 2],
    ['a declaration without colon', 'body {\n  color red;\n}\n', 2],
    ['an unclosed block', 'body {\n  color: red;\n', 1],
    ['an unclosed string', 'body {\n  font-family: "Lato;\n}\n', 2],
    ['an unclosed comment', 'body { color: red; }\n/* never closed\n', 2],
    ['an unbalanced parenthesis', 'body {\n  decorator: image(a.png;\n}\n', 2],
    ['a broken selector', 'div[ { color: red; }\n', 1],
  ])('reports %s with its line', (_case, rcss, line) => {
    const { findings } = checkRcss(rcss, 'styles/a.rcss');
    expect(findings).toEqual([expect.objectContaining({ code: 'rcss_syntax_error', file: 'styles/a.rcss', line })]);
  });

  it('returns values and strings for the URL checks, at their lines', () => {
    const { literals } = checkRcss('a {\n  b: url(http://x.example/a.png);\n}\n@import "http://y.example/b.rcss";\n', 'a.rcss');
    expect(literals).toEqual(expect.arrayContaining([
      { text: 'url(http://x.example/a.png)', line: 2 },
      { text: '"http://y.example/b.rcss"', line: 4 },
    ]));
  });
});

describe('checkIcon', () => {
  it('accepts a PNG of the declared size', () => {
    expect(checkIcon(png(32, 32), 'icons/32.png', 32)).toEqual([]);
  });

  it('refuses a PNG of another size, naming both sizes', () => {
    expect(checkIcon(png(64, 64), 'icons/32.png', 32)).toEqual([
      expect.objectContaining({ code: 'icon_wrong_size', file: 'icons/32.png', message: 'icons/32.png is 64×64 pixels but is declared as the 32×32 icon' }),
    ]);
  });

  it('refuses files that are not PNG, and damaged PNGs', () => {
    expect(checkIcon(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46]), 'a.png', 32)[0]?.code).toBe('icon_not_png');
    const damaged = png(32, 32);
    damaged.fill(0, 40);
    expect(checkIcon(damaged, 'a.png', 32)[0]?.code).toBe('icon_not_png');
  });

  it('does not decode a PNG whose header claims a huge image', () => {
    const huge = png(32, 32);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    expect(checkIcon(huge, 'a.png', 32)[0]?.code).toBe('icon_wrong_size');
  });
});
