import { describe, expect, it } from 'vitest';
import { analyzeLua, LuaModules, type LuaContext } from './analysis.js';
import { parseLua } from './content.js';
import type { Permission } from './findings.js';

function analyze(code: string, context: Partial<LuaContext> = {}) {
  const parsed = parseLua(Buffer.from(code).toString('latin1'), 'app.lua');
  if (!parsed.ok) throw new Error(parsed.finding.message);
  return analyzeLua([parsed.chunk], { file: 'app.lua', luaModules: new LuaModules(['assets/scripts/app.lua', 'assets/scripts/util/strings.lua', 'assets/scripts/ui/init.lua']), declared: new Set<Permission>(), ...context });
}
const found = (code: string, context: Partial<LuaContext> = {}) => analyze(code, context).findings.map((item) => [item.code, item.line]);

describe('sandbox escapes', () => {
  it.each([
    ['os.execute("rm -rf /")'],
    ['os.exit(1)'],
    ['os.remove("x")'],
    ['os.rename("a", "b")'],
    ['local home = os.getenv("HOME")'],
    ['local f = io.open("/etc/passwd")'],
    ['io.write("x")'],
    ['debug.sethook(print, "l")'],
    ['dofile("/tmp/x.lua")'],
    ['local f = loadfile("x")'],
    ['local b = string.dump(print)'],
    ['setfenv(1, {})'],
    ['local env = getfenv(1)'],
    ['package.loadlib("evil.so", "init")'],
  ])('%s', (code) => {
    expect(found(code)).toEqual([['lua_sandbox_escape', 1]]);
  });

  it('sees through aliases, _G, _ENV, rawget, require, package.loaded and the string metatable', () => {
    for (const code of [
      'local o = os\no.execute("x")',
      'local o = os or {}\no.execute("x")',
      'myos = os\nmyos.execute("x")',
      'local run = os.execute\nrun("x")',
      'local o; o = os\no.execute("x")',
      '_G.os.execute("x")',
      '_G["os"]["execute"]("x")',
      '_G["o" .. "s"].execute("x")',
      '_ENV.os.execute("x")',
      'local g = _G\ng.os.execute("x")',
      'rawget(_G, "os").execute("x")',
      'local o = require("os")\no.execute("x")',
      'package.loaded.os.execute("x")',
      'local f = io\nf.open("x")',
      'getmetatable("").__index.dump(print)',
      'local o = os\no:execute()',
    ]) {
      expect(analyze(code).findings.map((item) => item.code), code).toContain('lua_sandbox_escape');
    }
  });

  it('reports at the line of use, and names what is used', () => {
    const findings = analyze('local o = os\n\nlocal x = 1\no.execute("x")').findings;
    expect(findings).toEqual([expect.objectContaining({ code: 'lua_sandbox_escape', line: 4, file: 'app.lua', severity: 'warning', tier: 3 })]);
    expect(findings[0]?.message).toBe('app.lua:4: uses os.execute, which runs a shell command');
  });

  it('is not fooled by locals that share a library name', () => {
    expect(found('local os = { execute = function() end }\nos.execute("x")')).toEqual([]);
    expect(found('local function f(io) return io.open end')).toEqual([]);
    expect(found('for _, os in ipairs({}) do os.execute() end')).toEqual([]);
  });

  it('allows the harmless parts of os and string', () => {
    expect(found('local t = os.time()\nlocal c = os.clock()\nlocal d = os.date("%Y")\nlocal s = string.format("%d", 1):rep(2)')).toEqual([]);
  });

  it('reports computed keys on dangerous tables and handing them on', () => {
    expect(found('local k = "execute"\nos[k]("x")')).toEqual([['lua_sandbox_escape', 2]]);
    expect(found('helper(os)')).toEqual([['lua_sandbox_escape', 1]]);
    expect(found('local t = { lib = io }')).toEqual([['lua_sandbox_escape', 1]]);
  });
});

describe('dynamic code', () => {
  it('reports load and loadstring of literals and computed code', () => {
    expect(analyze('local f = loadstring("return 1")').findings.map((item) => item.message)).toEqual(['app.lua:1: compiles a string into code at run time (load/loadstring); that code cannot be checked']);
    expect(found('local f = load(source)')).toEqual([['lua_dynamic_code', 1]]);
    expect(found('local l = load\nl("x")')).toEqual([
      ['lua_dynamic_code', 1],
      ['lua_dynamic_code', 2],
    ]);
  });

  it('reports computed global lookups and _G used as a value', () => {
    expect(found('local name = "o" .. suffix\nlocal lib = _G[name]')).toEqual([['lua_dynamic_code', 2]]);
    expect(found('for k, v in pairs(_G) do end')).toEqual([['lua_dynamic_code', 1]]);
  });

  it('reports a require whose name is computed', () => {
    expect(found('local m = require(name)')).toEqual([['lua_dynamic_code', 1]]);
  });
});

describe('require', () => {
  it('accepts modules that are files of the package, and standard libraries', () => {
    expect(found('local s = require("util.strings")\nlocal ui = require "ui"\nlocal app = require("assets.scripts.app")\nlocal m = require("math")')).toEqual([]);
  });

  it('reports modules that are not in the package', () => {
    expect(analyze('local socket = require("socket")').findings).toEqual([
      expect.objectContaining({ code: 'lua_require_undeclared', line: 1, message: 'app.lua:1: requires "socket", which is not a Lua file of the package' }),
    ]);
  });
});

describe('permissions', () => {
  it('records the first use of each permission API', () => {
    const { uses } = analyze('local a = 1\nhttp.get("https://api.example.com")\nlocal c = camera\nc.capture()\nnetwork.fetch("x")', { declared: null });
    expect([...uses]).toEqual([
      ['network', { api: 'http.get', line: 2 }],
      ['camera', { api: 'camera', line: 3 }],
    ]);
  });

  it('reports APIs used without their permission, once per permission', () => {
    const findings = analyze('http.get("https://a.example")\nhttp.post("https://b.example")\nclipboard.set("x")\nstorage.put("k", "v")', { declared: new Set<Permission>(['storage']) }).findings;
    expect(findings.map((item) => [item.code, item.line, item.message])).toEqual([
      ['permission_undeclared', 1, 'app.lua:1: uses http.get, which needs the "network" permission, but manifest.json does not declare it'],
      ['permission_undeclared', 3, 'app.lua:3: uses clipboard.set, which needs the "clipboard" permission, but manifest.json does not declare it'],
    ]);
  });

  it('counts uses through _G and require', () => {
    const { uses } = analyze('_G.sensors.read()\nlocal h = require("http")', { declared: null });
    expect([...uses.keys()]).toEqual(['sensors', 'network']);
  });

  it('says nothing about permissions when the declared list is unknown', () => {
    expect(found('http.get("https://a.example")', { declared: null })).toEqual([]);
  });
});

describe('literals', () => {
  it('reports insecure and private URLs in string literals', () => {
    expect(found('local a = "http://example.com/app"\nlocal b = [[\nhttps://192.168.1.1/admin]]')).toEqual([
      ['url_insecure', 1],
      ['url_private_host', 2],
    ]);
  });

  it('reports very long and high-entropy strings', () => {
    let noise = '';
    for (let i = 0; i < 400; i++) noise += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charAt((i * 7919 + ((i * i) % 97)) % 64);
    expect(found(`local blob = "${noise}"`)).toEqual([['string_obfuscated', 1]]);
    expect(found(`local text = [[${'word '.repeat(250)}]]`)).toEqual([['string_obfuscated', 1]]);
    expect(found('local ok = "an ordinary sentence, nothing to see"')).toEqual([]);
  });
});

describe('several chunks of one file', () => {
  it('share globals, as the inline scripts of one RML document do', () => {
    const first = parseLua('myio = io', 'main.rml', 3);
    const second = parseLua('myio.open("x")', 'main.rml', 9);
    if (!first.ok || !second.ok) throw new Error('parse');
    const { findings } = analyzeLua([first.chunk, second.chunk], { file: 'main.rml', luaModules: new LuaModules([]), declared: null });
    expect(findings.map((item) => [item.code, item.line])).toEqual([['lua_sandbox_escape', 9]]);
  });
});

describe('work linear in the code', () => {
  // Each of these took 20 s or more when the analysis was quadratic in them; linear, well under 1 s.
  it('resolves 40 000 requires against 20 000 package modules with one look-up each', () => {
    const modules = new LuaModules(Array.from({ length: 20_000 }, (_, i) => `lib/deep/dir/module_${i}.lua`));
    const code = Array.from({ length: 40_000 }, (_, i) => `require "${i % 2 === 0 ? `dir.module_${i % 20_000}` : `missing_${i}`}"`).join('\n');
    const findings = analyze(code, { luaModules: modules }).findings;
    // Only the missing half is reported, 100 of them and a count of the rest.
    expect(findings).toHaveLength(101);
    expect(findings.at(-1)?.message).toBe('app.lua: … and 19900 more lua_require_undeclared findings in this file not shown');
    expect(new LuaModules(['a/b/c.lua', 'x/init.lua']).has('b.c')).toBe(true);
    expect(new LuaModules(['a/b/c.lua', 'x/init.lua']).has('c')).toBe(true);
    expect(new LuaModules(['a/b/c.lua', 'x/init.lua']).has('x')).toBe(true);
    expect(new LuaModules(['a/bb/c.lua']).has('b.c')).toBe(false);
  }, 10_000);

  it('resolves call chains whose arguments declare names once per link', () => {
    const chain = `x = f${'(function() local q end)'.repeat(1_500)}\n`;
    expect(analyze(`${chain.repeat(120)}os.execute("ls")`).findings.map((item) => item.code)).toEqual(['lua_sandbox_escape']);
  }, 10_000);
});
