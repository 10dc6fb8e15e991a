import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { TestPortal } from './portal.js';
import type { TestUser } from './api.js';

/** Test images, made with sharp so their bytes are real encoder output. */
type Rgb = { r: number; g: number; b: number };

function canvas(width: number, height: number, background: Rgb = { r: 200, g: 40, b: 90 }) {
  return sharp({ create: { width, height, channels: 3, background } });
}

export function png(width: number, height: number, background?: Rgb): Promise<Buffer> {
  return canvas(width, height, background).png().toBuffer();
}

export function webp(width: number, height: number, background?: Rgb): Promise<Buffer> {
  return canvas(width, height, background).webp().toBuffer();
}

export function gif(width: number, height: number): Promise<Buffer> {
  return canvas(width, height).gif().toBuffer();
}

/** Strings planted in EXIF that must never reach a served image. */
export const EXIF_SECRETS = ['SECRET-ARTIST-42', 'GPS-SECRET-HOME'];

/** A JPEG carrying EXIF (artist, description) and, optionally, an orientation tag. */
export function jpegWithExif(width: number, height: number, orientation?: number): Promise<Buffer> {
  let image = canvas(width, height)
    .jpeg()
    .withExif({ IFD0: { Artist: EXIF_SECRETS[0] ?? '', ImageDescription: EXIF_SECRETS[1] ?? '' } });
  if (orientation !== undefined) image = image.withMetadata({ orientation });
  return image.toBuffer();
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a PNG of about 2 KB whose header declares `side`×`side` grey pixels
 * (20000² = 400 megapixels) over a short run of deflated zeros.
 */
export function pngBomb(side = 20_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc((side + 1) * 100))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function multipart(field: string, filename: string, contentType: string, data: Buffer): { payload: Buffer; contentType: string } {
  const boundary = '----mosis-image-boundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`);
  return { payload: Buffer.concat([head, data, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Uploads an image as a raw body of the given content type. */
export function uploadImage(p: TestPortal, user: TestUser, url: string, data: Buffer, contentType = 'image/png') {
  return p.app.inject({ method: 'POST', url, headers: { ...user.auth, 'content-type': contentType }, payload: data });
}

export async function storedBlobs(p: TestPortal): Promise<string[]> {
  const found: string[] = [];
  for await (const hash of p.blobs.list()) found.push(hash);
  return found.sort();
}

export async function imageRows(p: TestPortal) {
  return p.database.db.selectFrom('app_images').selectAll().orderBy('id').execute();
}

/** Fetches a served media URL and reads its pixels' metadata. */
export async function fetchMedia(p: TestPortal, url: string) {
  const res = await p.app.inject({ method: 'GET', url });
  const body = res.rawPayload;
  return { res, body, meta: res.statusCode === 200 ? await sharp(body).metadata() : undefined };
}
