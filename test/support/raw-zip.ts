import { crc32, deflateRawSync } from 'node:zlib';

/**
 * The one hand-made ZIP writer of the tests (unit tests under src/package/, the hostile-package
 * suite, bench/). It writes archives byte by byte because no ZIP library produces broken ones on
 * purpose. Unset fields take the values an honest writer would use; each option breaks one thing.
 */

/** One entry of a hand-made archive. */
export interface RawEntry {
  /** Name in the central directory (a Buffer for bytes that are not valid UTF-8). */
  name: string | Buffer;
  /** Uncompressed bytes; compressed with DEFLATE unless `method` says otherwise. */
  data?: Buffer;
  /** Bytes written after the local header, when they must not be derived from `data`. */
  compressed?: Buffer;
  /** Compression method: 0 STORED, 8 DEFLATE (default); any other value stores `data` as is. */
  method?: number;
  /** General purpose flags of both headers (bit 11, UTF-8 names, is always added). */
  flags?: number;
  /** CRC-32 declared in both headers instead of the one of `data`. */
  crc32?: number;
  /** Compressed size declared in both headers instead of the real one. */
  compressedSize?: number;
  /** Declared uncompressed size; from 0xffffffff up it goes in a ZIP64 extra field of both headers. */
  uncompressedSize?: number;
  /** Central directory "version made by": the high byte is the host (3, Unix, by default). */
  versionMadeBy?: number;
  /** Central directory external attributes: the Unix mode lives in the high 16 bits. */
  externalAttributes?: number;
  /** Extra field of the central directory record, written after any ZIP64 field the writer adds. */
  centralExtra?: Buffer;
  /** Values the local header says instead, to make it disagree with the central directory. */
  local?: { name?: string | Buffer; method?: number; compressedSize?: number; crc32?: number };
  /** Index of an earlier entry whose local header (and data) this entry reuses: overlapping files. */
  shareLocalHeaderOf?: number;
}

export interface RawZipOptions {
  /** Bytes before the first local header; every offset counts them, as `zip -A` leaves a self-extractor. */
  before?: Buffer;
  /** Bytes hidden between the first entry's data and the next local header. */
  between?: Buffer;
  /** Bytes after the end of central directory record (and its comment). */
  after?: Buffer;
  /** Archive comment of the end of central directory record. */
  comment?: Buffer;
  /** Entry count written in the end records instead of the real one. */
  declaredEntries?: number;
  /** Whether a ZIP64 end record and locator are written; by default only when the count does not fit 16 bits. */
  zip64EndRecord?: boolean;
  /** "Number of this disk" of the end record: anything but 0 claims a split archive. */
  diskNumber?: number;
}

const UTF8_NAMES = 0x0800;
const UNIX_HOST = 3 << 8;
const REGULAR_FILE = (0o100644 << 16) >>> 0;
const ZIP32_MAX = 0xffffffff;
const COUNT16_MAX = 0xffff;
const DOS_DATE_2000_01_01 = 0x2821;

interface WrittenLocal {
  offset: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

/** Writes a ZIP archive, honest or not, as one Buffer. ZIP64 fields appear only when needed or asked for. */
export function rawZip(entries: readonly RawEntry[], options: RawZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (buffer: Buffer): void => {
    parts.push(buffer);
    offset += buffer.length;
  };
  if (options.before !== undefined) push(options.before);

  const locals: WrittenLocal[] = [];
  entries.forEach((entry, index) => {
    const shared = entry.shareLocalHeaderOf === undefined ? undefined : locals[entry.shareLocalHeaderOf];
    if (shared !== undefined) {
      locals.push(shared);
      return;
    }
    const data = entry.data ?? Buffer.alloc(0);
    const method = entry.method ?? 8;
    const payload = entry.compressed ?? (method === 8 ? deflateRawSync(data) : data);
    const written: WrittenLocal = {
      offset,
      method,
      crc32: entry.crc32 ?? crc32(data),
      compressedSize: entry.compressedSize ?? payload.length,
      uncompressedSize: entry.uncompressedSize ?? data.length,
    };
    locals.push(written);
    const name = nameBytes(entry.local?.name ?? entry.name);
    const zip64 = written.uncompressedSize >= ZIP32_MAX || written.compressedSize >= ZIP32_MAX;
    const extra = zip64 ? zip64Extra([written.uncompressedSize, written.compressedSize]) : Buffer.alloc(0);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(zip64 ? 45 : 20, 4);
    header.writeUInt16LE((entry.flags ?? 0) | UTF8_NAMES, 6);
    header.writeUInt16LE(entry.local?.method ?? method, 8);
    header.writeUInt16LE(0, 10); // time
    header.writeUInt16LE(DOS_DATE_2000_01_01, 12);
    header.writeUInt32LE((entry.local?.crc32 ?? written.crc32) >>> 0, 14);
    header.writeUInt32LE(zip64 ? ZIP32_MAX : (entry.local?.compressedSize ?? written.compressedSize), 18);
    header.writeUInt32LE(zip64 ? ZIP32_MAX : written.uncompressedSize, 22);
    header.writeUInt16LE(name.length, 26);
    header.writeUInt16LE(extra.length, 28);
    push(Buffer.concat([header, name, extra, payload]));
    if (index === 0 && options.between !== undefined) push(options.between);
  });

  const centralStart = offset;
  entries.forEach((entry, index) => {
    const local = locals[index];
    if (local === undefined) throw new Error(`entry ${index} has no local header`);
    const name = nameBytes(entry.name);
    const big = [local.uncompressedSize, local.compressedSize, local.offset].map((value) => value >= ZIP32_MAX);
    const zip64 = big.some(Boolean)
      ? zip64Extra([local.uncompressedSize, local.compressedSize, local.offset].filter((_, i) => big[i] === true))
      : Buffer.alloc(0);
    const extra = Buffer.concat([zip64, entry.centralExtra ?? Buffer.alloc(0)]);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(entry.versionMadeBy ?? UNIX_HOST | 45, 4);
    header.writeUInt16LE(big.some(Boolean) ? 45 : 20, 6);
    header.writeUInt16LE((entry.flags ?? 0) | UTF8_NAMES, 8);
    header.writeUInt16LE(local.method, 10);
    header.writeUInt16LE(0, 12); // time
    header.writeUInt16LE(DOS_DATE_2000_01_01, 14);
    header.writeUInt32LE(local.crc32 >>> 0, 16);
    header.writeUInt32LE(big[1] === true ? ZIP32_MAX : local.compressedSize, 20);
    header.writeUInt32LE(big[0] === true ? ZIP32_MAX : local.uncompressedSize, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt16LE(extra.length, 30);
    header.writeUInt16LE(0, 32); // comment length
    header.writeUInt16LE(0, 34); // disk
    header.writeUInt16LE(0, 36); // internal attributes
    header.writeUInt32LE(entry.externalAttributes ?? REGULAR_FILE, 38);
    header.writeUInt32LE(big[2] === true ? ZIP32_MAX : local.offset, 42);
    push(Buffer.concat([header, name, extra]));
  });
  const centralSize = offset - centralStart;

  const count = options.declaredEntries ?? entries.length;
  if (options.zip64EndRecord ?? count >= COUNT16_MAX) {
    // More entries than the classic 16-bit count holds: ZIP64 end record + locator, as real zippers do.
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(UNIX_HOST | 45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(centralSize), 40);
    record.writeBigUInt64LE(BigInt(centralStart), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset), 8);
    locator.writeUInt32LE(1, 16);
    push(Buffer.concat([record, locator]));
  }
  const comment = options.comment ?? Buffer.alloc(0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.diskNumber ?? 0, 4);
  end.writeUInt16LE(Math.min(count, COUNT16_MAX), 8);
  end.writeUInt16LE(Math.min(count, COUNT16_MAX), 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(centralStart, 16);
  end.writeUInt16LE(comment.length, 20);
  push(Buffer.concat([end, comment]));
  if (options.after !== undefined) push(options.after);
  return Buffer.concat(parts);
}

/** The bytes of an entry name: a string as UTF-8, a Buffer as it is. */
export function nameBytes(name: string | Buffer): Buffer {
  return typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
}

function zip64Extra(values: readonly number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, i) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i));
  return extra;
}
