import type { KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Chunk } from 'luaparse';
import { analyzeLua, LuaModules, type LuaAnalysis, type LuaContext, type PermissionUse } from './analysis.js';
import { checkIcon, checkRcss, parseLua } from './content.js';
import { checkEntries, forbiddenContent, forbiddenName, isDirectoryEntry } from './entries.js';
import { FileReader } from './file-reader.js';
import { capFindings, finding, type Finding, type Manifest, type PackageCheckResult, type PackageFile, type Permission } from './findings.js';
import { resolveLimits, type PackageLimits } from './limits.js';
import { checkManifestBytes, MANIFEST_FILE, type ManifestCheck } from './manifest.js';
import { extensionOf } from './paths.js';
import { diffPermissions } from './permissions.js';
import { checkRml } from './rml.js';
import {
  parseSignatureManifest,
  SIGNATURE_FILE,
  SIGNATURE_MANIFEST_FILE,
  SignatureManifestError,
  verifySignature,
  verifySignatureManifest,
} from './signature.js';
import type { ScannedEntries } from './stream-scan.js';
import { checkUrls } from './urls.js';
import { digestEntry, readEntryContent, type EntryDigest, type EntryDigestResult } from './zip-data.js';
import { readZipLayout, type ZipEntry } from './zip.js';

/**
 * checkPackage: the one entry point the portal's upload path and `mosis validate` share. The
 * order matters: the archive structure first (nothing inflated before it is known to be
 * unambiguous and within limits), then every entry streamed through SHA-256, then the few
 * files that are parsed (manifest, signature files, scripts, markup, styles, icons).
 */

export interface CheckOptions {
  /** Ed25519 public keys allowed to sign the package. */
  allowedKeys: readonly KeyObject[];
  /** The app's package_id in the portal: a manifest with another id is refused. */
  expectedId?: string;
  /**
   * The lowest version_code the app accepts (one above the highest it has): a manifest below it
   * is refused. Unset in the CLI, which knows no portal.
   */
  minVersionCode?: number;
  /** The last published version's manifest: permissions it lacks are flagged for the reviewer. */
  previousManifest?: Manifest | null;
  limits?: Partial<PackageLimits>;
  /**
   * Entry digests taken while the package streamed in (PackageStreamScan). Each is used only where
   * it matches the central directory exactly; every other entry is inflated from the file.
   */
  scanned?: ScannedEntries;
}

/**
 * Checks a .mosis file. Every problem of the package is a finding; this only throws for I/O errors
 * on the file itself (it does not exist, cannot be read, changes while being checked).
 */
export async function checkPackage(file: string, options: CheckOptions): Promise<PackageCheckResult> {
  const limits = resolveLimits(options.limits);
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    return await new PackageCheck(new FileReader(handle, size), options, limits).run();
  } finally {
    await handle.close();
  }
}

const ANALYZED_EXTENSIONS = new Set(['.lua', '.rml', '.rcss']);

class PackageCheck {
  private readonly findings: Finding[] = [];
  private readonly files: PackageFile[] = [];
  private readonly digests = new Map<ZipEntry, Pick<EntryDigest, 'size' | 'sha256'>>();
  /** The first entry of each name (duplicates are already a finding). */
  private readonly byName = new Map<string, ZipEntry>();
  private manifest: ManifestCheck | null = null;

  constructor(
    private readonly file: FileReader,
    private readonly options: CheckOptions,
    private readonly limits: PackageLimits,
  ) {}

  async run(): Promise<PackageCheckResult> {
    const layout = await readZipLayout(this.file, this.limits);
    this.findings.push(...layout.findings);
    if (!layout.readable) return this.result();
    this.findings.push(...checkEntries(layout.entries));
    // Structural problems (lying headers, hidden bytes, sizes over the limits…) stop the check
    // before a single byte is inflated.
    if (this.hasArchiveProblem()) return this.result();

    await this.digestEntries(layout.entries);
    if (this.hasArchiveProblem()) return this.result();

    await this.checkManifest();
    await this.checkSignature();
    await this.checkEntryAndIcons();
    const analysis = await this.checkContent();
    this.checkPermissions(analysis);
    return this.result();
  }

  private hasArchiveProblem(): boolean {
    return this.findings.some((found) => found.code.startsWith('zip_'));
  }

  /** Streams every entry through SHA-256, counting the real inflated bytes against the limits. */
  private async digestEntries(entries: readonly ZipEntry[]): Promise<void> {
    let remaining = this.limits.maxTotalBytes;
    for (const entry of entries) {
      if (isDirectoryEntry(entry)) continue;
      const result = this.scannedDigest(entry, remaining) ?? (await digestEntry(this.file, entry, { maxFileBytes: this.limits.maxFileBytes, remainingTotalBytes: remaining }));
      if (!result.ok) {
        this.findings.push(result.finding);
        if (result.finding.code === 'zip_total_too_large') return;
        continue;
      }
      const { size, sha256, head } = result.digest;
      remaining -= size;
      this.digests.set(entry, { size, sha256 });
      this.files.push({ path: entry.name, size, sha256 });
      if (!this.byName.has(entry.name)) this.byName.set(entry.name, entry);
      const forbidden = forbiddenName(entry.name) === null ? forbiddenContent(head) : null;
      if (forbidden !== null) this.findings.push(finding('file_forbidden_type', `${JSON.stringify(entry.name)} ${forbidden}`, { file: entry.name }));
    }
  }

  /**
   * The scanned digest of an entry, when the scan read exactly the bytes the central directory
   * places it at and found what it declares, within the limits; otherwise null.
   */
  private scannedDigest(entry: ZipEntry, remainingTotalBytes: number): EntryDigestResult | null {
    const scanned = this.options.scanned?.get(entry.localHeaderOffset);
    if (scanned === undefined) return null;
    const { digest } = scanned;
    const exact =
      scanned.dataOffset === entry.dataOffset &&
      scanned.method === entry.method &&
      scanned.compressedSize === entry.compressedSize &&
      scanned.crc32 === entry.crc32 &&
      digest.size === entry.size &&
      digest.size <= Math.min(this.limits.maxFileBytes, remainingTotalBytes);
    return exact ? { ok: true, digest } : null;
  }

  /** The bytes of a digested entry for parsing, or null (with a finding) when it is too large. */
  private async read(path: string): Promise<Buffer | null> {
    const entry = this.byName.get(path);
    const digest = entry === undefined ? undefined : this.digests.get(entry);
    if (entry === undefined || digest === undefined) return null;
    if (digest.size > this.limits.maxAnalyzedFileBytes) {
      const message = `${path} is ${digest.size} bytes; files larger than ${this.limits.maxAnalyzedFileBytes} bytes cannot be checked`;
      this.findings.push(finding('file_too_large_to_analyze', message, { file: path }));
      return null;
    }
    return readEntryContent(this.file, entry, digest);
  }

  private async checkManifest(): Promise<void> {
    if (!this.byName.has(MANIFEST_FILE)) {
      this.findings.push(finding('manifest_missing', `there is no ${MANIFEST_FILE} at the root of the package`));
      return;
    }
    const bytes = await this.read(MANIFEST_FILE);
    if (bytes === null) return;
    this.manifest = checkManifestBytes(bytes);
    this.findings.push(...this.manifest.findings);
    const id = this.manifest.fields.id;
    if (this.options.expectedId !== undefined && id !== undefined && id !== this.options.expectedId) {
      const message = `${MANIFEST_FILE}: id is ${JSON.stringify(id)} but the package is uploaded to the app ${JSON.stringify(this.options.expectedId)}`;
      this.findings.push(finding('manifest_id_mismatch', message, this.where(MANIFEST_FILE, this.manifest.lineOf(['id']))));
    }
    const code = this.manifest.fields.version_code;
    const min = this.options.minVersionCode;
    if (min !== undefined && typeof code === 'number' && code < min) {
      const message = `${MANIFEST_FILE}: version_code ${code} must be at least ${min}, one above the highest this app already has`;
      this.findings.push(finding('version_code_not_higher', message, this.where(MANIFEST_FILE, this.manifest.lineOf(['version_code']))));
    }
  }

  private async checkSignature(): Promise<void> {
    if (!this.byName.has(SIGNATURE_MANIFEST_FILE)) {
      this.findings.push(finding('signature_manifest_missing', `${SIGNATURE_MANIFEST_FILE} is missing: the package is not signed`));
      if (!this.byName.has(SIGNATURE_FILE)) this.findings.push(finding('signature_missing', `${SIGNATURE_FILE} is missing: the package is not signed`));
      return;
    }
    const manifestBytes = await this.read(SIGNATURE_MANIFEST_FILE);
    if (manifestBytes !== null) this.checkSignatureManifest(manifestBytes);
    if (!this.byName.has(SIGNATURE_FILE)) {
      this.findings.push(finding('signature_missing', `${SIGNATURE_FILE} is missing: the package is not signed`));
      return;
    }
    const certificate = await this.read(SIGNATURE_FILE);
    if (certificate !== null && manifestBytes !== null) {
      this.findings.push(...verifySignature(certificate, manifestBytes, this.options.allowedKeys));
    }
  }

  private checkSignatureManifest(bytes: Buffer): void {
    const where = { file: SIGNATURE_MANIFEST_FILE };
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      this.findings.push(finding('signature_manifest_invalid', `${SIGNATURE_MANIFEST_FILE} is not UTF-8 text`, where));
      return;
    }
    try {
      const { entries } = parseSignatureManifest(text);
      this.findings.push(...verifySignatureManifest(entries, this.files));
    } catch (error) {
      if (!(error instanceof SignatureManifestError)) throw error;
      const message = `${SIGNATURE_MANIFEST_FILE}:${error.line}: ${error.message}`;
      this.findings.push(finding('signature_manifest_invalid', message, { ...where, line: error.line }));
    }
  }

  private async checkEntryAndIcons(): Promise<void> {
    const fields = this.manifest?.fields;
    if (fields === undefined) return;
    if (fields.entry !== undefined && !this.byName.has(fields.entry)) {
      const message = `${MANIFEST_FILE}: the entry file ${fields.entry} is not in the package`;
      this.findings.push(finding('entry_missing', message, this.where(MANIFEST_FILE, this.manifest?.lineOf(['entry']))));
    }
    for (const [size, path] of Object.entries(fields.icons ?? {})) {
      if (!this.byName.has(path)) {
        const message = `${MANIFEST_FILE}: the ${size}px icon ${path} is not in the package`;
        this.findings.push(finding('icon_missing', message, this.where(MANIFEST_FILE, this.manifest?.lineOf(['icons', size]))));
        continue;
      }
      const bytes = await this.read(path);
      if (bytes !== null) this.findings.push(...checkIcon(bytes, path, Number(size)));
    }
  }

  /** Tier 2 and 3 on every script, markup and style file; returns the permission APIs used. */
  private async checkContent(): Promise<{ uses: Map<Permission, PermissionUse & { file: string }>; complete: boolean }> {
    const uses = new Map<Permission, PermissionUse & { file: string }>();
    let complete = true;
    const luaModules = new LuaModules([...this.byName.keys()].filter((path) => extensionOf(path) === '.lua'));
    const permissions = this.manifest?.fields.permissions;
    const declared = permissions === undefined ? null : new Set(permissions);
    for (const path of this.byName.keys()) {
      const extension = extensionOf(path);
      if (!ANALYZED_EXTENSIONS.has(extension)) continue;
      const bytes = await this.read(path);
      if (bytes === null) {
        complete = false;
        continue;
      }
      const content = this.checkFile(path, extension, bytes);
      complete &&= content.complete;
      const findings = [...content.findings];
      if (content.chunks.length > 0) {
        const analysis = analyze(content.chunks, { file: path, luaModules, declared });
        findings.push(...analysis.findings);
        complete &&= analysis.complete;
        for (const [permission, use] of analysis.uses) if (!uses.has(permission)) uses.set(permission, { ...use, file: path });
      }
      for (const literal of content.literals) {
        for (const problem of checkUrls(literal.text)) {
          findings.push(finding(problem.code, `${path}:${literal.line}: ${problem.message}`, { file: path, line: literal.line }));
        }
      }
      // A reviewer reads a file top to bottom.
      this.findings.push(...findings.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity)));
    }
    return { uses, complete };
  }

  /** Tier 2 of one file: its findings, the Lua to analyse and the literals to check for URLs. */
  private checkFile(path: string, extension: string, bytes: Buffer): { findings: Finding[]; chunks: Chunk[]; literals: { text: string; line: number }[]; complete: boolean } {
    if (extension === '.lua') {
      const parsed = parseLua(bytes.toString('latin1'), path);
      return parsed.ok
        ? { findings: [], chunks: [parsed.chunk], literals: [], complete: true }
        : { findings: [parsed.finding], chunks: [], literals: [], complete: false };
    }
    if (extension === '.rml') {
      const rml = checkRml(bytes, path);
      return { findings: rml.findings, chunks: rml.scripts, literals: rml.literals, complete: !rml.findings.some((found) => found.severity === 'error') };
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { findings: [finding('rcss_syntax_error', `${path} is not UTF-8 text`, { file: path })], chunks: [], literals: [], complete: true };
    }
    const rcss = checkRcss(text, path);
    return { findings: rcss.findings, chunks: [], literals: rcss.literals, complete: true };
  }

  private checkPermissions(analysis: { uses: Map<Permission, PermissionUse>; complete: boolean }): void {
    const permissions = this.manifest?.fields.permissions;
    if (permissions === undefined) return;
    const lineOf = (permission: Permission) => this.manifest?.lineOf(['permissions', permissions.indexOf(permission)]);
    // Unused is only claimed when every script could be read and parsed.
    if (analysis.complete) {
      for (const permission of permissions) {
        if (analysis.uses.has(permission)) continue;
        const message = `${MANIFEST_FILE}: the "${permission}" permission is declared but no script uses its API`;
        this.findings.push(finding('permission_unused', message, this.where(MANIFEST_FILE, lineOf(permission))));
      }
    }
    const previous = this.options.previousManifest;
    if (previous === undefined || previous === null) return;
    for (const permission of diffPermissions(previous.permissions, permissions).added) {
      const message = `${MANIFEST_FILE}: the "${permission}" permission is new since the last published version (${previous.version})`;
      this.findings.push(finding('permission_added', message, this.where(MANIFEST_FILE, lineOf(permission))));
    }
  }

  private where(file: string, line: number | undefined): { file: string; line?: number } {
    return line === undefined ? { file } : { file, line };
  }

  private result(): PackageCheckResult {
    const findings = capFindings(this.findings).sort((a, b) => a.tier - b.tier);
    return {
      ok: !findings.some((found) => found.severity === 'error'),
      findings,
      manifest: this.manifest?.manifest ?? null,
      files: this.files,
    };
  }
}

/**
 * Tier 3 of one file. Code nested deeper than the analysis can follow (Lua itself refuses more
 * than 200 levels) is refused rather than let through unanalysed.
 */
function analyze(chunks: readonly Chunk[], context: LuaContext): LuaAnalysis & { complete: boolean } {
  try {
    return { ...analyzeLua(chunks, context), complete: true };
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const message = `${context.file}: the code is nested too deeply to analyse`;
    return { findings: [finding('lua_syntax_error', message, { file: context.file })], uses: new Map(), complete: false };
  }
}
