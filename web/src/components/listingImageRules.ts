/**
 * The rules the portal applies to listing images (src/features/apps/image-codec.ts and
 * images.service.ts; docs/store-listing.md), as guidance before an upload. The portal decides:
 * these only warn early, and its refusal (image_dimensions, image_unsupported_type, …) is what the
 * page shows if it comes.
 */
export type ListingImageKind = 'icon' | 'screenshot';

export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
export const MAX_SCREENSHOTS = 8;
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;

export const IMAGE_RULES: Record<ListingImageKind, { minSide: number; maxSide: number; square: boolean; summary: string; storedAs: string }> = {
  icon: {
    minSide: 128,
    maxSide: 1024,
    square: true,
    summary: 'PNG, JPEG or WebP, square, 128 to 1024 pixels per side, up to 10 MB.',
    storedAs: 'Stored as a 512×512 PNG. The store rounds its corners: keep the artwork inside the middle 80 %.',
  },
  screenshot: {
    minSide: 320,
    maxSide: 3840,
    square: false,
    summary: `PNG, JPEG or WebP, 320 to 3840 pixels per side, up to 10 MB; at most ${MAX_SCREENSHOTS} per app.`,
    storedAs: 'PNG stays PNG (best for text); JPEG and WebP become WebP. Shown in upload order. Capture at the device’s own resolution.',
  },
};

/** What the portal would refuse about a file, said before uploading it (null: nothing known). */
export function imageWarnings(kind: ListingImageKind, file: File, size: { width: number; height: number } | null): string[] {
  const rules = IMAGE_RULES[kind];
  const warnings: string[] = [];
  if (file.size > MAX_IMAGE_BYTES) warnings.push(`It is ${(file.size / 1024 / 1024).toFixed(1)} MiB; the limit is 10 MiB.`);
  if (file.type !== '' && !(IMAGE_TYPES as readonly string[]).includes(file.type)) warnings.push('It is not a PNG, JPEG or WebP image.');
  if (size) {
    const { width, height } = size;
    const ok = (n: number) => n >= rules.minSide && n <= rules.maxSide;
    if (!ok(width) || !ok(height)) warnings.push(`It is ${width}×${height}; each side must be ${rules.minSide} to ${rules.maxSide} pixels.`);
    if (rules.square && width !== height) warnings.push(`It is ${width}×${height}; an icon must be square. Crop it to ${Math.min(width, height)}×${Math.min(width, height)}.`);
  }
  return warnings;
}

/** The content type to send: the file's own when the portal takes it, otherwise bytes for the portal to sniff. */
export function imageContentType(file: File): string {
  return (IMAGE_TYPES as readonly string[]).includes(file.type) ? file.type : 'application/octet-stream';
}
