import * as csstree from 'css-tree';
import luaparse, { type Chunk, type Node } from 'luaparse';
import { PNG } from 'pngjs';
import { finding, type Finding } from './findings.js';
import { LineIndex } from './lines.js';

/**
 * Tier 2: every script parses, every style sheet parses, every icon is a PNG of its declared size.
 * The parsers are the real ones (luaparse, css-tree, pngjs), never patterns over the text.
 */

export type LuaParse = { ok: true; chunk: Chunk } | { ok: false; finding: Finding };

/**
 * Parses Lua source given as bytes decoded one byte per character (latin1): Lua source is bytes,
 * and luaparse's pseudo-latin1 mode then gives string literals their exact byte values.
 * `firstLine` places source embedded in another file (an RML <script>) at its real lines.
 */
export function parseLua(source: string, file: string, firstLine = 1): LuaParse {
  // Lua skips a first line starting with '#' (a shebang); so must we, to parse what Lua parses.
  const code = source.startsWith('#') ? source.replace(/^[^\n]*/, '') : source;
  // Embedded code is placed at its real lines by shifting each node as it is made: padding the
  // source with newlines instead would cost every script of a long RML file the lines before it.
  const shift = firstLine - 1;
  const onCreateNode =
    shift === 0
      ? undefined
      : (node: Node) => {
          if (node.loc === undefined) return;
          node.loc.start.line += shift;
          node.loc.end.line += shift;
        };
  try {
    const chunk = luaparse.parse(code, { luaVersion: '5.3', locations: true, comments: false, encodingMode: 'pseudo-latin1', onCreateNode });
    return { ok: true, chunk };
  } catch (error) {
    if (error instanceof RangeError) {
      // Real Lua refuses deep nesting too ("chunk has too many syntax levels").
      return { ok: false, finding: finding('lua_syntax_error', `${file}: the code is nested too deeply to parse`, { file }) };
    }
    const { line, message } = error as { line?: unknown; message?: unknown };
    if (typeof line !== 'number' || typeof message !== 'string') {
      // luaparse trips over some inputs (an invalid first character) with a TypeError of its own:
      // still a file it cannot parse, not a failure of the check.
      return { ok: false, finding: finding('lua_syntax_error', `${file}: does not parse as Lua`, { file }) };
    }
    const text = message.replace(/^\[\d+:\d+\] /, '');
    return { ok: false, finding: finding('lua_syntax_error', `${file}:${line + shift}: ${text}`, { file, line: line + shift }) };
  }
}

export interface RcssCheck {
  findings: Finding[];
  /** Declaration values, at-rule preludes, strings and url()s, for the URL checks. */
  literals: { text: string; line: number }[];
}

/**
 * Parses an RCSS style sheet. Values are not parsed against CSS grammars (RCSS has its own
 * properties, and unquoted paths like `image(icons/a.png)` are normal there); what must hold is the
 * structure: rules, selectors, declarations, balanced brackets, closed strings and comments.
 */
export function checkRcss(text: string, file: string, firstLine = 1): RcssCheck {
  try {
    return parseRcss(text, file, firstLine);
  } catch (error) {
    // css-tree recurses into nested blocks; thousands of levels are not a style sheet.
    if (!(error instanceof RangeError)) throw error;
    return { findings: [finding('rcss_syntax_error', `${file}: blocks are nested too deeply to parse`, { file })], literals: [] };
  }
}

function parseRcss(source: string, file: string, firstLine: number): RcssCheck {
  const errors: { line: number; message: string }[] = [];
  let parseErrors = 0;
  const tree = csstree.parse(source, {
    positions: true,
    line: firstLine,
    parseValue: false,
    parseAtrulePrelude: false,
    parseCustomProperty: false,
    onParseError: (error) => {
      const { line, message } = error as unknown as { line?: number; message: string };
      parseErrors++;
      if (errors.length < MAX_RCSS_ERRORS) errors.push({ line: line ?? firstLine, message });
    },
  });
  const literals: { text: string; line: number }[] = [];
  csstree.walk(tree, (node) => {
    if ((node.type === 'Raw' || node.type === 'String' || node.type === 'Url') && node.loc !== undefined) {
      literals.push({ text: node.value, line: node.loc.start.line });
    }
  });
  const tokens = scanTokens(source, firstLine);
  const problems = errors.concat(tokens.errors).sort((a, b) => a.line - b.line);
  const first = problems[0];
  const findings: Finding[] = [];
  if (first !== undefined) {
    const count = parseErrors + tokens.count;
    const more = count > 1 ? ` (and ${count - 1} more problem${count > 2 ? 's' : ''})` : '';
    findings.push(finding('rcss_syntax_error', `${file}:${first.line}: ${first.message}${more}`, { file, line: first.line }));
  }
  return { findings, literals };
}

// Only the first problem is shown; the rest are counted, not kept.
const MAX_RCSS_ERRORS = 100;

const CLOSERS: Record<number, number> = {
  [csstree.tokenTypes.LeftCurlyBracket]: csstree.tokenTypes.RightCurlyBracket,
  [csstree.tokenTypes.LeftParenthesis]: csstree.tokenTypes.RightParenthesis,
  [csstree.tokenTypes.Function]: csstree.tokenTypes.RightParenthesis,
  [csstree.tokenTypes.LeftSquareBracket]: csstree.tokenTypes.RightSquareBracket,
};
const CLOSER_TEXT: Record<number, string> = {
  [csstree.tokenTypes.RightCurlyBracket]: '}',
  [csstree.tokenTypes.RightParenthesis]: ')',
  [csstree.tokenTypes.RightSquareBracket]: ']',
};

/**
 * What css-tree's error-tolerant parser lets through: unclosed strings, comments and brackets.
 * Linear in the tokens: each bracket is pushed and popped once, and a closer with no opener of
 * its kind is known from a count, not by searching the stack.
 */
function scanTokens(source: string, firstLine: number): { errors: { line: number; message: string }[]; count: number } {
  const lines = new LineIndex(source);
  const lineOf = (offset: number) => lines.lineOf(offset) + firstLine - 1;
  const errors: { line: number; message: string }[] = [];
  let count = 0;
  const problem = (offset: number, message: string) => {
    count++;
    if (errors.length < MAX_RCSS_ERRORS) errors.push({ line: lineOf(offset), message });
  };
  const open: { closer: number; offset: number; text: string }[] = [];
  const openCount = new Map<number, number>();
  const neverClosed = (opened: { offset: number; text: string }) => problem(opened.offset, `"${opened.text}" is never closed`);
  const types = csstree.tokenTypes;
  csstree.tokenize(source, (type, start, end) => {
    if (type === types.BadString) problem(start, 'unclosed string');
    else if (type === types.BadUrl) problem(start, 'malformed url()');
    else if (type === types.Comment && (end - start < 4 || !source.startsWith('*/', end - 2))) problem(start, 'unclosed comment');
    const closer = CLOSERS[type];
    if (closer !== undefined) {
      const text = type === types.Function ? source.slice(start, Math.min(end, start + 64)) : source.charAt(start);
      open.push({ closer, offset: start, text });
      openCount.set(closer, (openCount.get(closer) ?? 0) + 1);
    } else if (CLOSER_TEXT[type] !== undefined) {
      if ((openCount.get(type) ?? 0) === 0) {
        problem(start, `unexpected "${CLOSER_TEXT[type]}"`);
        return;
      }
      // A closer that matches an outer bracket means the inner ones were never closed.
      for (let opened = open.pop(); opened !== undefined; opened = open.pop()) {
        openCount.set(opened.closer, (openCount.get(opened.closer) ?? 1) - 1);
        if (opened.closer === type) break;
        neverClosed(opened);
      }
    }
  });
  for (const unclosed of open) neverClosed(unclosed);
  return { errors, count };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An icon must be a PNG of exactly `size`×`size` pixels that decodes. */
export function checkIcon(bytes: Buffer, file: string, size: number): Finding[] {
  const where = { file };
  const notPng = (why: string) => [finding('icon_not_png', `${file} (the ${size}px icon) ${why}`, where)];
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    return notPng('is not a PNG file');
  }
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width !== size || height !== size) {
    return [finding('icon_wrong_size', `${file} is ${width}×${height} pixels but is declared as the ${size}×${size} icon`, where)];
  }
  // Decoded only now that the header promises a small image: a lying header cannot make us allocate much.
  try {
    PNG.sync.read(bytes);
  } catch (error) {
    return notPng(`is a damaged PNG (${error instanceof Error ? error.message : String(error)})`);
  }
  return [];
}
