/**
 * How the store and review pages write sizes, counts, categories and languages: in the reader's
 * own locale (the browser's), so "1.2 MB" and "3,4 k" read as people expect.
 */

const byteUnits = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;

/** 1536 → "1.5 kB" (decimal units, as file managers and stores show them). */
export function formatBytes(bytes: number): string {
  // Intl writes "929 byte" for the short unit: whole bytes are counted in words.
  if (bytes < 1000) return `${new Intl.NumberFormat().format(bytes)} ${bytes === 1 ? 'byte' : 'bytes'}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < byteUnits.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(undefined, { style: 'unit', unit: byteUnits[unit], unitDisplay: 'short', maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value);
}

/** 12345 → "12K": counts on cards, where the exact number is in the title. */
export function formatCount(count: number): string {
  return new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(count);
}

export function formatNumber(count: number): string {
  return new Intl.NumberFormat().format(count);
}

/** "dev-tools" → "Dev tools": categories are slugs in the API. */
export function categoryLabel(slug: string): string {
  const words = slug.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

let languageNames: Intl.DisplayNames | null | undefined;

/** "de-CH" → "German (Switzerland)", in the reader's language; the tag itself when the browser cannot say. */
export function languageName(tag: string): string {
  if (languageNames === undefined) {
    try {
      languageNames = new Intl.DisplayNames(undefined, { type: 'language' });
    } catch {
      languageNames = null;
    }
  }
  try {
    return languageNames?.of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** Whole days between two moments (for "waiting 3 days"). */
export function daysBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / 86_400_000);
}
