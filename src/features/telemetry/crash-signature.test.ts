import { describe, expect, it } from 'vitest';
import { crashSignature } from './crash-signature.js';

interface Crash {
  type: string;
  message: string;
  stack_trace: string;
}

/** A Lua traceback as luaL_traceback prints it: a header, then one tab-indented line per frame. */
const tb = (...frames: string[]) => ['stack traceback:', ...frames.map((frame) => `\t${frame}`)].join('\n');
const lua = (message: string, stack_trace: string): Crash => ({ type: 'lua_error', message, stack_trace });
const repeat = (line: string, times: number) => Array.from({ length: times }, () => line);

const IOS = '/var/mobile/Containers/Data/Application/550E8400-E29B-41D4-A716-446655440000/Library/Apps/com.example.todo';
const IOS_OTHER = '/var/mobile/Containers/Data/Application/9F1C2B7A-0D3E-4C5B-8A6F-1234567890AB/Library/Apps/com.example.todo';

/**
 * The corpus: each entry is one bug, reported in several ways (Lua 5.1 to 5.4 formats, device install
 * paths, line numbers of other app versions, addresses, recursion depths). Every report of an entry
 * must land in one group, and no two entries may share a group.
 */
const BUGS: Record<string, Crash[]> = {
  'index nil field x in Button:onClick': [
    lua(
      "ui/button.lua:42: attempt to index a nil value (field 'x')",
      tb("ui/button.lua:42: in method 'Button:onClick'", "ui/screen.lua:88: in upvalue 'dispatch'", "main.lua:12: in function <main.lua:10>", '[C]: in ?'),
    ),
    lua(
      "/data/apps/com.example.todo/ui/button.lua:57: attempt to index a nil value (field 'x')",
      tb(
        "/data/apps/com.example.todo/ui/button.lua:57: in method 'onClick'",
        "/data/apps/com.example.todo/ui/screen.lua:91: in upvalue 'dispatch'",
        '(...tail calls...)',
        '/data/apps/com.example.todo/main.lua:14: in function </data/apps/com.example.todo/main.lua:11>',
        '[C]: in ?',
      ),
    ),
    lua(
      `${IOS}/ui/button.lua:42: attempt to index a nil value (field 'x')`,
      // Lua cuts chunk names longer than its LUA_IDSIZE from the left, mid-segment.
      tb("...ple.todo/ui/button.lua:42: in method 'Button:onClick'", "...ple.todo/ui/screen.lua:88: in upvalue 'dispatch'", '...mple.todo/main.lua:12: in function <...mple.todo/main.lua:10>'),
    ),
    // No message field: the traceback's first line carries it (debug.traceback(msg)); Lua 5.1's "[C]: ?".
    lua(
      '',
      [
        `[string "ui/button.lua"]:44: attempt to index a nil value (field 'x')`,
        tb(`[string "ui/button.lua"]:44: in method 'onClick'`, `[string "ui/screen.lua"]:90: in upvalue 'dispatch'`, `[string "main.lua"]:12: in function <[string "main.lua"]:10>`, '[C]: ?'),
      ].join('\n'),
    ),
  ],
  'call nil method y in Button:onClick (same place, other kind)': [
    lua(
      "ui/button.lua:42: attempt to call a nil value (method 'y')",
      tb("ui/button.lua:42: in method 'Button:onClick'", "ui/screen.lua:88: in upvalue 'dispatch'", "main.lua:12: in function <main.lua:10>", '[C]: in ?'),
    ),
    lua(
      "/data/apps/com.example.todo/ui/button.lua:61: attempt to call a nil value (method 'y')",
      tb("/data/apps/com.example.todo/ui/button.lua:61: in method 'onClick'", "/data/apps/com.example.todo/ui/screen.lua:92: in upvalue 'dispatch'", '/data/apps/com.example.todo/main.lua:12: in function </data/apps/com.example.todo/main.lua:10>'),
    ),
  ],
  'index nil field x in onRelease (other function)': [
    lua("ui/button.lua:71: attempt to index a nil value (field 'x')", tb("ui/button.lua:71: in method 'Button:onRelease'", "ui/screen.lua:88: in upvalue 'dispatch'", 'main.lua:12: in function <main.lua:10>')),
  ],
  'index nil field x in toggle.lua (other file)': [
    lua("ui/toggle.lua:42: attempt to index a nil value (field 'x')", tb("ui/toggle.lua:42: in method 'Toggle:onClick'", "ui/screen.lua:88: in upvalue 'dispatch'", 'main.lua:12: in function <main.lua:10>')),
  ],
  'stack overflow in a recursive walk': [
    lua('ui/tree.lua:8: stack overflow', tb(...repeat("ui/tree.lua:8: in upvalue 'walk'", 3), "ui/tree.lua:20: in field 'render'", 'main.lua:5: in main chunk', '[C]: in ?')),
    lua('ui/tree.lua:9: stack overflow', tb(...repeat("ui/tree.lua:9: in upvalue 'walk'", 180), "ui/tree.lua:21: in field 'render'", 'main.lua:5: in main chunk', '[C]: in ?')),
    // Lua 5.4 prints the top and bottom of a deep stack with a count of the levels in between.
    lua(
      '/data/apps/com.example.todo/ui/tree.lua:8: stack overflow',
      tb(
        ...repeat("/data/apps/com.example.todo/ui/tree.lua:8: in upvalue 'walk'", 10),
        '...\t(skipping 199963 levels)',
        ...repeat("/data/apps/com.example.todo/ui/tree.lua:8: in upvalue 'walk'", 8),
        "/data/apps/com.example.todo/ui/tree.lua:20: in field 'render'",
        '/data/apps/com.example.todo/main.lua:5: in main chunk',
        '[C]: in ?',
      ),
    ),
  ],
  'stack overflow in mutual recursion': [
    lua(
      'ui/layout.lua:30: stack overflow',
      tb(...Array.from({ length: 4 }, () => ["ui/layout.lua:30: in local 'measure'", "ui/layout.lua:50: in local 'measureChildren'"]).flat(), "ui/layout.lua:70: in function 'layout.run'", 'main.lua:9: in main chunk'),
    ),
    lua(
      'ui/layout.lua:31: stack overflow',
      tb(...Array.from({ length: 90 }, () => ["ui/layout.lua:31: in local 'measure'", "ui/layout.lua:52: in local 'measureChildren'"]).flat(), "ui/layout.lua:73: in field 'run'", 'main.lua:9: in main chunk'),
    ),
  ],
  'request timeout': [
    { type: 'timeout', message: 'timeout after 5023 ms', stack_trace: '' },
    { type: 'timeout', message: 'timeout after 5100 ms', stack_trace: '' },
    { type: 'timeout', message: 'timeout after 12000 ms', stack_trace: '   \n\n' },
  ],
  'timeout of another kind (same message)': [{ type: 'app_crash', message: 'timeout after 5023 ms', stack_trace: '' }],
  'error() with a user id and a table address': [
    lua(
      'net/profile.lua:20: could not load profile for user 40213 (table: 0x55d4a3b2c1f0)',
      tb("[C]: in function 'error'", "net/profile.lua:20: in function 'profile.load'", "ui/home.lua:14: in local 'refresh'", 'main.lua:30: in main chunk'),
    ),
    lua(
      'net/profile.lua:23: could not load profile for user 977 (table: 0x7ffd9a0b1e28)',
      tb("[C]: in function 'error'", "net/profile.lua:23: in field 'load'", "ui/home.lua:15: in local 'refresh'", 'main.lua:31: in main chunk'),
    ),
  ],
  'bad argument to table.insert': [
    lua("bad argument #1 to 'insert' (table expected, got nil)", tb("[C]: in function 'table.insert'", "store/cart.lua:33: in method 'Cart:add'", "ui/product.lua:19: in field 'onBuy'")),
    // Lua 5.3 names the builtin without its table.
    lua("bad argument #1 to 'insert' (table expected, got nil)", tb("[C]: in function 'insert'", "store/cart.lua:35: in method 'add'", "ui/product.lua:19: in field 'onBuy'")),
  ],
  'bad second argument to table.insert': [
    lua("bad argument #2 to 'insert' (number expected, got string)", tb("[C]: in function 'table.insert'", "store/cart.lua:33: in method 'Cart:add'", "ui/product.lua:19: in field 'onBuy'")),
  ],
  'arithmetic on nil in an anonymous callback': [
    lua(
      "game/score.lua:12: attempt to perform arithmetic on a nil value (local 'count')",
      tb('game/score.lua:12: in function <game/score.lua:10>', "[C]: in function 'pcall'", "game/loop.lua:40: in function 'loop.tick'", 'main.lua:3: in main chunk', '[C]: ?'),
    ),
    // The next app version moved the callback down two lines.
    lua(
      "game/score.lua:14: attempt to perform arithmetic on a nil value (local 'count')",
      tb('game/score.lua:14: in function <game/score.lua:12>', "[C]: in function 'pcall'", "game/loop.lua:40: in field 'tick'", 'main.lua:3: in main chunk'),
    ),
  ],
  'missing module (multi-line message with device paths)': [
    lua(
      "main.lua:2: module 'ui.theme' not found:\n\tno field package.preload['ui.theme']\n\tno file '/data/apps/com.example.todo/ui/theme.lua'",
      tb("[C]: in function 'require'", 'main.lua:2: in main chunk', '[C]: in ?'),
    ),
    lua(
      `main.lua:2: module 'ui.theme' not found:\n\tno field package.preload['ui.theme']\n\tno file '${IOS_OTHER}/ui/theme.lua'`,
      tb("[C]: in function 'require'", `${IOS_OTHER}/main.lua:2: in main chunk`, '[C]: in ?'),
    ),
  ],
  'out of memory with only the host frame': [
    { type: 'out_of_memory', message: 'not enough memory', stack_trace: tb('[C]: in ?') },
    { type: 'out_of_memory', message: 'not enough memory', stack_trace: tb('[C]: in ?', '[C]: in ?') },
  ],
  'session id in the message': [
    lua('net/sync.lua:9: session 7c9e6679-7425-40de-944b-e07fc1f90ae7 expired at 2026-12-01T10:20:30.123Z', tb("[C]: in function 'error'", "net/sync.lua:9: in upvalue 'check'")),
    lua('net/sync.lua:9: session 16fd2706-8baf-433b-82eb-8c7fada847da expired at 2027-01-15T23:59:01.007Z', tb("[C]: in function 'error'", "net/sync.lua:9: in upvalue 'check'")),
  ],
};

describe('crashSignature', () => {
  const signatures = Object.fromEntries(Object.entries(BUGS).map(([bug, crashes]) => [bug, crashes.map((crash) => crashSignature(crash).signature)]));

  it('is a sha256 hex digest and the same for the same input', () => {
    const crash = BUGS['index nil field x in Button:onClick']?.[0] as Crash;
    expect(crashSignature(crash).signature).toMatch(/^[0-9a-f]{64}$/);
    expect(crashSignature({ ...crash })).toEqual(crashSignature(crash));
  });

  it.each(Object.keys(BUGS).filter((bug) => (BUGS[bug] as Crash[]).length > 1))('groups every report of one bug together: %s', (bug) => {
    expect(new Set(signatures[bug]).size).toBe(1);
  });

  it('gives different bugs different groups', () => {
    const firsts = Object.values(signatures).map((group) => group[0]);
    expect(Object.values(BUGS).flat().length).toBeGreaterThanOrEqual(25);
    expect(new Set(firsts).size).toBe(Object.keys(BUGS).length);
  });

  it('keeps file:function frames, top first, without lines, device paths, tail calls or host noise', () => {
    const [relative, android, ios, fromString] = (BUGS['index nil field x in Button:onClick'] as Crash[]).map((crash) => crashSignature(crash).frames);
    expect(relative).toEqual(['ui/button.lua:onClick', 'ui/screen.lua:dispatch', 'main.lua:<main.lua>']);
    expect(android).toEqual(relative);
    expect(ios).toEqual(relative);
    expect(fromString).toEqual(relative);
    expect(crashSignature(lua('boom', tb("[C]: in function 'error'", "lib/json.lua:88: in function 'json.decode'", 'main.lua:4: in main chunk'))).frames).toEqual([
      '[C]:error',
      'lib/json.lua:decode',
      'main.lua:(main chunk)',
    ]);
    expect(crashSignature(lua('boom', tb('lib/util.lua:3: in ?', '[C]: in ?'))).frames).toEqual(['lib/util.lua:?']);
    expect(crashSignature(BUGS['out of memory with only the host frame']?.[0] as Crash).frames).toEqual(['[C]:?']);
  });

  it('folds recursion into one frame (or one cycle) whatever the depth', () => {
    const [shallow, deep, skipped] = (BUGS['stack overflow in a recursive walk'] as Crash[]).map((crash) => crashSignature(crash).frames);
    expect(shallow).toEqual(['ui/tree.lua:walk', 'ui/tree.lua:render', 'main.lua:(main chunk)']);
    expect(deep).toEqual(shallow);
    expect(skipped).toEqual(shallow);
    expect(crashSignature(BUGS['stack overflow in mutual recursion']?.[1] as Crash).frames).toEqual([
      'ui/layout.lua:measure',
      'ui/layout.lua:measureChildren',
      'ui/layout.lua:run',
      'main.lua:(main chunk)',
    ]);
  });

  it('keeps at most 20 frames, and groups by the top of the stack', () => {
    const frames = Array.from({ length: 30 }, (_, i) => `app/f${i}.lua:${i + 1}: in local 'f${i}'`);
    const long = crashSignature(lua('boom', tb(...frames)));
    expect(long.frames).toHaveLength(20);
    expect(long.frames[0]).toBe('app/f0.lua:f0');
    expect(long.frames[19]).toBe('app/f19.lua:f19');
    // The same failure reached through another, deeper dispatcher is the same bug…
    const otherDispatch = [...frames.slice(0, 5), "host/events.lua:7: in function 'events.fire'", ...frames.slice(5)];
    expect(crashSignature(lua('boom', tb(...otherDispatch))).signature).toBe(long.signature);
    // …while another function near the top is not.
    const otherCaller = [...frames.slice(0, 2), "app/other.lua:3: in local 'other'", ...frames.slice(3)];
    expect(crashSignature(lua('boom', tb(...otherCaller))).signature).not.toBe(long.signature);
  });

  it('titles a group with the crash type and the message without locations or values', () => {
    const title = (crash: Crash | undefined) => crashSignature(crash as Crash).title;
    expect(title(BUGS['index nil field x in Button:onClick']?.[1])).toBe("lua_error: attempt to index a nil value (field 'x')");
    expect(title(BUGS['index nil field x in Button:onClick']?.[3])).toBe("lua_error: attempt to index a nil value (field 'x')");
    expect(title(BUGS['request timeout']?.[0])).toBe('timeout: timeout after <n> ms');
    expect(title(BUGS['error() with a user id and a table address']?.[0])).toBe('lua_error: could not load profile for user <n> (table: <addr>)');
    expect(title(BUGS['bad argument to table.insert']?.[0])).toBe("lua_error: bad argument #1 to 'insert' (table expected, got nil)");
    expect(title(BUGS['missing module (multi-line message with device paths)']?.[1])).toBe("lua_error: module 'ui.theme' not found:");
    expect(title(BUGS['session id in the message']?.[0])).toBe('lua_error: session <uuid> expired at <n>Z');
    expect(title(lua('main.lua:3: invalid name "some user typed this"', ''))).toBe('lua_error: invalid name "<str>"');
    expect(title(lua("cannot open '/data/apps/com.example.todo/cache/7f3a9c1e22/img.png'", ''))).toBe("lua_error: cannot open 'img.png'");
    expect(title(lua('data/save.lua:7: save from v1.4.2 is corrupt (checksum 9f86d081884c7d65)', ''))).toBe('lua_error: save from v<n> is corrupt (checksum <hex>)');
    expect(title({ type: 'app_crash', message: '', stack_trace: '' })).toBe('app_crash');
    const long = title(lua(`x.lua:1: ${'word '.repeat(200)}`, ''));
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long.startsWith('lua_error: word word')).toBe(true);
  });

  it('gives a crash without a usable stack a stable signature from its type, message and file', () => {
    const none = crashSignature({ type: 'lua_error', message: 'main.lua:10: boom 17', stack_trace: '' });
    expect(none.frames).toEqual([]);
    expect(crashSignature({ type: 'lua_error', message: 'main.lua:99: boom 4', stack_trace: 'garbage\nmore garbage' }).signature).toBe(none.signature);
    expect(crashSignature({ type: 'lua_error', message: 'ui/other.lua:10: boom 17', stack_trace: '' }).signature).not.toBe(none.signature);
    expect(crashSignature({ type: 'lua_error', message: 'main.lua:10: bang 17', stack_trace: '' }).signature).not.toBe(none.signature);
    expect(crashSignature({ type: 'app_crash', message: 'main.lua:10: boom 17', stack_trace: '' }).signature).not.toBe(none.signature);
    const empty = crashSignature({ type: 'app_crash', message: '', stack_trace: '' });
    expect(empty.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(crashSignature({ type: 'app_crash', message: ' ', stack_trace: '\n' }).signature).toBe(empty.signature);
  });

  /*
   * "Fast" is asserted as linear, not as a number of milliseconds (a loaded machine once took 63 ms
   * for a 50 ms bound): each input is timed at 1/64, 1/16, 1/4 and all of its size, and each four
   * times larger input may take at most ten times as long. Linear work (or work a cap bounds) gives
   * four or less; quadratic work, a backtracking regex or a rescan per line gives sixteen. The
   * smaller sizes sit below the caps (64 KiB of trace, 4 KiB of message, 1024 lines), so a step
   * that quadruples the work the caps let through is always among them.
   */
  describe('finishes fast on hostile input', () => {
    const KIB64 = 64 * 1024;
    /** A count at `k` times the input's full size. */
    const n = (count: number, k: number) => Math.max(1, Math.round(count * k));
    const lines = (k: number, line: (i: number) => string) => Array.from({ length: n(10_000, k) }, (_, i) => line(i)).join('\n');
    const hostile: Record<string, (k: number) => Crash> = {
      '64 KiB on one line': (k) => lua('m'.repeat(n(4096, k)), 'a'.repeat(n(KIB64, k))),
      '64 KiB of one frame line': (k) => lua('boom', `\tmain.lua:1: in function '${'f'.repeat(n(KIB64, k))}'`),
      '10 000 identical frames': (k) => lua('stack overflow', lines(k, () => "\tmain.lua:1: in local 'f'")),
      '10 000 distinct frames': (k) => lua('boom', lines(k, (i) => `\tm${i}.lua:${i}: in local 'f${i}'`)),
      '10 000 empty lines': (k) => lua('boom', '\n'.repeat(n(10_000, k))),
      'digits and colons': (k) => lua('1:'.repeat(n(2048, k)), '1:'.repeat(n(KIB64 / 2, k))),
      'colons': (k) => lua(':'.repeat(n(4096, k)), ':'.repeat(n(KIB64, k))),
      'digits': (k) => lua('9'.repeat(n(4096, k)), '9'.repeat(n(KIB64, k))),
      'brackets': (k) => lua('['.repeat(n(4096, k)), '[string "'.repeat(n(KIB64 / 9, k))),
      'unclosed quotes and slashes': (k) => lua(`'"/`.repeat(n(1365, k)), `${': in '.repeat(n(KIB64 / 5, k))}`),
      'path-like message': (k) => lua(` /a${'/a'.repeat(n(2047, k))}`, `/${'a/'.repeat(n(KIB64 / 2, k))}`),
      'hex and uuid fragments': (k) => lua('0x'.repeat(n(2048, k)), `${'550e8400-e29b-'.repeat(n(KIB64 / 14, k))}`),
      'frames with huge names': (k) => lua('boom', lines(k, () => `\t${'...'.repeat(100)}: in function <${'x:'.repeat(100)}>`)),
      'a megabyte': (k) => lua('x'.repeat(n(1 << 20, k)), '\tmain.lua:1: in main chunk\n'.repeat(n((1 << 20) / 27, k))),
    };
    // As a parsed request body holds them: flat strings, not the ropes `repeat` builds (flattening
    // a megabyte rope on first read would be timed as ours).
    const flat = (crash: Crash): Crash => JSON.parse(JSON.stringify(crash)) as Crash;

    /**
     * CPU milliseconds per call, not wall-clock ones: time the process spent descheduled on a loaded
     * machine is not ours (wall-clock runs here once came out three times too slow).
     */
    function msPerCall(crash: Crash, reps: number): number {
      const started = process.cpuUsage();
      for (let i = 0; i < reps; i++) crashSignature(crash);
      const used = process.cpuUsage(started);
      return (used.user + used.system) / 1000 / reps;
    }
    /** Calls per timed run: enough for 2 ms of CPU, far above the clock's grain (a microsecond), and long enough that a GC thread's slice does not dominate it. Also warms up the JIT. */
    function repsFor(crash: Crash): number {
      let reps = 1;
      while (msPerCall(crash, reps) * reps < 2 && reps < 4096) reps *= 2;
      return reps;
    }

    it.each(Object.keys(hostile))('%s', (name) => {
      const make = hostile[name] as (k: number) => Crash;
      const inputs = [1 / 64, 1 / 16, 1 / 4, 1].map((k) => flat(make(k)));
      const reps = inputs.map(repsFor);
      const best = inputs.map(() => Infinity);
      // Interleaved, fastest of seven: what else the process does (its GC, its other threads) only adds time.
      for (let run = 0; run < 7; run++) inputs.forEach((input, i) => (best[i] = Math.min(best[i] ?? Infinity, msPerCall(input, reps[i] ?? 1))));
      const times = best.map((ms) => `${ms.toFixed(3)} ms`).join(', ');
      for (let i = 1; i < inputs.length; i++) expect(best[i], `per call at 1/64, 1/16, 1/4, 1 of the size: ${times}`).toBeLessThan(10 * (best[i - 1] ?? 0));
      const result = crashSignature(inputs[inputs.length - 1] as Crash);
      expect(result.signature).toMatch(/^[0-9a-f]{64}$/);
      expect(result.frames.length).toBeLessThanOrEqual(20);
      expect(result.title.length).toBeLessThanOrEqual(200);
    });
  });
});
