/**
 * The BCP-47 subset store listings use: language, optional script, optional region
 * (`en`, `de-CH`, `zh-Hant-TW`, `es-419`). Variants and extensions are refused: a listing is
 * chosen by language and region, nothing finer.
 */
const LOCALE = /^[a-z]{2,3}(-[a-z]{4})?(-([a-z]{2}|[0-9]{3}))?$/i;

export function isListingLocale(tag: string): boolean {
  if (!LOCALE.test(tag)) return false;
  try {
    Intl.getCanonicalLocales(tag);
    return true;
  } catch {
    return false;
  }
}

/**
 * The canonical spelling (`DE-ch` → `de-CH`, `zh-hant-tw` → `zh-Hant-TW`, deprecated codes
 * replaced: `iw` → `he`), so one locale cannot be stored twice under two spellings.
 */
export function canonicalLocale(tag: string): string {
  return Intl.getCanonicalLocales(tag)[0] ?? tag;
}
