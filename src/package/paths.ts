import { finding, type Finding } from './findings.js';

/**
 * Rules for the names of archive entries. A device extracts a package into its own folder: a name
 * that could land outside it (absolute, `..`, drive letter), that means different files on different
 * systems (backslashes, `:`), or that a reviewer cannot read (control and invisible characters)
 * is refused rather than normalised, so the signed name is the name every tool sees.
 */

// C0 and C1 control characters.
// eslint-disable-next-line no-control-regex -- finding them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// Zero-width and bidirectional-override characters make a name display as something it is not.
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;
const DRIVE_LETTER = /^[A-Za-z]:/;
// Most file systems refuse longer names; a package must unpack everywhere.
const MAX_SEGMENT_BYTES = 255;

/** Problems with one entry name; directory entries (`name/`) may end with a slash. */
export function checkEntryName(name: string, isDirectory: boolean): Finding[] {
  const where = { file: name };
  const shown = JSON.stringify(name);
  if (name === '') return [finding('path_invalid', 'an entry has an empty name', where)];

  const findings: Finding[] = [];
  const control = CONTROL.exec(name) ?? INVISIBLE.exec(name);
  if (control) {
    const code = control[0].codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0') ?? '';
    findings.push(finding('path_control_character', `entry name ${shown} contains the control or invisible character U+${code}`, where));
  }
  if (name.includes('\\')) {
    findings.push(finding('path_backslash', `entry name ${shown} contains a backslash; use "/" between folders`, where));
  }
  if (name.startsWith('/') || name.startsWith('\\')) {
    findings.push(finding('path_absolute', `entry name ${shown} is absolute; names must be relative to the package root`, where));
  }
  const drive = DRIVE_LETTER.test(name);
  if (drive) findings.push(finding('path_drive_letter', `entry name ${shown} starts with a drive letter`, where));
  else if (name.includes(':')) findings.push(finding('path_invalid', `entry name ${shown} contains ":" (an alternate data stream on Windows)`, where));

  // Backslashes count as separators here: some extractors treat them so, and `..\\x` must not slip through.
  const body = isDirectory && name.endsWith('/') ? name.slice(0, -1) : name;
  const segments = body.split(/[\\/]/);
  if (name.startsWith('/') || name.startsWith('\\')) segments.shift();
  if (segments.includes('..')) {
    findings.push(finding('path_traversal', `entry name ${shown} has a ".." segment that points outside the package`, where));
  }
  if (!isDirectory && name.endsWith('/')) {
    findings.push(finding('path_invalid', `entry name ${shown} ends with "/" but the entry is a file`, where));
  } else if (segments.includes('')) {
    findings.push(finding('path_invalid', `entry name ${shown} has an empty segment ("//")`, where));
  }
  if (segments.includes('.')) findings.push(finding('path_invalid', `entry name ${shown} has a "." segment`, where));
  if (segments.some((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)) {
    findings.push(finding('path_invalid', `entry name ${shown} has a segment longer than ${MAX_SEGMENT_BYTES} bytes`, where));
  }
  return findings;
}

/** True when `path` is a name a package file may have (used for paths named in manifest.json). */
export function isPackagePath(path: string): boolean {
  return checkEntryName(path, false).length === 0;
}

/** The lowercase extension of a path including the dot (`.lua`), or '' when it has none. */
export function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}
