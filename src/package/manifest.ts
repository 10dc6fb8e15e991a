import * as z from 'zod';
import { capFindings, finding, PERMISSIONS, type Finding, type Manifest } from './findings.js';
import { formatPath, scanJson, type JsonPath } from './json-locate.js';
import { isPackagePath } from './paths.js';

/**
 * manifest.json: the field rules of PACKAGE.md, one finding per problem, each naming the field
 * ("manifest.json: version_code must be an integer from 1 to 2147483647") and, when the text is
 * known, the line. Fields are validated one by one so the fields that are valid can still drive the
 * other checks (entry file, icons, permissions) of a manifest with a problem elsewhere.
 */

export const MANIFEST_FILE = 'manifest.json';

/** The fields that passed their rule; a field with a problem is absent. */
export type ManifestFields = Partial<Omit<Manifest, `x-${string}`>>;

interface Problem {
  code: 'manifest_invalid' | 'manifest_unknown_field';
  path: JsonPath;
  message: string;
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** PACKAGE.md's rule for `id`; the portal holds an app's package_id to the same pattern. */
export const PACKAGE_ID = /^[a-z0-9]+(?:\.[a-z0-9]+)+$/;
const LANGUAGE_TAG = /^[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{2,8})*$/;
// eslint-disable-next-line no-control-regex -- a name shown in the store must not hide control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** zod error options: "is required" when the value is missing, else "must be <rule>". */
function must(rule: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${rule}`) };
}

function text(min: number, max: number) {
  const rule = `text of ${min} to ${max} characters without control characters`;
  return z
    .string(must(rule))
    .refine((value) => {
      const length = [...value].length;
      return length >= min && length <= max && value.trim() !== '' && !CONTROL.test(value);
    }, must(rule));
}

function semver(example: string) {
  const rule = `a semantic version such as ${example}, at most 32 characters`;
  return z.string(must(rule)).refine((value) => value.length <= 32 && SEMVER.test(value), must(rule));
}

function packagePath(rule: string, extension: string) {
  return z.string(must(rule)).refine((value) => isPackagePath(value) && value.toLowerCase().endsWith(extension), must(rule));
}

const languageTag = z.string(must('a language tag such as en or pt-BR')).regex(LANGUAGE_TAG, must('a language tag such as en or pt-BR'));
const iconPath = packagePath('the path of a PNG file inside the package (e.g. icons/icon-32.png)', '.png');
const permissionList = z
  .array(
    z.enum(PERMISSIONS, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a known permission (known: ${PERMISSIONS.join(', ')})`,
    }),
    must('an array of permission names'),
  )
  .superRefine((permissions, context) => {
    permissions.forEach((permission, index) => {
      if (permissions.indexOf(permission) !== index) {
        context.addIssue({ code: 'custom', path: [index], input: permission, message: `lists ${JSON.stringify(permission)} more than once` });
      }
    });
  });

const FIELD_SCHEMAS = {
  id: z
    .string(must('a reverse-domain id such as com.example.notes'))
    .refine(
      (value) => value.length <= 255 && PACKAGE_ID.test(value),
      must('a reverse-domain id such as com.example.notes: lowercase letters, digits and periods, at least two segments, at most 255 characters'),
    ),
  name: text(1, 50),
  version: semver('1.2.0 or 2.1.3-beta'),
  version_code: z
    .int(must('an integer from 1 to 2147483647'))
    .min(1, must('an integer from 1 to 2147483647'))
    .max(2147483647, must('an integer from 1 to 2147483647')),
  entry: packagePath('the path of an .rml file inside the package (e.g. assets/main.rml)', '.rml'),
  min_mosis_version: semver('1.0.0'),
  permissions: permissionList,
  author: z.strictObject(
    {
      name: text(1, 100),
      email: z.email(must('an email address')),
      url: z.url({ protocol: /^https?$/, ...must('an http(s) URL') }).optional(),
    },
    must('an object with "name" and "email"'),
  ),
  icons: z.strictObject({ '32': iconPath, '64': iconPath, '128': iconPath }, must('an object with the keys "32", "64" and "128"')),
  description: z.string(must('text')),
  category: z.string(must('text')),
  screenshots: z.array(z.string(must('a path')).min(1, must('a path')), must('an array of paths')),
  locales: z
    .strictObject({ default: languageTag, supported: z.array(languageTag, must('an array of language tags')).min(1, must('a non-empty array of language tags')) }, must('an object with "default" and "supported"'))
    .refine((locales) => locales.supported.includes(locales.default), { path: ['default'], error: 'must be listed in locales.supported' }),
} as const;

type FieldName = keyof typeof FIELD_SCHEMAS;
const OPTIONAL: ReadonlySet<FieldName> = new Set(['permissions', 'description', 'category', 'screenshots', 'locales']);

function validateFields(json: unknown): { fields: ManifestFields; extensions: Record<string, unknown>; problems: Problem[] } {
  const fields: Record<string, unknown> = {};
  const extensions: Record<string, unknown> = {};
  const problems: Problem[] = [];
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    problems.push({ code: 'manifest_invalid', path: [], message: 'must contain a JSON object' });
    return { fields, extensions, problems };
  }
  const object = json as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (Object.hasOwn(FIELD_SCHEMAS, key)) continue;
    if (key.startsWith('x-')) extensions[key] = object[key];
    else problems.push({ code: 'manifest_unknown_field', path: [key], message: 'is not a known field (extension fields must start with "x-")' });
  }
  for (const name of Object.keys(FIELD_SCHEMAS) as FieldName[]) {
    const value = Object.hasOwn(object, name) ? object[name] : undefined;
    if (value === undefined && OPTIONAL.has(name)) continue;
    const result = FIELD_SCHEMAS[name].safeParse(value);
    if (result.success) {
      fields[name] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      const path = [name, ...issue.path.filter((part): part is string | number => typeof part !== 'symbol')];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push({ code: 'manifest_invalid', path: [...path, key], message: 'is not a known field' });
      } else {
        problems.push({ code: 'manifest_invalid', path, message: issue.message });
      }
    }
  }
  if (fields.permissions === undefined && !Object.hasOwn(object, 'permissions')) fields.permissions = [];
  return { fields, extensions, problems: dedupe(problems) };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.code} ${formatPath(problem.path)} ${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function describe(problem: Problem): string {
  const path = formatPath(problem.path);
  return path === '' ? `${MANIFEST_FILE} ${problem.message}` : `${MANIFEST_FILE}: ${path} ${problem.message}`;
}

function assemble(fields: ManifestFields, extensions: Record<string, unknown>, problems: Problem[]): Manifest | null {
  return problems.length === 0 ? ({ ...fields, ...extensions } as Manifest) : null;
}

/** Validates a parsed manifest.json. The manifest is null when there is any finding. */
export function validateManifest(json: unknown): { manifest: Manifest | null; findings: Finding[] } {
  const { fields, extensions, problems } = validateFields(json);
  const findings = capFindings(problems.map((problem) => finding(problem.code, describe(problem), { file: MANIFEST_FILE })));
  return { manifest: assemble(fields, extensions, problems), findings };
}

export interface ManifestCheck {
  manifest: Manifest | null;
  /** Valid fields even when other fields have problems (empty when the text is not JSON). */
  fields: ManifestFields;
  findings: Finding[];
  /** Line of a value in manifest.json, when known. */
  lineOf(path: JsonPath): number | undefined;
}

/** Decodes, parses and validates the bytes of manifest.json, locating each problem. */
export function checkManifestBytes(bytes: Buffer): ManifestCheck {
  const notJson = (message: string, line?: number): ManifestCheck => ({
    manifest: null,
    fields: {},
    findings: [finding('manifest_not_json', `${MANIFEST_FILE} is not valid JSON: ${message}`, line === undefined ? { file: MANIFEST_FILE } : { file: MANIFEST_FILE, line })],
    lineOf: () => undefined,
  });
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return notJson('it starts with a byte order mark', 1);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return notJson('it is not UTF-8 text');
  }
  const scan = scanJson(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return scan.ok ? notJson(error instanceof Error ? error.message : String(error)) : notJson(scan.message, scan.line);
  }
  // JSON.parse accepted what the scan refused: only nesting past the scan's depth limit does that.
  if (!scan.ok) {
    return { manifest: null, fields: {}, findings: [finding('manifest_invalid', `${MANIFEST_FILE}:${scan.line}: ${scan.message}`, { file: MANIFEST_FILE, line: scan.line })], lineOf: () => undefined };
  }
  const lines = scan.lines;
  const lineOf = (path: JsonPath): number | undefined => {
    for (let length = path.length; length >= 0; length--) {
      const line = lines.get(formatPath(path.slice(0, length)));
      if (line !== undefined) return line;
    }
    return undefined;
  };

  const { fields, extensions, problems } = validateFields(json);
  const findings: Finding[] = [];
  for (const duplicate of scan.duplicates) {
    const message = `${MANIFEST_FILE}: ${duplicate.path} appears more than once; JSON readers disagree on which value counts`;
    findings.push(finding('manifest_invalid', message, { file: MANIFEST_FILE, line: duplicate.line }));
  }
  for (const problem of problems) {
    const line = lineOf(problem.path);
    findings.push(finding(problem.code, describe(problem), line === undefined ? { file: MANIFEST_FILE } : { file: MANIFEST_FILE, line }));
  }
  const manifest = findings.length === 0 ? assemble(fields, extensions, problems) : null;
  return { manifest, fields, findings: capFindings(findings), lineOf };
}
