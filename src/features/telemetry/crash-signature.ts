import { sha256Hex } from '../../shared/crypto.js';

/**
 * Which crash group a crash report belongs to: the same bug lands in one group whatever the
 * version, device, install path, line numbers, addresses or recursion depth; different bugs land in
 * different groups. Pure and bounded: the inputs come from devices, so every step is a single pass
 * over a capped input (no backtracking regular expression sees device text).
 */
export interface CrashSignature {
  /** 64 hex chars: sha256 of the normalized parts; equal for the same bug across versions/devices. */
  signature: string;
  /** Normalized frames kept, top first, like "ui/button.lua:onClick" or "[C]:error"; at most 20. */
  frames: string[];
  /** A short human title for the group: the crash type and the normalized message, at most 200 chars. */
  title: string;
}

/** Bumped when the normalization changes, so old and new signatures never collide by accident. */
const SIGNATURE_VERSION = 'mosis-crash-signature/1';

/** Frames kept for the group's page: the path to the failure; deeper frames are the event loop. */
export const MAX_FRAMES = 20;
/**
 * Frames that decide the group. Five covers the usual top of a Lua crash (a builtin such as
 * `[C]:error`, the failing function, the one that handed it the bad value, two callers above).
 * Fewer merges different bugs that fail inside one shared helper; more splits one bug by every
 * route into it (screens, event dispatchers, recursion entry points), and the deep frames are where
 * host dispatch and stack-overflow cut-offs differ between reports of the same bug.
 */
export const SIGNED_FRAMES = 5;
/** Device input caps (the API accepts 64 KiB traces and 4 KiB messages; more is cut, not parsed). */
export const MAX_TRACE_CHARS = 64 * 1024;
export const MAX_MESSAGE_CHARS = 4 * 1024;
/**
 * Lines of trace looked at. Lua's own tracebacks are at most ~22 lines (the top and bottom of a deep
 * stack); this leaves room for hand-made ones. A trace cut here or at MAX_TRACE_CHARS loses its
 * bottom frames, which is consistent between reports: what is that deep is a recursion flood, and
 * every stack overflow of one bug is about equally deep.
 */
const MAX_LINES = 1024;
/** A longer line is no traceback frame (Lua's chunk ids are at most 60 characters). */
const MAX_FRAME_LINE = 1024;
/** Longest repeating cycle of frames collapsed (f→f, f→g→f, …): mutual recursion rarely spans more. */
const MAX_CYCLE = 4;
const MAX_TITLE = 200;
const MAX_TYPE = 100;
const MAX_NORMALIZED_MESSAGE = 1024;
const MAX_NAME = 128;
const MAX_SOURCE = 256;
/** Quoted text longer than this is a value, not a name. */
const MAX_QUOTED_NAME = 64;

export function crashSignature(crash: { type: string; message: string; stack_trace: string }): CrashSignature {
  const type = normalizeType(asText(crash.type));
  const trace = parseTrace(asText(crash.stack_trace));
  // A report without a message may still carry it as the traceback's first line (debug.traceback(msg)).
  const rawMessage = firstLine(asText(crash.message).slice(0, MAX_MESSAGE_CHARS)) || trace.messageLine;
  const { locations, rest } = splitLocations(rawMessage);
  const message = normalizeMessage(rest);
  // Where the error was raised, file only: the same message from two files is two bugs, even in
  // reports without a usable stack (with one, it repeats the top frames and changes nothing).
  const location = locations.map((source) => normalizeSource(source)).join(' > ');
  const signature = sha256Hex(JSON.stringify([SIGNATURE_VERSION, type, message, location, ...trace.frames.slice(0, SIGNED_FRAMES)]));
  return { signature, frames: trace.frames, title: makeTitle(type, message) };
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function makeTitle(type: string, message: string): string {
  const title = type && message ? `${type}: ${message}` : type || message || 'crash';
  if (title.length <= MAX_TITLE) return title;
  let end = MAX_TITLE - 1;
  const last = title.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1; // never cut a surrogate pair in half
  return `${title.slice(0, end)}…`;
}

function normalizeType(type: string): string {
  const out = new Out();
  const text = type.slice(0, MAX_TYPE * 4);
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (isSpaceOrControl(c)) out.space();
    else out.raw(text[i] as string);
  }
  return out.result().slice(0, MAX_TYPE);
}

function firstLine(text: string): string {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    if (line) return line;
    start = end + 1;
  }
  return '';
}

// ---------------------------------------------------------------------------------------------
// Stack traces

const SKIP: unique symbol = Symbol('skip');
const C_NOISE: unique symbol = Symbol('c-noise');
type FrameLine = string | typeof SKIP | typeof C_NOISE | null;

/** Lua's `in <kind> 'name'` kinds, 5.1 to 5.4. */
const NAMED_KINDS = new Set(['function', 'local', 'method', 'field', 'upvalue', 'global', 'constant', 'metamethod', 'for iterator', 'hook']);

function parseTrace(raw: string): { frames: string[]; messageLine: string } {
  const cut = raw.length > MAX_TRACE_CHARS;
  const text = cut ? raw.slice(0, MAX_TRACE_CHARS) : raw;
  const kept: string[] = [];
  // Floods repeat lines (recursion) or sources (one file at many line numbers): parse each once.
  const seenLines = new Map<string, FrameLine>();
  const sources = new Map<string, string>();
  let sawNoise = false;
  let messageLine = '';
  let firstContent = true;
  let lines = 0;
  let start = 0;
  // Once MAX_FRAMES + MAX_CYCLE frames are kept, no later cycle collapse can reach the first MAX_FRAMES.
  while (start <= text.length && lines < MAX_LINES && kept.length < MAX_FRAMES + MAX_CYCLE) {
    let end = text.indexOf('\n', start);
    if (end < 0) {
      if (cut) break; // the cut-off last line is no whole frame
      end = text.length;
    }
    lines += 1;
    const lineStart = start;
    start = end + 1;
    if (end - lineStart > MAX_FRAME_LINE + 64) {
      if (firstContent) messageLine = text.slice(lineStart, lineStart + MAX_MESSAGE_CHARS).trim();
      firstContent = false;
      continue;
    }
    const line = text.slice(lineStart, end).trim();
    if (!line) continue;
    const isFirst = firstContent;
    firstContent = false;
    if (line.toLowerCase() === 'stack traceback:') continue;
    let frame = seenLines.get(line);
    if (frame === undefined) {
      frame = line.length > MAX_FRAME_LINE ? null : parseFrame(line, sources);
      seenLines.set(line, frame);
    }
    if (frame === null) {
      if (isFirst) messageLine = line.slice(0, MAX_MESSAGE_CHARS);
    } else if (frame === C_NOISE) {
      sawNoise = true;
    } else if (frame !== SKIP) {
      pushCollapsing(kept, frame);
    }
  }
  const frames = kept.slice(0, MAX_FRAMES);
  // `[C]: in ?` is the host's call into the app: noise next to real frames, all there is otherwise.
  if (frames.length === 0 && sawNoise) frames.push('[C]:?');
  return { frames, messageLine };
}

/** Appends a frame, folding a repeat of the last 1…MAX_CYCLE frames (recursion) into one copy. */
function pushCollapsing(kept: string[], frame: string): void {
  kept.push(frame);
  const n = kept.length;
  for (let period = 1; period <= MAX_CYCLE && 2 * period <= n; period += 1) {
    let repeats = true;
    for (let k = 0; k < period && repeats; k += 1) repeats = kept[n - 1 - k] === kept[n - 1 - period - k];
    if (repeats) {
      kept.length = n - period;
      return;
    }
  }
}

/** One traceback line as `file:function`, SKIP for markers, C_NOISE for `[C]: in ?`, null when no frame. */
function parseFrame(line: string, sources: Map<string, string>): FrameLine {
  if (line.startsWith('(...tail calls...)') || line.startsWith('(tail call)')) return SKIP;
  // Lua's "\t...\t(skipping N levels)" (5.4) or "\t..." (5.1) between the top and bottom of a deep stack.
  if (line === '...' || line.startsWith('...\t') || line.startsWith('... ') || line.startsWith('...(')) return SKIP;
  let from = 0;
  if (line.startsWith('[string "')) {
    const close = line.indexOf('"]', 9);
    if (close < 0) return null;
    from = close + 2;
  }
  let head: string;
  let what: string;
  const inAt = line.indexOf(': in ', from);
  if (inAt >= 0) {
    head = line.slice(0, inAt);
    what = line.slice(inAt + 5).trim();
  } else if (line.endsWith(': ?')) {
    head = line.slice(0, -3); // Lua 5.1: "[C]: ?"
    what = '?';
  } else if (line.startsWith('[C]: at ')) {
    head = '[C]'; // LuaJIT: "[C]: at 0x…"
    what = '?';
  } else {
    return null;
  }
  head = stripLineSuffix(head);
  if (!head) return null;
  const name = parseWhat(what);
  if (name === null) return null;
  let source = sources.get(head);
  if (source === undefined) {
    source = normalizeSource(head);
    sources.set(head, source);
  }
  if (source === '[C]' && name === '?') return C_NOISE;
  return `${source}:${name}`;
}

/** The function part of a frame: `function 'mod.fn'` → `fn`, `function <ui/list.lua:10>` → `<ui/list.lua>`. */
function parseWhat(what: string): string | null {
  if (what === '?') return '?';
  if (what === 'main chunk') return '(main chunk)';
  if (what.startsWith('function <') && what.endsWith('>')) {
    return `<${normalizeSource(stripLineSuffix(what.slice(10, -1)))}>`;
  }
  const quote = what.indexOf("'");
  if (quote < 0 || !what.endsWith("'") || what.length - quote < 3) return null;
  const kind = what.slice(0, quote).trim();
  if (!NAMED_KINDS.has(kind)) return null;
  const name = what.slice(quote + 1, -1);
  if (!name || name.length > MAX_NAME) return null;
  return lastComponent(name);
}

/**
 * The function's own name without its table: Lua versions name one function `mod.fn`, `fn`,
 * `Button:draw` or `draw` (function, field, method), and an upgrade must not split a group.
 */
function lastComponent(name: string): string {
  const at = Math.max(name.lastIndexOf('.'), name.lastIndexOf(':'));
  return at >= 0 && at < name.length - 1 ? name.slice(at + 1) : name;
}

/** Drops `:line` and `:line:column` from the end of a location. */
function stripLineSuffix(location: string): string {
  let s = location;
  for (let k = 0; k < 2; k += 1) {
    const colon = s.lastIndexOf(':');
    if (colon < 0 || colon === s.length - 1 || !allDigits(s, colon + 1, s.length)) break;
    s = s.slice(0, colon);
  }
  return s.trim();
}

// ---------------------------------------------------------------------------------------------
// Sources (chunk names and paths)

/** Folders a host keeps apps in; the segment after one is the app's install folder. */
const CONTAINERS = new Set(['apps', 'packages', 'bundles', 'sandbox', 'installed']);
const PACKAGE_ID_LIKE = /^[a-z0-9]+(?:\.[a-z0-9]+)+$/;
const VERSION_LIKE = /^v?\d{1,9}(?:\.\d{1,9}){1,4}(?:[-+][0-9A-Za-z.]{0,32})?$/;

/**
 * A chunk name as the path inside the app's package: `[string "main.lua"]` → `main.lua`,
 * `/data/apps/com.example.app/ui/button.lua` → `ui/button.lua`, `...ple.app/ui/button.lua` (Lua's
 * truncation of long names) → `ui/button.lua`. Chunk names of code (`[string "x = 1"]`) → `[string]`.
 */
function normalizeSource(raw: string): string {
  let s = raw.trim();
  if (s === '[C]') return s;
  if (s.startsWith('[string "')) {
    const inner = s.endsWith('"]') ? s.slice(9, -2) : s.slice(9);
    if (!looksLikePath(inner)) return '[string]';
    s = inner;
  }
  if (s.startsWith('@') || s.startsWith('=')) s = s.slice(1);
  s = s.slice(0, 1024).replaceAll('\\', '/');
  if (s.startsWith('file://')) s = s.slice(7);
  let truncated = false;
  let partialFirst = false;
  if (s.startsWith('...')) {
    s = s.slice(3);
    truncated = true;
    partialFirst = !s.startsWith('/'); // Lua cut the name inside a segment
  }
  const absolute = s.startsWith('/') || s.startsWith('~/') || (s.length > 2 && s[1] === ':' && s[2] === '/' && isLetter(s.charCodeAt(0)));
  let segments = s.split('/').filter((segment) => segment !== '' && segment !== '.' && segment !== '~');
  if (absolute && segments[0] && /^[A-Za-z]:$/.test(segments[0])) segments.shift();
  if (partialFirst && segments.length > 1) segments.shift();
  if (absolute || truncated) segments = insidePackage(segments, absolute);
  const path = segments.map((segment) => (isVolatileSegment(segment) ? '<id>' : segment)).join('/');
  return (path || '?').slice(0, MAX_SOURCE);
}

/** The part of a device path inside the app's package: after the last install-specific folder. */
function insidePackage(segments: string[], absolute: boolean): string[] {
  const lastDir = segments.length - 2;
  let cut = -1;
  for (let i = 0; i <= lastDir; i += 1) {
    const segment = segments[i] as string;
    if (PACKAGE_ID_LIKE.test(segment) || VERSION_LIKE.test(segment) || isVolatileSegment(segment)) cut = i;
  }
  if (cut < 0) {
    for (let i = 0; i < lastDir; i += 1) {
      if (CONTAINERS.has((segments[i] as string).toLowerCase())) {
        cut = i + 1;
        break;
      }
    }
  }
  if (cut >= 0) return segments.slice(cut + 1);
  // An absolute path with no sign of where the package starts (a developer's machine): its tail.
  // A truncated one is already the tail Lua kept.
  return absolute ? segments.slice(-2) : segments;
}

/** A folder or name that differs per install or device: numeric ids, uuids, long hex, long digit runs. */
function isVolatileSegment(segment: string): boolean {
  if (segment.length === 0 || segment.length > 128) return false;
  if (allDigits(segment, 0, segment.length)) return true;
  if (isUuid(segment, 0) && segment.length === 36) return true;
  if (isHexRun(segment)) return true;
  let run = 0;
  for (let i = 0; i < segment.length; i += 1) {
    run = isDigit(segment.charCodeAt(i)) ? run + 1 : 0;
    if (run >= 6) return true;
  }
  return false;
}

function looksLikePath(text: string): boolean {
  if (!text || text.length > 200) return false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    // whitespace, quotes, brackets, operators: Lua code, not a chunk name
    if (isSpaceOrControl(c) || c === 34 || c === 39 || c === 40 || c === 41 || c === 61 || c === 123 || c === 125 || c === 44 || c === 59) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Messages

/** Leading `file:line:` locations (`a.lua:3: b.lua:9: boom` when an error is re-raised), at most 4. */
function splitLocations(message: string): { locations: string[]; rest: string } {
  const locations: string[] = [];
  let rest = message;
  for (let k = 0; k < 4; k += 1) {
    const found = leadingLocation(rest);
    if (!found) break;
    locations.push(found.source);
    rest = rest.slice(found.end).trimStart();
  }
  return { locations, rest };
}

function leadingLocation(text: string): { source: string; end: number } | null {
  let i: number;
  if (text.startsWith('[string "')) {
    const close = text.indexOf('"]', 9);
    if (close < 0 || close > 512) return null;
    i = close + 2;
    if (text[i] !== ':') return null;
  } else {
    // A chunk name has no whitespace here (a message's "at 12:30:" must not read as one).
    const limit = Math.min(text.length, 512);
    i = 0;
    while (i < limit && !(text[i] === ':' && isDigit(text.charCodeAt(i + 1))) && !isSpaceOrControl(text.charCodeAt(i))) i += 1;
    if (i === 0 || i >= limit || text[i] !== ':' || allDigits(text, 0, i)) return null;
  }
  const source = text.slice(0, i);
  let j = i + 1;
  const digitsStart = j;
  while (j < text.length && j - digitsStart < 10 && isDigit(text.charCodeAt(j))) j += 1;
  if (j === digitsStart || text[j] !== ':') return null;
  return { source, end: j + 1 };
}

/**
 * The message with what varies between reports of one bug replaced: numbers → `<n>`, `0x…` → `<addr>`,
 * hex runs → `<hex>`, uuids → `<uuid>`, quoted values → `'<str>'`, device paths → package paths.
 * Lua's quoted names (`(field 'x')`, `(method 'y')`, `'insert'`) and argument positions (`#1`) stay:
 * they tell bugs apart.
 */
function normalizeMessage(message: string): string {
  const out = new Out();
  const text = message.slice(0, MAX_MESSAGE_CHARS);
  const n = text.length;
  let plainStart = 0;
  let i = 0;
  const flush = (end: number) => {
    if (end > plainStart) normalizeWords(out, text.slice(plainStart, end));
  };
  while (i < n && out.length() < MAX_NORMALIZED_MESSAGE) {
    const c = text.charCodeAt(i);
    const boundary = i === 0 || isTerminator(text.charCodeAt(i - 1));
    if ((c === 39 || c === 34) && (i === 0 || !isWordCode(text.charCodeAt(i - 1)))) {
      // Each quote either opens a pair or has no partner after it: every character is scanned once.
      const close = text.indexOf(text[i] as string, i + 1);
      if (close >= 0) {
        flush(i);
        const q = text[i] as string;
        out.raw(q);
        normalizeQuoted(out, text.slice(i + 1, close));
        out.raw(q);
        i = close + 1;
        plainStart = i;
        continue;
      }
    }
    if ((c === 47 || c === 92) && boundary) {
      // Path tokens run from one terminator to the next, so scans never overlap.
      let end = i;
      let slashes = 0;
      while (end < n && !isTerminator(text.charCodeAt(end))) {
        const e = text.charCodeAt(end);
        if (e === 47 || e === 92) slashes += 1;
        end += 1;
      }
      if (slashes >= 2) {
        flush(i);
        normalizeWords(out, normalizeSource(text.slice(i, end)));
        i = end;
        plainStart = i;
        continue;
      }
      i = end;
      continue;
    }
    i += 1;
  }
  flush(Math.min(i, n));
  return out.result().slice(0, MAX_NORMALIZED_MESSAGE);
}

function normalizeQuoted(out: Out, content: string): void {
  if (content === 'for iterator' || content === '?') {
    out.raw(content);
    return;
  }
  const first = content.charCodeAt(0);
  if (content.length <= 512 && (first === 47 || first === 92 || content.startsWith('...')) && !hasSpace(content)) {
    normalizeWords(out, normalizeSource(content));
    return;
  }
  if (content.length > 0 && content.length <= MAX_QUOTED_NAME && isNameShaped(content)) {
    normalizeWords(out, content);
    return;
  }
  out.raw('<str>');
}

/** Names Lua quotes in its messages: identifiers, `a.b`, `A:m`, module names, `?`. */
function isNameShaped(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (!(isWordCode(c) || c === 46 || c === 58 || c === 45 || c === 47 || c === 63)) return false;
  }
  return true;
}

/** Numbers, addresses, hex runs and uuids in plain text → placeholders; whitespace collapsed. */
function normalizeWords(out: Out, text: string): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isWordCode(c)) {
      if (i + 36 <= n && isUuid(text, i) && !(i + 36 < n && isWordCode(text.charCodeAt(i + 36)))) {
        out.raw('<uuid>');
        i += 36;
        continue;
      }
      let end = i + 1;
      while (end < n && isWordCode(text.charCodeAt(end))) end += 1;
      const word = text.slice(i, end);
      // Argument positions (`bad argument #2 to 'insert'`) are part of what went wrong.
      if (i > 0 && text[i - 1] === '#' && word.length <= 2 && allDigits(word, 0, word.length)) out.raw(word);
      else normalizeWord(out, word);
      i = end;
    } else if (isSpaceOrControl(c)) {
      out.space();
      i += 1;
    } else {
      out.raw(text[i] as string);
      i += 1;
    }
  }
}

function normalizeWord(out: Out, word: string): void {
  if (word.length > 2 && word[0] === '0' && (word[1] === 'x' || word[1] === 'X') && allHex(word, 2)) {
    out.raw('<addr>');
  } else if (allDigits(word, 0, word.length)) {
    out.number();
  } else if (isHexRun(word)) {
    out.raw('<hex>');
  } else if (isDigit(word.charCodeAt(0))) {
    // `5023ms` → `<n>ms`; anything else starting with a digit (`01T10`, `41d4`) is one value.
    let k = 1;
    while (k < word.length && isDigit(word.charCodeAt(k))) k += 1;
    const unit = word.slice(k);
    out.number();
    if (unit.length <= 3 && allLetters(unit)) out.raw(unit);
  } else if (word.length > 1 && (word[0] === 'v' || word[0] === 'V') && allDigits(word, 1, word.length)) {
    out.raw(word[0]); // a version (`v1.4.2`): the app's own version is in some messages
    out.number();
  } else {
    // An identifier: short digit runs are part of its name (`vec3`, `h1`), long ones are ids (`user_40213`).
    const parts = word.split('_');
    for (let p = 0; p < parts.length; p += 1) {
      if (p > 0) out.raw('_');
      const part = parts[p] as string;
      if (isHexRun(part)) out.raw('<hex>');
      else out.raw(replaceLongDigitRuns(part));
    }
  }
}

function replaceLongDigitRuns(part: string): string {
  let result = '';
  let i = 0;
  while (i < part.length) {
    if (!isDigit(part.charCodeAt(i))) {
      result += part[i] as string;
      i += 1;
      continue;
    }
    let end = i + 1;
    while (end < part.length && isDigit(part.charCodeAt(end))) end += 1;
    result += end - i >= 3 ? '<n>' : part.slice(i, end);
    i = end;
  }
  return result;
}

/** The normalized text being built: collapses whitespace and runs of numbers (`12:30:45`, `1.5`, `2026-12-01`). */
class Out {
  private text = '';

  length(): number {
    return this.text.length;
  }

  raw(s: string): void {
    this.text += s;
  }

  space(): void {
    if (this.text !== '' && !this.text.endsWith(' ')) this.text += ' ';
  }

  /** `<n>`, or nothing when the text already ends with `<n>` and one separator (a date, a time, a decimal). */
  number(): void {
    const t = this.text;
    const sep = t.charCodeAt(t.length - 1);
    if (t.endsWith('<n>', t.length - 1) && (sep === 46 || sep === 58 || sep === 44 || sep === 47 || sep === 45)) {
      this.text = t.slice(0, -1);
      return;
    }
    if (t.endsWith('<n>')) return;
    this.text += '<n>';
  }

  result(): string {
    return this.text.trim();
  }
}

// ---------------------------------------------------------------------------------------------
// Characters

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isHexCode(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isWordCode(c: number): boolean {
  return isDigit(c) || isLetter(c) || c === 95;
}

function isSpaceOrControl(c: number): boolean {
  return c <= 32 || c === 127 || (c >= 0x80 && c <= 0x9f) || c === 0xa0 || c === 0x2028 || c === 0x2029;
}

/** Characters that end a path token in a message (and may start one after them). */
function isTerminator(c: number): boolean {
  // ' " ( ) [ ] < > , ; = :
  return (
    isSpaceOrControl(c) || c === 39 || c === 34 || c === 40 || c === 41 || c === 91 || c === 93 || c === 60 || c === 62 || c === 44 || c === 59 || c === 61 || c === 58
  );
}

function hasSpace(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (isSpaceOrControl(text.charCodeAt(i))) return true;
  return false;
}

function allDigits(text: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i += 1) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

function allHex(text: string, from: number): boolean {
  for (let i = from; i < text.length; i += 1) if (!isHexCode(text.charCodeAt(i))) return false;
  return text.length > from;
}

function allLetters(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (!isLetter(text.charCodeAt(i))) return false;
  return true;
}

/** A run of hex digits long enough to be an address, hash or id (at least 8, with a digit in it). */
function isHexRun(text: string): boolean {
  if (text.length < 8 || !allHex(text, 0)) return false;
  for (let i = 0; i < text.length; i += 1) if (isDigit(text.charCodeAt(i))) return true;
  return false;
}

/** 8-4-4-4-12 hex digits starting at `at`. */
function isUuid(text: string, at: number): boolean {
  if (at + 36 > text.length) return false;
  for (let k = 0; k < 36; k += 1) {
    const c = text.charCodeAt(at + k);
    if (k === 8 || k === 13 || k === 18 || k === 23) {
      if (c !== 45) return false;
    } else if (!isHexCode(c)) {
      return false;
    }
  }
  return true;
}
