import type { CallExpression, Chunk, Expression, Node, StringCallExpression, Statement, TableCallExpression } from 'luaparse';
import { finding, type Finding, type Permission } from './findings.js';
import { PERMISSION_APIS } from './permissions.js';
import { checkUrls, obfuscationReason } from './urls.js';

/**
 * Tier 3 on the Lua syntax tree: what a script reaches outside the sandbox, which permission APIs
 * it uses, the modules it requires, and suspicious literals. Every expression is resolved to the
 * global it denotes (`os.execute`, also through `local o = os`, `_G.os`, `_G["o".."s"]`,
 * `rawget(_G, "os")`, `require "os"`, `package.loaded.os`), with lexical scopes so a local that
 * merely shares a name (`local os = {}`) is not mistaken for the library. What cannot be resolved
 * statically (a computed key on `_G` or `os`, `_G` handed to other code) is itself reported.
 * The findings are warnings for a human reviewer, who reads the code: erring on the side of
 * reporting is the point.
 */

export interface LuaContext {
  /** Package path of the file the code is in (a .lua file, or the .rml of an inline script). */
  file: string;
  /** The package's .lua files, to resolve `require`. */
  luaModules: LuaModules;
  /** Permissions manifest.json declares; null when unknown (then none is reported as undeclared). */
  declared: ReadonlySet<Permission> | null;
}

/**
 * The module names `require` finds in a package: `a.b` is a package module when some .lua file is
 * `…a/b.lua` or `…a/b/init.lua`. Every path's suffixes go into one set, once per package, so a
 * `require` is a look-up rather than a scan of every file.
 */
export class LuaModules {
  private readonly suffixes = new Set<string>();

  constructor(luaFiles: Iterable<string>) {
    for (const path of luaFiles) {
      this.suffixes.add(path);
      for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) this.suffixes.add(path.slice(slash + 1));
    }
  }

  has(name: string): boolean {
    const base = name.replace(/\./g, '/');
    return this.suffixes.has(`${base}.lua`) || this.suffixes.has(`${base}/init.lua`);
  }
}

export interface PermissionUse {
  api: string;
  line: number;
}

export interface LuaAnalysis {
  findings: Finding[];
  /** The first use of each permission's API in the file. */
  uses: Map<Permission, PermissionUse>;
}

const ESCAPES: Readonly<Record<string, string>> = {
  'os.execute': 'runs a shell command',
  'os.exit': 'ends the whole host process',
  'os.remove': 'deletes files',
  'os.rename': 'moves files',
  'os.getenv': 'reads the environment of the host process',
  'os.tmpname': 'creates files',
  dofile: 'runs a Lua file from outside the package',
  loadfile: 'loads a Lua file from outside the package',
  'string.dump': 'turns a function into bytecode, which can be altered and loaded again',
  setfenv: 'changes the environment of a function',
  getfenv: 'reaches the environment of other functions',
  'package.loadlib': 'loads native code',
  'package.cpath': 'changes where native modules are loaded from',
  'package.path': 'changes where modules are loaded from',
  'package.searchers': 'changes how modules are found',
  'package.loaders': 'changes how modules are found',
};
/** Libraries all of whose members escape the sandbox. */
const ESCAPE_LIBRARIES: Readonly<Record<string, string>> = {
  io: 'reads and writes files and starts processes',
  debug: 'bypasses the sandbox (hooks, locals, upvalues and metatables of anything)',
};
/** Tables that may sit in a local (their members are checked where used) but not be handed on. */
const UNTRACKABLE_WHEN_PASSED = new Set(['os', 'io', 'debug', 'package']);
const DYNAMIC_LOADERS = new Set(['load', 'loadstring']);
const STANDARD_LIBRARIES = new Set(['string', 'table', 'math', 'os', 'io', 'debug', 'coroutine', 'utf8', 'package', 'bit32']);
const GLOBALS = '_G';
const STRING_METATABLE = '<string metatable>';
// Possible values tracked per variable; more means the code shuffles tables around on purpose.
const MAX_ALIASES = 16;
const MAX_CONSTANT = 10_000;
// A path longer than any API the checks know stops growing: `a.b.c…` ten thousand deep would
// otherwise build ten thousand ever longer strings. Its first segments still decide what it is.
const MAX_PATH_SEGMENTS = 8;
const MAX_PATH_LENGTH = 256;
/** Findings kept per code and file; the rest are counted in one closing finding. */
export const MAX_FINDINGS_PER_FILE_CODE = 100;

type Role = 'value' | 'alias' | 'callee' | 'target';
type AnyCall = CallExpression | StringCallExpression | TableCallExpression;

class Scope {
  private readonly names = new Map<string, Set<string>>();
  constructor(
    readonly parent: Scope | null,
    private readonly changed: () => void,
  ) {}

  declare(name: string, paths: readonly string[]): void {
    this.names.set(name, new Set(paths));
    this.changed();
  }

  find(name: string): Set<string> | undefined {
    return this.names.get(name) ?? this.parent?.find(name);
  }
}

export function analyzeLua(chunks: readonly Chunk[], context: LuaContext): LuaAnalysis {
  const analyzer = new Analyzer(context);
  for (const chunk of chunks) analyzer.chunk(chunk);
  return analyzer.result();
}

class Analyzer {
  private readonly changed = () => {
    this.generation++;
  };
  private scope = new Scope(null, this.changed);
  /**
   * What each reference chain resolved to, valid until a name is declared or assigned: the checks
   * ask about every link of `a.b.c…` again, and without this a long chain costs its length squared.
   */
  private readonly resolved = new Map<Node, { generation: number; paths: string[] }>();
  private generation = 0;
  private readonly counts = new Map<Finding['code'], number>();
  /** Globals the code assigned a known table to (`myos = os`), shared by all chunks of the file. */
  private readonly globalAliases = new Map<string, Set<string>>();
  private readonly findings: Finding[] = [];
  private readonly reported = new Set<string>();
  private readonly uses = new Map<Permission, PermissionUse>();

  constructor(private readonly context: LuaContext) {}

  chunk(chunk: Chunk): void {
    this.scope = new Scope(null, this.changed);
    this.block(chunk.body);
  }

  result(): LuaAnalysis {
    const { file, declared } = this.context;
    if (declared !== null) {
      for (const [permission, use] of this.uses) {
        if (declared.has(permission)) continue;
        const message = `${file}:${use.line}: uses ${use.api}, which needs the "${permission}" permission, but manifest.json does not declare it`;
        this.report('permission_undeclared', message, use.line);
      }
    }
    for (const [code, count] of this.counts) {
      if (count <= MAX_FINDINGS_PER_FILE_CODE) continue;
      this.findings.push(finding(code, `${file}: … and ${count - MAX_FINDINGS_PER_FILE_CODE} more ${code} findings in this file not shown`, { file }));
    }
    return { findings: this.findings, uses: this.uses };
  }

  // ───────────── statements ─────────────

  private block(body: readonly Statement[]): void {
    const outer = this.scope;
    this.scope = new Scope(outer, this.changed);
    for (const statement of body) this.statement(statement);
    this.scope = outer;
  }

  private statement(node: Statement): void {
    switch (node.type) {
      case 'LocalStatement': {
        const values = node.init.map((init, i) => this.bound(init, i < node.variables.length));
        node.variables.forEach((variable, i) => this.scope.declare(variable.name, values[i] ?? []));
        return;
      }
      case 'AssignmentStatement': {
        const values = node.init.map((init, i) => this.bound(init, node.variables[i]?.type === 'Identifier'));
        node.variables.forEach((variable, i) => {
          if (variable.type === 'Identifier') this.assign(variable.name, values[i] ?? []);
          else this.expression(variable, 'target');
        });
        return;
      }
      case 'CallStatement':
        this.expression(node.expression, 'value');
        return;
      case 'FunctionDeclaration':
        if (node.identifier?.type === 'Identifier') {
          if (node.isLocal) this.scope.declare(node.identifier.name, []);
          else this.assign(node.identifier.name, []);
        } else if (node.identifier !== null) {
          this.expression(node.identifier, 'target');
        }
        this.function(node.parameters, node.body);
        return;
      case 'ReturnStatement':
        for (const argument of node.arguments) this.expression(argument, 'value');
        return;
      case 'IfStatement':
        for (const clause of node.clauses) {
          if (clause.type !== 'ElseClause') this.expression(clause.condition, 'value');
          this.block(clause.body);
        }
        return;
      case 'WhileStatement':
        this.expression(node.condition, 'value');
        this.block(node.body);
        return;
      case 'RepeatStatement': {
        // The condition sees the body's locals.
        const outer = this.scope;
        this.scope = new Scope(outer, this.changed);
        for (const statement of node.body) this.statement(statement);
        this.expression(node.condition, 'value');
        this.scope = outer;
        return;
      }
      case 'DoStatement':
        this.block(node.body);
        return;
      case 'ForNumericStatement':
        for (const part of [node.start, node.end, node.step]) if (part !== null) this.expression(part, 'value');
        this.loop([node.variable.name], node.body);
        return;
      case 'ForGenericStatement':
        for (const iterator of node.iterators) this.expression(iterator, 'value');
        this.loop(
          node.variables.map((variable) => variable.name),
          node.body,
        );
        return;
      case 'LabelStatement':
      case 'BreakStatement':
      case 'GotoStatement':
        return;
    }
  }

  private loop(variables: readonly string[], body: readonly Statement[]): void {
    const outer = this.scope;
    this.scope = new Scope(outer, this.changed);
    for (const name of variables) this.scope.declare(name, []);
    this.block(body);
    this.scope = outer;
  }

  private function(parameters: readonly Node[], body: readonly Statement[]): void {
    const outer = this.scope;
    this.scope = new Scope(outer, this.changed);
    for (const parameter of parameters) if (parameter.type === 'Identifier') this.scope.declare(parameter.name, []);
    this.block(body);
    this.scope = outer;
  }

  /** Visits the value of an assignment and returns the globals it may denote. */
  private bound(value: Expression, toName: boolean): string[] {
    this.expression(value, toName ? 'alias' : 'value');
    return this.resolve(value);
  }

  /** Assignment to a plain name: a local it refers to, else a global alias. */
  private assign(name: string, paths: readonly string[]): void {
    let target = this.scope.find(name) ?? this.globalAliases.get(name);
    if (target === undefined) {
      target = new Set<string>();
      this.globalAliases.set(name, target);
    }
    // Aliases accumulate: code is not run, so any value a variable ever gets is a value it may have.
    for (const path of paths) if (target.size < MAX_ALIASES) target.add(path);
    this.changed();
  }

  // ───────────── expressions ─────────────

  private expression(node: Expression, role: Role): void {
    switch (node.type) {
      case 'Identifier':
      case 'MemberExpression':
      case 'IndexExpression':
        this.reference(node, role);
        this.referenceParts(node);
        return;
      case 'CallExpression':
      case 'StringCallExpression':
      case 'TableCallExpression':
        this.call(node);
        return;
      case 'FunctionDeclaration':
        this.function(node.parameters, node.body);
        return;
      case 'StringLiteral':
        this.literal(node.value, node.loc?.start.line);
        return;
      case 'LogicalExpression':
      case 'BinaryExpression': {
        // Long operator chains (a + b + c …, valid Lua of any length) nest to the left: walk
        // that spine in a loop, not by recursion. `local o = os or {}` still aliases os.
        let current: Expression = node;
        let aliasing = role === 'alias';
        while (current.type === 'LogicalExpression' || current.type === 'BinaryExpression') {
          aliasing &&= current.type === 'LogicalExpression';
          const operandRole = aliasing ? 'alias' : 'value';
          this.expression(current.right, operandRole);
          if (current.left.type !== 'LogicalExpression' && current.left.type !== 'BinaryExpression') {
            this.expression(current.left, operandRole);
          }
          current = current.left;
        }
        return;
      }
      case 'UnaryExpression':
        this.expression(node.argument, 'value');
        return;
      case 'TableConstructorExpression':
        for (const field of node.fields) {
          if (field.type === 'TableKey') this.expression(field.key, 'value');
          this.expression(field.value, 'value');
        }
        return;
      case 'NumericLiteral':
      case 'BooleanLiteral':
      case 'NilLiteral':
      case 'VarargLiteral':
        return;
    }
  }

  /** The parts of a reference chain that are not themselves the chain (call bases, index keys). */
  private referenceParts(node: Expression): void {
    if (node.type === 'MemberExpression') {
      this.chainBase(node.base);
    } else if (node.type === 'IndexExpression') {
      this.chainBase(node.base);
      this.expression(node.index, 'value');
      if (constantString(node.index) === null) this.computedKey(node);
    }
  }

  private chainBase(base: Expression): void {
    if (base.type === 'Identifier' || base.type === 'MemberExpression' || base.type === 'IndexExpression') {
      this.permissionUse(this.resolve(base), base);
      this.referenceParts(base);
    } else {
      this.expression(base, 'value');
    }
  }

  /** `t[k]` with a computed key: on `_G` or a dangerous library, nobody can tell what it reaches. */
  private computedKey(node: Expression & { base: Expression }): void {
    const line = lineOf(node);
    for (const path of this.resolve(node.base)) {
      if (path === GLOBALS) {
        this.report('lua_dynamic_code', `${this.context.file}:${line}: looks up a global by a computed name (_G[...]), which hides what it uses`, line);
      } else if (UNTRACKABLE_WHEN_PASSED.has(path) || path === 'string') {
        this.report('lua_sandbox_escape', `${this.context.file}:${line}: indexes ${path} with a computed key, which can reach its dangerous functions unseen`, line);
      }
    }
  }

  private reference(node: Expression, role: Role): void {
    const paths = this.resolve(node);
    this.permissionUse(paths, node);
    if (role === 'target') return;
    const line = lineOf(node);
    const file = this.context.file;
    for (const path of paths) {
      const escape = ESCAPES[path] ?? ESCAPE_LIBRARIES[path.split('.')[0] ?? ''];
      const wholeLibrary = !path.includes('.');
      if (escape !== undefined && !(role === 'alias' && wholeLibrary)) {
        this.report('lua_sandbox_escape', `${file}:${line}: uses ${path}, which ${escape}`, line);
      } else if (role === 'value' && UNTRACKABLE_WHEN_PASSED.has(path)) {
        this.report('lua_sandbox_escape', `${file}:${line}: hands the ${path} library to other code, where its dangerous functions cannot be tracked`, line);
      }
      if (DYNAMIC_LOADERS.has(path) && role !== 'callee') {
        this.report('lua_dynamic_code', `${file}:${line}: uses ${path} as a value; code it compiles at run time cannot be checked`, line);
      }
      if (path === GLOBALS && role === 'value') {
        this.report('lua_dynamic_code', `${file}:${line}: uses the global table _G as a value (iterating or handing it on), which hides which globals are reached`, line);
      }
    }
  }

  private call(node: AnyCall): void {
    this.expression(node.base, 'callee');
    const args = callArguments(node);
    for (const argument of args) this.expression(argument, 'value');
    const callee = this.resolve(node.base);
    const line = lineOf(node);
    const file = this.context.file;
    const first = args[0];
    if (callee.some((path) => DYNAMIC_LOADERS.has(path))) {
      const what = first?.type === 'StringLiteral' ? 'compiles a string into code at run time' : 'compiles code computed at run time';
      this.report('lua_dynamic_code', `${file}:${line}: ${what} (load/loadstring); that code cannot be checked`, line);
    }
    if (callee.includes('require')) {
      const name = first === undefined ? null : constantString(first);
      if (name === null) {
        this.report('lua_dynamic_code', `${file}:${line}: requires a module whose name is computed at run time`, line);
      } else if (Object.hasOwn(PERMISSION_APIS, name)) {
        this.permissionUse([name], node);
      } else if (!STANDARD_LIBRARIES.has(name) && !this.context.luaModules.has(name)) {
        this.report('lua_require_undeclared', `${file}:${line}: requires ${JSON.stringify(name)}, which is not a Lua file of the package`, line);
      }
    }
  }

  private literal(value: string | null, line: number | undefined): void {
    if (value === null) return;
    const where = line === undefined ? this.context.file : `${this.context.file}:${line}`;
    for (const problem of checkUrls(value)) this.report(problem.code, `${where}: ${problem.message}`, line);
    const obfuscation = obfuscationReason(value);
    if (obfuscation !== null) this.report('string_obfuscated', `${where}: ${obfuscation}`, line);
  }

  private permissionUse(paths: readonly string[], node: Node): void {
    for (const path of paths) {
      const permission = PERMISSION_APIS[path.split('.')[0] ?? ''];
      if (permission !== undefined && !this.uses.has(permission)) this.uses.set(permission, { api: path, line: lineOf(node) ?? 0 });
    }
  }

  // ───────────── resolution ─────────────

  /** The globals an expression may denote, as dotted paths from the global table. */
  private resolve(node: Expression): string[] {
    const known = this.resolved.get(node);
    // A call's value is known once: its callee is evaluated before its arguments, and an
    // argument that declares or assigns names (`f(function() … end)(…)(…)`) must not make every
    // later link of the chain resolve the whole chain again.
    if (known !== undefined && (known.generation === this.generation || isCall(node))) return known.paths;
    const paths = this.resolveNow(node);
    this.resolved.set(node, { generation: this.generation, paths });
    return paths;
  }

  private resolveNow(node: Expression): string[] {
    switch (node.type) {
      case 'Identifier': {
        const local = this.scope.find(node.name);
        if (local !== undefined) return [...local];
        if (node.name === '_ENV') return [GLOBALS];
        return [...new Set([node.name, ...(this.globalAliases.get(node.name) ?? [])])];
      }
      case 'MemberExpression':
        return member(this.resolve(node.base), node.identifier.name);
      case 'IndexExpression': {
        const key = constantString(node.index);
        return key === null ? [] : member(this.resolve(node.base), key);
      }
      case 'CallExpression':
      case 'StringCallExpression':
      case 'TableCallExpression':
        return this.resolveCall(node);
      case 'LogicalExpression': {
        // Either operand may be the value; the left spine is walked in a loop (chains can be long).
        const paths: string[] = [];
        let current: Expression = node;
        for (; current.type === 'LogicalExpression'; current = current.left) paths.push(...this.resolve(current.right));
        return [...paths, ...this.resolve(current)];
      }
      default:
        return [];
    }
  }

  private resolveCall(node: AnyCall): string[] {
    const callee = this.resolve(node.base);
    const [first, second] = callArguments(node);
    if (callee.includes('require') && first !== undefined) {
      const name = constantString(first);
      if (name !== null && (STANDARD_LIBRARIES.has(name) || Object.hasOwn(PERMISSION_APIS, name))) return [name];
    }
    if (callee.includes('rawget') && first !== undefined && second !== undefined && this.resolve(first).includes(GLOBALS)) {
      const key = constantString(second);
      if (key !== null) return [key];
    }
    if (callee.includes('getmetatable') && first?.type === 'StringLiteral') return [STRING_METATABLE];
    if (callee.includes('getfenv')) return [GLOBALS];
    return [];
  }

  private report(code: Finding['code'], message: string, line: number | undefined): void {
    const key = `${code}\u0000${line ?? ''}\u0000${message}`;
    if (this.reported.has(key)) return;
    const count = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, count);
    if (count > MAX_FINDINGS_PER_FILE_CODE) return;
    this.reported.add(key);
    this.findings.push(finding(code, message, line === undefined ? { file: this.context.file } : { file: this.context.file, line }));
  }
}

function member(bases: readonly string[], key: string): string[] {
  return bases.map((base) => {
    if (base === GLOBALS) return key === '_ENV' ? GLOBALS : key;
    if (base === 'package.loaded') return key;
    if (base === STRING_METATABLE) return key === '__index' ? 'string' : `${STRING_METATABLE}.${key}`;
    if (base.length + key.length >= MAX_PATH_LENGTH || segments(base) >= MAX_PATH_SEGMENTS) return base;
    return `${base}.${key}`;
  });
}

function segments(path: string): number {
  let count = 1;
  for (let i = path.indexOf('.'); i !== -1; i = path.indexOf('.', i + 1)) count++;
  return count;
}

function isCall(node: Expression): node is AnyCall {
  return node.type === 'CallExpression' || node.type === 'StringCallExpression' || node.type === 'TableCallExpression';
}

function callArguments(node: AnyCall): Expression[] {
  if (node.type === 'CallExpression') return node.arguments;
  if (node.type === 'StringCallExpression') return [node.argument];
  return [node.arguments];
}

/** The value of a string built only from literals (`"o" .. "s"`), else null. */
function constantString(node: Expression): string | null {
  if (node.type === 'StringLiteral') return node.value;
  if (node.type === 'NumericLiteral') return node.raw;
  if (node.type === 'BinaryExpression' && node.operator === '..') {
    const left = constantString(node.left);
    const right = left === null ? null : constantString(node.right);
    if (left === null || right === null || left.length + right.length > MAX_CONSTANT) return null;
    return left + right;
  }
  return null;
}

function lineOf(node: Node): number | undefined {
  return node.loc?.start.line;
}
