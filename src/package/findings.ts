/**
 * The result shape of checking a .mosis package and every finding code it can carry.
 * The codes are part of the API (the portal returns them, the CLI prints them, docs/package-checks.md
 * explains each): never rename one.
 */
export type Tier = 1 | 2 | 3;
export type Severity = 'error' | 'warning';

export interface Finding {
  tier: Tier;
  severity: Severity;
  code: FindingCode;
  message: string;
  file?: string;
  line?: number;
}

export interface PackageFile {
  path: string;
  /** Bytes actually inflated, never the size the archive declares. */
  size: number;
  /** Lowercase hex SHA-256 of the inflated bytes. */
  sha256: string;
}

export interface Author {
  name: string;
  email: string;
  url?: string;
}

export interface Manifest {
  id: string;
  name: string;
  version: string;
  version_code: number;
  entry: string;
  min_mosis_version: string;
  permissions: Permission[];
  author: Author;
  icons: { '32': string; '64': string; '128': string };
  description?: string;
  category?: string;
  screenshots?: string[];
  locales?: { default: string; supported: string[] };
  [extension: `x-${string}`]: unknown;
}

export const PERMISSIONS = [
  'storage',
  'network',
  'clipboard',
  'notifications',
  'camera',
  'microphone',
  'location',
  'sensors',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface PackageCheckResult {
  /** True when no finding has severity `error`. */
  ok: boolean;
  findings: Finding[];
  /** The validated manifest, or null when it is missing or invalid. */
  manifest: Manifest | null;
  /** Every entry of the archive (META-INF files included), in archive order. */
  files: PackageFile[];
}

/** Every finding code, with its tier and severity. */
export const FINDING_CODES = {
  // Tier 1 — structure (blocking)
  zip_invalid: { tier: 1, severity: 'error' },
  zip_extra_data: { tier: 1, severity: 'error' },
  zip_header_mismatch: { tier: 1, severity: 'error' },
  zip_unsupported_compression: { tier: 1, severity: 'error' },
  zip_encrypted: { tier: 1, severity: 'error' },
  zip_too_many_entries: { tier: 1, severity: 'error' },
  zip_file_too_large: { tier: 1, severity: 'error' },
  zip_total_too_large: { tier: 1, severity: 'error' },
  zip_size_mismatch: { tier: 1, severity: 'error' },
  path_absolute: { tier: 1, severity: 'error' },
  path_traversal: { tier: 1, severity: 'error' },
  path_backslash: { tier: 1, severity: 'error' },
  path_drive_letter: { tier: 1, severity: 'error' },
  path_control_character: { tier: 1, severity: 'error' },
  path_invalid: { tier: 1, severity: 'error' },
  path_duplicate: { tier: 1, severity: 'error' },
  file_symlink: { tier: 1, severity: 'error' },
  file_forbidden_type: { tier: 1, severity: 'error' },
  manifest_missing: { tier: 1, severity: 'error' },
  manifest_not_json: { tier: 1, severity: 'error' },
  manifest_invalid: { tier: 1, severity: 'error' },
  manifest_unknown_field: { tier: 1, severity: 'error' },
  manifest_id_mismatch: { tier: 1, severity: 'error' },
  version_code_not_higher: { tier: 1, severity: 'error' },
  entry_missing: { tier: 1, severity: 'error' },
  signature_manifest_missing: { tier: 1, severity: 'error' },
  signature_manifest_invalid: { tier: 1, severity: 'error' },
  signature_file_unlisted: { tier: 1, severity: 'error' },
  signature_file_missing: { tier: 1, severity: 'error' },
  signature_digest_mismatch: { tier: 1, severity: 'error' },
  signature_missing: { tier: 1, severity: 'error' },
  signature_invalid: { tier: 1, severity: 'error' },
  signature_key_not_allowed: { tier: 1, severity: 'error' },
  // Tier 2 — content (blocking)
  lua_syntax_error: { tier: 2, severity: 'error' },
  rml_malformed: { tier: 2, severity: 'error' },
  rcss_syntax_error: { tier: 2, severity: 'error' },
  icon_missing: { tier: 2, severity: 'error' },
  icon_not_png: { tier: 2, severity: 'error' },
  icon_wrong_size: { tier: 2, severity: 'error' },
  file_too_large_to_analyze: { tier: 2, severity: 'error' },
  check_budget_exceeded: { tier: 2, severity: 'error' },
  // Tier 3 — security analysis (warnings for the reviewer)
  lua_sandbox_escape: { tier: 3, severity: 'warning' },
  lua_dynamic_code: { tier: 3, severity: 'warning' },
  lua_require_undeclared: { tier: 3, severity: 'warning' },
  permission_undeclared: { tier: 3, severity: 'warning' },
  permission_unused: { tier: 3, severity: 'warning' },
  permission_added: { tier: 3, severity: 'warning' },
  url_insecure: { tier: 3, severity: 'warning' },
  url_private_host: { tier: 3, severity: 'warning' },
  string_obfuscated: { tier: 3, severity: 'warning' },
} as const satisfies Record<string, { tier: Tier; severity: Severity }>;

export type FindingCode = keyof typeof FINDING_CODES;

/** Makes a finding with the tier and severity its code defines. */
export function finding(code: FindingCode, message: string, where: { file?: string; line?: number } = {}): Finding {
  const { tier, severity } = FINDING_CODES[code];
  return { tier, severity, code, message, ...where };
}

// A hostile package could otherwise produce a finding per entry or per line, 100 000 times over.
const MAX_FINDINGS_PER_CODE = 100;

/** The first findings of each code, and for a code with more, one finding that counts the rest. */
export function capFindings(findings: readonly Finding[]): Finding[] {
  const counts = new Map<string, number>();
  const kept: Finding[] = [];
  for (const found of findings) {
    const count = (counts.get(found.code) ?? 0) + 1;
    counts.set(found.code, count);
    if (count <= MAX_FINDINGS_PER_CODE) kept.push(found);
  }
  for (const [code, count] of counts) {
    if (count <= MAX_FINDINGS_PER_CODE) continue;
    const sample = kept.find((found) => found.code === code);
    if (sample !== undefined) kept.push(finding(sample.code, `… and ${count - MAX_FINDINGS_PER_CODE} more ${code} findings not shown`));
  }
  return kept;
}
