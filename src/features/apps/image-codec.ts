import pLimit from 'p-limit';
import type { default as SharpCodec, Metadata, Sharp } from 'sharp';
import { AppError } from '../../shared/index.js';
import { appsError } from './apps.errors.js';

/** What an uploaded image must be and what it becomes. */
export interface ImagePolicy {
  /** Shortest and longest accepted side, in pixels, after EXIF orientation. */
  minSide: number;
  maxSide: number;
  square: boolean;
  /** Re-encodes the decoded image; only pixels survive, no metadata. */
  encode(image: Sharp, sourceFormat: AcceptedFormat): Sharp;
}

export type AcceptedFormat = 'png' | 'jpeg' | 'webp';

export interface EncodedImage {
  data: Buffer;
  width: number;
  height: number;
  contentType: 'image/png' | 'image/webp';
}

const ACCEPTED = new Set<string>(['png', 'jpeg', 'webp']);
/**
 * Any header declaring more pixels than this is treated as a decompression bomb (image_invalid)
 * rather than as merely too large (image_dimensions): no real icon or screenshot comes near it.
 */
const BOMB_PIXELS = 10_000 * 10_000;

export const ICON_POLICY: ImagePolicy = {
  minSide: 128,
  maxSide: 1024,
  square: true,
  encode: (image) => image.resize(512, 512, { fit: 'fill' }).png(),
};

export const SCREENSHOT_POLICY: ImagePolicy = {
  minSide: 320,
  maxSide: 3840,
  square: false,
  // Lossless sources (UI captures with text) stay lossless; photos become WebP.
  encode: (image, format) => (format === 'png' ? image.png() : image.webp({ quality: 85 })),
};

/**
 * Reads the staged upload at `file`, checks format and dimensions from its header, then decodes it
 * with a pixel limit equal to the largest accepted image and re-encodes it. sharp writes no
 * metadata (EXIF, XMP, ICC, comments) unless asked to, so the output carries pixels only.
 */
export function reencodeImage(file: string, policy: ImagePolicy): Promise<EncodedImage> {
  return decodeSlots(() => reencode(file, policy));
}

// A decoded screenshot can take ~60 MB: at most two decode at once (one per core), the rest wait
// their turn, so a burst of uploads cannot run the NAS out of memory.
const decodeSlots = pLimit(2);
type Codec = typeof SharpCodec;
let codec: Promise<Codec> | undefined;
/**
 * sharp, loaded with the first image rather than at start: libvips costs about 15 MiB of memory,
 * and most portal processes (a NAS's between uploads, a CLI verb, a job worker) decode none.
 */
function sharpCodec(): Promise<Codec> {
  codec ??= import('sharp').then(
    ({ default: sharp }) => {
      // libvips' operation cache would keep decoded uploads around; every image here is seen once.
      sharp.cache(false);
      return sharp;
    },
    (err: unknown) => {
      // Not remembered: the next upload tries again (and fails as loudly, not from a cache).
      codec = undefined;
      throw err;
    },
  );
  return codec;
}

async function reencode(file: string, policy: ImagePolicy): Promise<EncodedImage> {
  const sharp = await sharpCodec();
  const { format, width, height } = await inspect(sharp, file);
  const sideOk = (n: number) => n >= policy.minSide && n <= policy.maxSide;
  if (!sideOk(width) || !sideOk(height) || (policy.square && width !== height)) {
    throw appsError(
      'image_dimensions',
      `The image is ${width}×${height}; it must be ${policy.square ? 'square, ' : ''}between ${policy.minSide} and ${policy.maxSide} pixels per side.`,
    );
  }
  try {
    const decoder = sharp(file, { limitInputPixels: policy.maxSide * policy.maxSide, failOn: 'warning' }).autoOrient();
    const { data, info } = await policy.encode(decoder, format).toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, contentType: info.format === 'png' ? 'image/png' : 'image/webp' };
  } catch (err) {
    throw imageInvalid(err);
  }
}

async function inspect(sharp: Codec, file: string): Promise<{ format: AcceptedFormat; width: number; height: number }> {
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: BOMB_PIXELS }).metadata();
  } catch (err) {
    if (err instanceof Error && /unsupported image format/i.test(err.message)) throw unsupported();
    throw imageInvalid(err);
  }
  if (!ACCEPTED.has(meta.format)) throw unsupported();
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  return { format: meta.format as AcceptedFormat, width, height };
}

const unsupported = () => appsError('image_unsupported_type', 'The file is not a PNG, JPEG or WebP image.');

function imageInvalid(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const reason = err instanceof Error && /pixel limit/i.test(err.message) ? 'it declares more pixels than any accepted image' : 'it is damaged or truncated';
  return appsError('image_invalid', `The image cannot be decoded: ${reason}.`);
}
