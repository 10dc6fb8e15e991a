/**
 * Finds the line of every value in a JSON text, so manifest findings can say where the problem is,
 * and the keys that appear twice in one object (JSON.parse silently keeps the last one; another
 * parser could keep the first, so a duplicate could show a reviewer one value and a device another).
 * The values themselves still come from JSON.parse.
 */

export type JsonPath = readonly (string | number)[];

export type JsonScan =
  | { ok: true; lines: Map<string, number>; duplicates: { path: string; line: number }[] }
  | { ok: false; message: string; line: number };

// A manifest's own fields nest three deep; 64 leaves x- extensions plenty of room, and keeps every
// later reader (the checks, structured clone, JSON.stringify) far from its recursion limit.
export const MAX_DEPTH = 64;
// Lines are kept for values this deep (enough for every manifest field); deeper values are found
// at their nearest kept ancestor, so a wide, deep document does not cost a path string per value.
const MAX_LINE_DEPTH = 4;
const MAX_DUPLICATES = 100;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in strings
const STRING_BODY = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** `author.email`, `permissions[2]`, `["odd key"]`; '' for the root. */
export function formatPath(path: JsonPath): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) text += text === '' ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}

class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

export function scanJson(text: string): JsonScan {
  const lines = new Map<string, number>();
  const duplicates: { path: string; line: number }[] = [];
  let at = 0;
  let line = 1;

  const fail = (message: string): never => {
    throw new SyntaxProblem(message, line);
  };
  const skipSpace = () => {
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x0a) line++;
      else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return;
      at++;
    }
  };
  const describe = () => (at >= text.length ? 'the end of the text' : JSON.stringify(text[at]));

  const readString = (): string => {
    STRING_BODY.lastIndex = at + 1;
    if (!STRING_BODY.test(text)) fail('unterminated string or invalid escape/control character in a string');
    const raw = text.slice(at, STRING_BODY.lastIndex);
    at = STRING_BODY.lastIndex;
    return JSON.parse(raw) as string;
  };

  const readValue = (path: (string | number)[], depth: number): void => {
    if (depth > MAX_DEPTH) fail(`values are nested more than ${MAX_DEPTH} deep`);
    skipSpace();
    if (depth <= MAX_LINE_DEPTH && !lines.has(formatPath(path))) lines.set(formatPath(path), line);
    const c = text[at];
    if (c === '{') {
      at++;
      const seen = new Set<string>();
      skipSpace();
      if (text[at] === '}') {
        at++;
        return;
      }
      for (;;) {
        skipSpace();
        if (text[at] !== '"') fail(`expected a quoted key but found ${describe()}`);
        const keyLine = line;
        const key = readString();
        const childPath = [...path, key];
        if (seen.has(key) && duplicates.length < MAX_DUPLICATES) duplicates.push({ path: formatPath(childPath), line: keyLine });
        seen.add(key);
        if (depth < MAX_LINE_DEPTH) lines.set(formatPath(childPath), keyLine);
        skipSpace();
        if (text[at] !== ':') fail(`expected ":" after the key ${JSON.stringify(key)} but found ${describe()}`);
        at++;
        readValue(childPath, depth + 1);
        skipSpace();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === '}') {
          at++;
          return;
        }
        fail(`expected "," or "}" but found ${describe()}`);
      }
    }
    if (c === '[') {
      at++;
      skipSpace();
      if (text[at] === ']') {
        at++;
        return;
      }
      for (let index = 0; ; index++) {
        readValue([...path, index], depth + 1);
        skipSpace();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === ']') {
          at++;
          return;
        }
        fail(`expected "," or "]" but found ${describe()}`);
      }
    }
    if (c === '"') {
      readString();
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return;
      }
    }
    NUMBER.lastIndex = at;
    if (NUMBER.test(text)) {
      at = NUMBER.lastIndex;
      return;
    }
    fail(`expected a value but found ${describe()}`);
  };

  try {
    readValue([], 0);
    skipSpace();
    if (at < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
    return { ok: true, lines, duplicates };
  } catch (error) {
    if (error instanceof SyntaxProblem) return { ok: false, message: error.message, line: error.line };
    throw error;
  }
}
