import type { FileReader } from './file-reader.js';
import { finding, type Finding } from './findings.js';
import type { PackageLimits } from './limits.js';

/**
 * Reads the structure of a ZIP archive (end-of-central-directory record, central directory, local
 * headers and data descriptors) with plain positional reads, and checks that it is unambiguous
 * BEFORE any entry is inflated: every tool that later opens the package (the device, a reviewer's
 * unzip) must see exactly the entries, names and bytes that were checked and signed.
 *
 * Why not yauzl: it stops at the first absolute or `..` name (we want to report every problem),
 * rewrites backslashes to slashes (we want to refuse them), and accepts prepended data. The archive
 * is therefore parsed here once, strictly, and entry data is read by zip-data.ts.
 *
 * ZIP64: a package is far below 4 GiB and 65 535 entries, so a ZIP64 end record is refused. ZIP64
 * extra fields on entries are read (their values are cross-checked like any other), because a
 * declared size of 10 GB must be reported as what it is: a file over the size limit.
 */

export interface ZipEntry {
  /** Position in the central directory (archive order). */
  index: number;
  /** The decoded name (UTF-8, or ASCII); undecodable bytes show as U+FFFD and are reported. */
  name: string;
  nameBytes: Buffer;
  /** A name ending in `/`. */
  isDirectory: boolean;
  versionMadeBy: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  /** Uncompressed size as declared by the central directory (not trusted: see zip-data.ts). */
  size: number;
  localHeaderOffset: number;
  externalAttributes: number;
  /** Offset of the entry's data, known once its local header has been read. */
  dataOffset: number;
}

export interface ZipLayout {
  entries: ZipEntry[];
  findings: Finding[];
  /** False when the archive cannot be read safely: nothing more should be done with it. */
  readable: boolean;
}

export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;

const SIGNATURE = {
  endOfCentralDirectory: 0x06054b50,
  zip64Locator: 0x07064b50,
  zip64EndOfCentralDirectory: 0x06064b50,
  centralHeader: 0x02014b50,
  localHeader: 0x04034b50,
  dataDescriptor: 0x08074b50,
} as const;

export const FLAG_ENCRYPTED = 1 << 0;
export const FLAG_DATA_DESCRIPTOR = 1 << 3;
export const FLAG_STRONG_ENCRYPTION = 1 << 6;
const FLAG_UTF8 = 1 << 11;
export const FLAG_MASKED_HEADERS = 1 << 13;
// Bits 1-2 only hint at the deflate level; writers legitimately differ there.
const FLAGS_COMPARED = 0xffff & ~0b110;

const EOCD_SIZE = 22;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
const MAX_COMMENT = 0xffff;
const UNICODE_PATH_EXTRA = 0x7075;
const ZIP64_EXTRA = 0x0001;
// A central directory of 10 000 entries with 1 KiB names is 10 MiB; more is not a package.
const MAX_CENTRAL_DIRECTORY_BYTES = 32 * 1024 * 1024;
// Enough to read a local header with a typical extra field in one read.
const LOCAL_READ_SLACK = 512;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

interface EndOfCentralDirectory {
  offset: number;
  entryCount: number;
  centralDirectoryOffset: number;
  centralDirectorySize: number;
}

export type LayoutLimits = Pick<PackageLimits, 'maxEntries' | 'maxFileBytes' | 'maxTotalBytes'>;

/**
 * Reads and cross-checks the archive structure; never inflates anything. Declared sizes over the
 * limits are reported here too, so such an archive is refused before a byte is inflated.
 */
export async function readZipLayout(file: FileReader, limits: LayoutLimits): Promise<ZipLayout> {
  const findings: Finding[] = [];
  const fail = (code: 'zip_invalid' | 'zip_extra_data' | 'zip_too_many_entries', message: string): ZipLayout => {
    findings.push(finding(code, message));
    return { entries: [], findings, readable: false };
  };

  const eocd = await findEndOfCentralDirectory(file);
  // The count comes first: 100 000 entries are refused without reading one of them.
  if (eocd.entryCount > limits.maxEntries) {
    return fail('zip_too_many_entries', `the archive has ${eocd.entryCount} entries; the limit is ${limits.maxEntries}`);
  }
  if ('problem' in eocd) return fail(eocd.code, eocd.problem);
  const cdEnd = eocd.centralDirectoryOffset + eocd.centralDirectorySize;
  if (cdEnd > eocd.offset) return fail('zip_invalid', 'the central directory overlaps the end-of-central-directory record');
  if (cdEnd < eocd.offset) {
    return fail('zip_extra_data', `${eocd.offset - cdEnd} unexplained bytes between the central directory and the end-of-central-directory record`);
  }
  if (eocd.centralDirectorySize < eocd.entryCount * CENTRAL_HEADER_SIZE) {
    return fail('zip_invalid', `the central directory is too small for the ${eocd.entryCount} entries it should hold`);
  }
  if (eocd.centralDirectorySize > MAX_CENTRAL_DIRECTORY_BYTES) {
    return fail('zip_invalid', `the central directory is ${eocd.centralDirectorySize} bytes; more than ${MAX_CENTRAL_DIRECTORY_BYTES} is not a package`);
  }

  // Copied: the reader's window is reused by the reads that follow.
  const directory = Buffer.from(await file.read(eocd.centralDirectoryOffset, eocd.centralDirectorySize));
  const parsed = parseCentralDirectory(directory, eocd.entryCount);
  findings.push(...parsed.findings);
  if (!parsed.readable) return { entries: parsed.entries, findings, readable: false };
  findings.push(...checkDeclaredSizes(parsed.entries, limits));

  const local = await checkLocalHeaders(file, parsed.entries, eocd.centralDirectoryOffset);
  findings.push(...local.findings);
  return { entries: parsed.entries, findings, readable: local.readable };
}

type EocdResult = EndOfCentralDirectory | { code: 'zip_invalid' | 'zip_extra_data'; problem: string; entryCount: number };

async function findEndOfCentralDirectory(file: FileReader): Promise<EocdResult> {
  const fileSize = file.size;
  const invalid = (problem: string, entryCount = 0): EocdResult => ({ code: 'zip_invalid', problem, entryCount });
  if (fileSize < EOCD_SIZE) return invalid(`not a ZIP archive: the file is only ${fileSize} bytes`);
  const tailStart = Math.max(0, fileSize - (EOCD_SIZE + MAX_COMMENT));
  const tail = Buffer.from(await file.read(tailStart, fileSize - tailStart));

  // The record ends the file exactly (its comment runs to the last byte). Searching backwards, the
  // first signature whose comment length fits is the record; a second one that also fits means the
  // comment hides another record, which different readers would resolve differently.
  let found = -1;
  let nearestMisfit = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== SIGNATURE.endOfCentralDirectory) continue;
    const fits = i + EOCD_SIZE + tail.readUInt16LE(i + 20) === tail.length;
    if (fits && found === -1) found = i;
    else if (fits) return invalid('the archive comment contains a second end-of-central-directory record');
    else if (nearestMisfit === -1 && found === -1) nearestMisfit = i;
  }
  if (found === -1) {
    if (nearestMisfit === -1) return invalid('not a ZIP archive: no end-of-central-directory record');
    const recordEnd = nearestMisfit + EOCD_SIZE + tail.readUInt16LE(nearestMisfit + 20);
    if (recordEnd > tail.length) return invalid('the comment length of the end-of-central-directory record runs past the end of the file');
    return { code: 'zip_extra_data', problem: `${tail.length - recordEnd} bytes of data follow the end-of-central-directory record`, entryCount: 0 };
  }

  const offset = tailStart + found;
  const record = tail.subarray(found);
  const disk = record.readUInt16LE(4);
  const centralDirectoryDisk = record.readUInt16LE(6);
  const entriesOnDisk = record.readUInt16LE(8);
  const entryCount = record.readUInt16LE(10);
  const centralDirectorySize = record.readUInt32LE(12);
  const centralDirectoryOffset = record.readUInt32LE(16);

  const zip64Count = await readZip64EntryCount(file, offset);
  if (zip64Count !== null) {
    // Read only so that an archive of 100 000 entries is reported as too many entries.
    return invalid('ZIP64 archives are not supported (a package never needs them)', zip64Count);
  }
  if (entryCount === 0xffff || centralDirectorySize === 0xffffffff || centralDirectoryOffset === 0xffffffff) {
    return invalid('the end-of-central-directory record defers to a ZIP64 record that is not there', entryCount);
  }
  if (disk !== 0 || centralDirectoryDisk !== 0 || entriesOnDisk !== entryCount) {
    return invalid('multi-disk (split) archives are not supported', entryCount);
  }
  return { offset, entryCount, centralDirectoryOffset, centralDirectorySize };
}

/** The entry count of a ZIP64 end record when a locator precedes the classic record, else null. */
async function readZip64EntryCount(file: FileReader, eocdOffset: number): Promise<number | null> {
  if (eocdOffset < 20) return null;
  const locator = Buffer.from(await file.read(eocdOffset - 20, 20));
  if (locator.readUInt32LE(0) !== SIGNATURE.zip64Locator) return null;
  const recordOffset = Number(locator.readBigUInt64LE(8));
  if (!Number.isSafeInteger(recordOffset) || recordOffset + 56 > eocdOffset - 20) return 0;
  const record = await file.read(recordOffset, 56);
  if (record.readUInt32LE(0) !== SIGNATURE.zip64EndOfCentralDirectory) return 0;
  const count = Number(record.readBigUInt64LE(32));
  return Number.isSafeInteger(count) ? count : Number.MAX_SAFE_INTEGER;
}

function parseCentralDirectory(directory: Buffer, entryCount: number): { entries: ZipEntry[]; findings: Finding[]; readable: boolean } {
  const entries: ZipEntry[] = [];
  const findings: Finding[] = [];
  const stop = (message: string) => {
    findings.push(finding('zip_invalid', message));
    return { entries, findings, readable: false };
  };
  let at = 0;
  for (let index = 0; index < entryCount; index++) {
    if (at + CENTRAL_HEADER_SIZE > directory.length || directory.readUInt32LE(at) !== SIGNATURE.centralHeader) {
      return stop(`central directory record ${index + 1} of ${entryCount} is missing or damaged`);
    }
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const end = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
    if (end > directory.length) return stop(`central directory record ${index + 1} runs past the end of the central directory`);

    const nameBytes = Buffer.from(directory.subarray(at + CENTRAL_HEADER_SIZE, at + CENTRAL_HEADER_SIZE + nameLength));
    const flags = directory.readUInt16LE(at + 8);
    const name = decodeName(nameBytes, flags, findings);
    const where = { file: name };
    const extra = directory.subarray(at + CENTRAL_HEADER_SIZE + nameLength, at + CENTRAL_HEADER_SIZE + nameLength + extraLength);
    const sizes = readSizes(
      { size: directory.readUInt32LE(at + 24), compressedSize: directory.readUInt32LE(at + 20), offset: directory.readUInt32LE(at + 42) },
      extra,
    );
    if (sizes === null) return stop(`the ZIP64 extra field of ${JSON.stringify(name)} is missing or malformed`);
    const { size, compressedSize, offset: localHeaderOffset } = sizes;
    if (directory.readUInt16LE(at + 34) !== 0) return stop(`${JSON.stringify(name)} claims to start on another disk`);
    const unicodePath = findExtraField(extra, UNICODE_PATH_EXTRA);
    if (unicodePath === 'malformed' || (unicodePath !== null && unicodePath.length < 5)) {
      findings.push(finding('zip_invalid', `the extra field of ${JSON.stringify(name)} is malformed`, where));
    } else if (unicodePath !== null && lenientUtf8.decode(unicodePath.subarray(5)) !== name) {
      // Some extractors prefer this field's name over the header's: both must name the same file.
      findings.push(finding('path_invalid', `${JSON.stringify(name)} carries a Unicode-path extra field naming a different file`, where));
    }

    const method = directory.readUInt16LE(at + 10);
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS)) {
      findings.push(finding('zip_encrypted', `${JSON.stringify(name)} is encrypted`, where));
    } else if (method !== METHOD_STORED && method !== METHOD_DEFLATE) {
      findings.push(finding('zip_unsupported_compression', `${JSON.stringify(name)} uses compression method ${method}; only STORED (0) and DEFLATE (8) are allowed`, where));
    }

    entries.push({
      index,
      name,
      nameBytes,
      isDirectory: name.endsWith('/'),
      versionMadeBy: directory.readUInt16LE(at + 4),
      flags,
      method,
      crc32: directory.readUInt32LE(at + 16),
      compressedSize,
      size,
      localHeaderOffset,
      externalAttributes: directory.readUInt32LE(at + 38),
      dataOffset: -1,
    });
    at = end;
  }
  if (at !== directory.length) return stop(`the central directory has ${directory.length - at} bytes after its last record`);
  return { entries, findings, readable: true };
}

interface Sizes {
  size: number;
  compressedSize: number;
  offset: number;
}

/**
 * Replaces the 32-bit values that are 0xffffffff by those of the ZIP64 extra field, which holds
 * exactly those values, in this order. Null when the field is missing, short or out of range.
 */
function readSizes(header: Sizes, extra: Buffer): Sizes | null {
  const keys = (['size', 'compressedSize', 'offset'] as const).filter((key) => header[key] === 0xffffffff);
  if (keys.length === 0) return header;
  const field = findExtraField(extra, ZIP64_EXTRA);
  if (field === null || field === 'malformed' || field.length < keys.length * 8) return null;
  const result = { ...header };
  for (const [i, key] of keys.entries()) {
    const value = Number(field.readBigUInt64LE(i * 8));
    if (!Number.isSafeInteger(value)) return null;
    result[key] = value;
  }
  return result;
}

function checkDeclaredSizes(entries: readonly ZipEntry[], limits: LayoutLimits): Finding[] {
  const findings: Finding[] = [];
  let total = 0;
  for (const entry of entries) {
    total += entry.size;
    if (entry.size > limits.maxFileBytes) {
      const message = `${JSON.stringify(entry.name)} declares ${entry.size} bytes; the limit for one file is ${limits.maxFileBytes}`;
      findings.push(finding('zip_file_too_large', message, { file: entry.name }));
    }
  }
  if (total > limits.maxTotalBytes) {
    findings.push(finding('zip_total_too_large', `the entries declare ${total} bytes in total; the limit is ${limits.maxTotalBytes}`));
  }
  return findings;
}

function decodeName(bytes: Buffer, flags: number, findings: Finding[]): string {
  if (flags & FLAG_UTF8) {
    try {
      return utf8.decode(bytes);
    } catch {
      const name = lenientUtf8.decode(bytes);
      findings.push(finding('path_invalid', `entry name ${JSON.stringify(name)} is not valid UTF-8`, { file: name }));
      return name;
    }
  }
  if (bytes.every((byte) => byte < 0x80)) return bytes.toString('latin1');
  // Without the UTF-8 flag, tools guess the code page (CP437, Shift-JIS, …) and extract different names.
  const name = lenientUtf8.decode(bytes);
  findings.push(finding('path_invalid', `entry name ${JSON.stringify(name)} has non-ASCII bytes but no UTF-8 flag; different tools would decode it differently`, { file: name }));
  return name;
}

/** The data of the first extra field with `id`, null when absent, 'malformed' when the block does not parse. */
function findExtraField(extra: Buffer, id: number): Buffer | null | 'malformed' {
  let at = 0;
  let result: Buffer | null = null;
  while (at < extra.length) {
    if (at + 4 > extra.length) return 'malformed';
    const fieldId = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (at + 4 + length > extra.length) return 'malformed';
    if (fieldId === id && result === null) result = extra.subarray(at + 4, at + 4 + length);
    at += 4 + length;
  }
  return result;
}

export interface LocalHeader {
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** The sizes came from a ZIP64 extra field: a data descriptor then holds 8-byte sizes. */
  zip64: boolean;
  /** Fixed part, name and extra field: the entry's data starts this many bytes after the header. */
  length: number;
}

export const LOCAL_HEADER_FIXED_BYTES = LOCAL_HEADER_SIZE;

/** Whether `bytes` (at least 4) start with a local header signature. */
export function isLocalHeader(bytes: Buffer): boolean {
  return bytes.readUInt32LE(0) === SIGNATURE.localHeader;
}

/** Length of a whole local header from its fixed part (the first 30 bytes). */
export function localHeaderLength(fixed: Buffer): number {
  return LOCAL_HEADER_SIZE + fixed.readUInt16LE(26) + fixed.readUInt16LE(28);
}

/**
 * The values of a local header; `header` holds it whole (see localHeaderLength). Null when the
 * ZIP64 extra field its sizes defer to is missing or malformed.
 */
export function readLocalHeader(header: Buffer): LocalHeader | null {
  const nameLength = header.readUInt16LE(26);
  const length = localHeaderLength(header);
  const extra = header.subarray(LOCAL_HEADER_SIZE + nameLength, length);
  const zip64 = header.readUInt32LE(18) === 0xffffffff || header.readUInt32LE(22) === 0xffffffff;
  // A local ZIP64 field holds both sizes whenever either is too big for 32 bits.
  const sizes = zip64
    ? readSizes({ size: 0xffffffff, compressedSize: 0xffffffff, offset: 0 }, extra)
    : { size: header.readUInt32LE(22), compressedSize: header.readUInt32LE(18), offset: 0 };
  if (sizes === null) return null;
  return {
    flags: header.readUInt16LE(6),
    method: header.readUInt16LE(8),
    crc32: header.readUInt32LE(14),
    compressedSize: sizes.compressedSize,
    size: sizes.size,
    zip64,
    length,
  };
}

/** Length of the data descriptor at the start of `bytes` (at least 4), which follows an entry of `zip64` sizes. */
export function dataDescriptorLength(bytes: Buffer, zip64: boolean): number {
  // The signature is optional; without it the descriptor starts with the CRC-32.
  const bare = 4 + 2 * (zip64 ? 8 : 4);
  return bytes.readUInt32LE(0) === SIGNATURE.dataDescriptor ? bare + 4 : bare;
}

/**
 * Reads every local header (and data descriptor), compares it with the central directory, and
 * checks that the entries tile the area before the central directory exactly: no bytes before the
 * first entry, none between entries, and no two entries sharing bytes (the overlapping-entry zip bomb).
 */
async function checkLocalHeaders(file: FileReader, entries: ZipEntry[], areaEnd: number): Promise<{ findings: Finding[]; readable: boolean }> {
  const findings: Finding[] = [];
  let readable = true;
  const spans: { start: number; end: number; name: string }[] = [];

  for (const entry of entries) {
    const where = { file: entry.name };
    const shown = JSON.stringify(entry.name);
    const problem = (code: 'zip_invalid' | 'zip_header_mismatch', message: string) => {
      findings.push(finding(code, message, where));
      readable = false;
    };
    if (entry.localHeaderOffset + LOCAL_HEADER_SIZE > areaEnd) {
      problem('zip_invalid', `the local header of ${shown} points into or past the central directory`);
      continue;
    }
    const wanted = Math.min(LOCAL_HEADER_SIZE + entry.nameBytes.length + LOCAL_READ_SLACK, areaEnd - entry.localHeaderOffset);
    let header = await file.read(entry.localHeaderOffset, wanted);
    if (header.readUInt32LE(0) !== SIGNATURE.localHeader) {
      problem('zip_invalid', `there is no local header where the central directory places ${shown}`);
      continue;
    }
    const nameLength = header.readUInt16LE(26);
    const extraLength = header.readUInt16LE(28);
    const dataOffset = entry.localHeaderOffset + LOCAL_HEADER_SIZE + nameLength + extraLength;
    if (dataOffset > areaEnd) {
      problem('zip_invalid', `the local header of ${shown} runs into the central directory`);
      continue;
    }
    const localName = header.subarray(LOCAL_HEADER_SIZE, LOCAL_HEADER_SIZE + nameLength);
    if (!localName.equals(entry.nameBytes)) {
      problem('zip_header_mismatch', `the local header names ${JSON.stringify(lenientUtf8.decode(localName))} but the central directory names ${shown}`);
    }
    const localFlags = header.readUInt16LE(6);
    if ((localFlags & FLAGS_COMPARED) !== (entry.flags & FLAGS_COMPARED)) {
      problem('zip_header_mismatch', `the local header and the central directory give ${shown} different flags`);
    }
    if (header.readUInt16LE(8) !== entry.method) {
      problem('zip_header_mismatch', `the local header and the central directory give ${shown} different compression methods`);
    }
    if (LOCAL_HEADER_SIZE + nameLength + extraLength > header.length) {
      header = await file.read(entry.localHeaderOffset, LOCAL_HEADER_SIZE + nameLength + extraLength);
    }
    const local = readLocalHeader(header);
    if (local === null) {
      problem('zip_invalid', `the ZIP64 extra field in the local header of ${shown} is missing or malformed`);
      continue;
    }
    // With a data descriptor the local header may leave the three values zero.
    const deferred = (entry.flags & FLAG_DATA_DESCRIPTOR) !== 0 && local.crc32 === 0 && local.compressedSize === 0 && local.size === 0;
    if (!deferred && !sameSizes(local, entry)) {
      problem('zip_header_mismatch', `the local header and the central directory disagree on the CRC-32 or sizes of ${shown}`);
    }

    const dataEnd = dataOffset + entry.compressedSize;
    if (dataEnd > areaEnd) {
      problem('zip_invalid', `the data of ${shown} runs into the central directory`);
      continue;
    }
    entry.dataOffset = dataOffset;
    let end = dataEnd;
    if (entry.flags & FLAG_DATA_DESCRIPTOR) {
      const descriptor = await readDataDescriptor(file, dataEnd, areaEnd, local.zip64);
      if (descriptor === null) {
        problem('zip_invalid', `the data descriptor of ${shown} is missing`);
        continue;
      }
      if (!sameSizes(descriptor, entry)) {
        problem('zip_header_mismatch', `the data descriptor and the central directory disagree on the CRC-32 or sizes of ${shown}`);
      }
      end += descriptor.length;
    }
    spans.push({ start: entry.localHeaderOffset, end, name: entry.name });
  }

  spans.sort((a, b) => a.start - b.start);
  let cursor = 0;
  let previous: string | null = null;
  for (const span of spans) {
    if (span.start < cursor) {
      findings.push(finding('zip_invalid', `entries ${JSON.stringify(previous)} and ${JSON.stringify(span.name)} share bytes`, { file: span.name }));
      readable = false;
    } else if (span.start > cursor) {
      const place = previous === null ? 'before the first entry' : `between ${JSON.stringify(previous)} and ${JSON.stringify(span.name)}`;
      findings.push(finding('zip_extra_data', `${span.start - cursor} unexplained bytes ${place}`));
    }
    cursor = Math.max(cursor, span.end);
    previous = span.name;
  }
  if (readable && cursor < areaEnd) {
    const place = previous === null ? 'before the central directory' : `between ${JSON.stringify(previous)} and the central directory`;
    findings.push(finding('zip_extra_data', `${areaEnd - cursor} unexplained bytes ${place}`));
  }
  return { findings, readable };
}

function sameSizes(a: { crc32: number; compressedSize: number; size: number }, b: ZipEntry): boolean {
  return a.crc32 === b.crc32 && a.compressedSize === b.compressedSize && a.size === b.size;
}

async function readDataDescriptor(file: FileReader, at: number, areaEnd: number, zip64: boolean): Promise<{ crc32: number; compressedSize: number; size: number; length: number } | null> {
  // After a ZIP64 local header the two sizes are 8 bytes each. The signature is optional.
  const sizeBytes = zip64 ? 8 : 4;
  const bare = 4 + 2 * sizeBytes;
  const available = Math.min(bare + 4, areaEnd - at);
  if (available < bare) return null;
  const bytes = await file.read(at, available);
  const start = available === bare + 4 && bytes.readUInt32LE(0) === SIGNATURE.dataDescriptor ? 4 : 0;
  const read = (offset: number) => (zip64 ? Number(bytes.readBigUInt64LE(offset)) : bytes.readUInt32LE(offset));
  return { crc32: bytes.readUInt32LE(start), compressedSize: read(start + 4), size: read(start + 4 + sizeBytes), length: start + bare };
}
