import { finding, type Finding } from './findings.js';
import { checkEntryName, extensionOf } from './paths.js';
import type { ZipEntry } from './zip.js';

/**
 * Tier 1 rules on the list of entries, decided from the central directory alone (names, types,
 * duplicates) or from the first bytes of each file (executables and scripts by content).
 */

// Native binaries and shell scripts: an app is RML, RCSS, Lua and assets, nothing a shell would run.
const FORBIDDEN_EXTENSIONS = new Set(['.exe', '.dll', '.so', '.dylib', '.sh', '.bash', '.zsh', '.bat', '.cmd', '.ps1']);
// Versioned shared libraries: libfoo.so.1.2
const VERSIONED_SHARED_LIBRARY = /\.so(\.\d+)+$/i;

const UNIX_HOSTS = new Set([3, 19]); // UNIX, OS X
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** True for entries that are folders, which carry no data and are not listed or signed. */
export function isDirectoryEntry(entry: ZipEntry): boolean {
  return entry.isDirectory && entry.size === 0;
}

export function checkEntries(entries: readonly ZipEntry[]): Finding[] {
  const findings: Finding[] = [];
  for (const entry of entries) {
    const directory = isDirectoryEntry(entry);
    findings.push(...checkEntryName(entry.name, directory));
    findings.push(...checkFileType(entry, directory));
    const forbidden = forbiddenName(entry.name);
    if (!directory && forbidden !== null) {
      findings.push(finding('file_forbidden_type', `${JSON.stringify(entry.name)} ${forbidden}`, { file: entry.name }));
    }
  }
  findings.push(...checkDuplicates(entries));
  return findings;
}

function checkFileType(entry: ZipEntry, directory: boolean): Finding[] {
  if (!UNIX_HOSTS.has(entry.versionMadeBy >> 8)) return [];
  const type = (entry.externalAttributes >>> 16) & S_IFMT;
  const where = { file: entry.name };
  const shown = JSON.stringify(entry.name);
  if (type === S_IFLNK) return [finding('file_symlink', `${shown} is a symbolic link; packages may contain only regular files`, where)];
  if (type === S_IFDIR && !directory) return [finding('path_invalid', `${shown} is marked as a folder but is not a folder entry`, where)];
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
    return [finding('file_forbidden_type', `${shown} is a device, FIFO or socket; packages may contain only regular files`, where)];
  }
  return [];
}

/** Why a file name is forbidden, or null. */
export function forbiddenName(name: string): string | null {
  const extension = extensionOf(name);
  if (FORBIDDEN_EXTENSIONS.has(extension) || VERSIONED_SHARED_LIBRARY.test(name)) {
    return `has a forbidden file type (${extension || '.so'}): packages may not contain native binaries or shell scripts`;
  }
  return null;
}

/** Why a file's first bytes make it forbidden (a script or a native executable), or null. */
export function forbiddenContent(head: Buffer): string | null {
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return 'starts with "#!": packages may not contain shell scripts';
  if (head.length < 4) return null;
  const magic = head.readUInt32BE(0);
  if (magic === 0x7f454c46) return 'is an ELF executable or library: packages may not contain native binaries';
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) {
    return 'is a Mach-O binary (or a Java class): packages may not contain native binaries';
  }
  if (head[0] === 0x4d && head[1] === 0x5a && head.length >= 0x40) {
    const peOffset = head.readUInt32LE(0x3c);
    if (peOffset + 4 <= head.length && head.readUInt32BE(peOffset) === 0x50450000) {
      return 'is a Windows executable: packages may not contain native binaries';
    }
  }
  return null;
}

/**
 * Exact duplicates make "which file is this" depend on the extractor; names that differ only in
 * case or Unicode normalisation collide on the file systems of many devices; a name that is both
 * a file and a folder cannot be extracted at all.
 */
function checkDuplicates(entries: readonly ZipEntry[]): Finding[] {
  const findings: Finding[] = [];
  const exact = new Map<string, number>();
  const folded = new Map<string, string>();
  const files = new Set<string>();
  for (const entry of entries) {
    const name = entry.name.endsWith('/') ? entry.name.slice(0, -1) : entry.name;
    if (!entry.isDirectory) files.add(name);
    const seen = exact.get(entry.name) ?? 0;
    exact.set(entry.name, seen + 1);
    const where = { file: entry.name };
    if (seen === 1) {
      findings.push(finding('path_duplicate', `${JSON.stringify(entry.name)} appears more than once in the archive`, where));
      continue;
    }
    if (seen > 1) continue;
    const key = name.normalize('NFC').toLowerCase();
    const other = folded.get(key);
    if (other !== undefined) {
      const message = `${JSON.stringify(entry.name)} and ${JSON.stringify(other)} differ only in letter case or Unicode normalisation, so they collide on many file systems`;
      findings.push(finding('path_duplicate', message, where));
    } else {
      folded.set(key, entry.name);
    }
  }
  for (const entry of entries) {
    const segments = entry.name.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const folder = segments.slice(0, depth).join('/');
      if (!files.has(folder)) continue;
      findings.push(finding('path_duplicate', `${JSON.stringify(folder)} is both a file and the folder of ${JSON.stringify(entry.name)}`, { file: entry.name }));
      break;
    }
  }
  return findings;
}
