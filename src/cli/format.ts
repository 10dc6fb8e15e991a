import type { Finding } from '../package/index.js';

/** Text output shared by the verbs that report findings or list files. */

/** A finding from the local checks, or as the portal's API reports it (its code a plain string there). */
export type ShownFinding = Omit<Finding, 'code'> & { code: string };

/** `error    T1  zip_invalid  assets/app.lua:3  message` — one finding per line, grep-friendly. */
export function formatFinding(finding: ShownFinding): string {
  const location = finding.file === undefined ? '-' : finding.line === undefined ? finding.file : `${finding.file}:${finding.line}`;
  return `${finding.severity.padEnd(7)}  T${finding.tier}  ${finding.code}  ${location}  ${finding.message}`;
}

/** `2 errors, 1 warning` */
export function summarizeFindings(findings: readonly ShownFinding[]): string {
  const errors = findings.filter((finding) => finding.severity === 'error').length;
  const warnings = findings.length - errors;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}

export function hasErrors(findings: readonly ShownFinding[]): boolean {
  return findings.some((finding) => finding.severity === 'error');
}

/** Human sizes with binary units: `512 B`, `1.5 KiB`, `50.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit] ?? 'TiB'}`;
}

export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
