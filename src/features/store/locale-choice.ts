/**
 * Which listing a caller reads, from its Accept-Language: the first language it prefers that the
 * app has, exactly (`de-CH`), by a shorter tag (`de-CH` → `de`), or by language alone (`de` → `de-AT`);
 * otherwise the default listing.
 */

const TAG = /^[a-z]{2,3}(?:-[a-z0-9]{2,8}){0,2}$/;
const MAX_PREFERENCES = 6;
const MAX_HEADER = 512;

/** The caller's languages, most preferred first, lower case; at most six, `*` and junk dropped. */
export function preferredLanguages(header: string | undefined): string[] {
  if (!header) return [];
  const weighted: { tag: string; q: number; at: number }[] = [];
  const parts = header.slice(0, MAX_HEADER).split(',');
  for (let at = 0; at < parts.length && weighted.length < 16; at += 1) {
    const [rawTag = '', ...params] = (parts[at] as string).split(';');
    const tag = rawTag.trim().toLowerCase();
    if (!TAG.test(tag)) continue;
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/.exec(param);
      if (match) q = Number(match[1]);
    }
    if (q > 0) weighted.push({ tag, q, at });
  }
  weighted.sort((a, b) => b.q - a.q || a.at - b.at);
  return [...new Set(weighted.map((w) => w.tag))].slice(0, MAX_PREFERENCES);
}

/** The app's locale (canonical spelling) the caller reads, or null for the default listing. */
export function chooseLocale(preferred: readonly string[], locales: readonly string[] | undefined): string | null {
  if (!locales || locales.length === 0 || preferred.length === 0) return null;
  const lower = locales.map((l) => l.toLowerCase());
  for (const tag of preferred) {
    for (let cut = tag; cut.length > 0; cut = cut.slice(0, Math.max(0, cut.lastIndexOf('-')))) {
      const i = lower.indexOf(cut);
      if (i >= 0) return locales[i] as string;
      if (!cut.includes('-')) break;
    }
    const language = tag.split('-')[0] as string;
    const i = lower.findIndex((l) => l.split('-')[0] === language);
    if (i >= 0) return locales[i] as string;
  }
  return null;
}
