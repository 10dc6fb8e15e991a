import { z } from 'zod';
import { PACKAGE_ID } from '../../package/index.js';
import { STORE_SORTS } from './store-model.js';

export const packageId = z.string().max(255).regex(PACKAGE_ID, 'must be a package id such as com.example.notes');
const versionCode = z.number().int().min(0).max(2_147_483_647);

/** The device headers every store read may carry; each is optional, a malformed one is refused. */
export const deviceHeaders = z.object({
  'x-mosis-device': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits, dots, underscores, colons or hyphens')
    .optional()
    .describe('A stable id of the device: places it in staged rollouts and counts its downloads once a day; stored only as a keyed hash'),
  'x-mosis-version': z
    .string()
    .regex(/^\d{1,9}\.\d{1,9}\.\d{1,9}(?:[-+][0-9A-Za-z.-]{0,64})?$/, 'must be a platform version such as 1.4.0')
    .optional()
    .describe("The device's Mosis platform version: versions needing a newer one are not offered"),
  'x-mosis-channel': z.enum(['stable', 'beta']).optional().describe('beta: also offered beta versions (default stable)'),
});

export const catalogQuery = z.object({
  q: z.string().max(100).optional().describe('Full-text search; each word matches as a prefix'),
  category: z.string().regex(/^[a-z0-9-]{1,32}$/).optional(),
  sort: z.enum([...STORE_SORTS, 'relevance']).optional().describe('popular (default), new, updated, name; relevance (default with q)'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

export const storeAppItem = z.object({
  package_id: z.string(),
  name: z.string(),
  summary: z.string(),
  category: z.string().nullable(),
  locale: z.string().nullable().describe('The translation shown (from Accept-Language); null for the default listing'),
  icon_url: z.string().nullable(),
  downloads: z.number().int().describe('Downloads in the last 30 days'),
  published_at: z.string().nullable(),
  updated_at: z.string().nullable(),
  version: z.string().nullable().describe('The newest stable version at a full rollout'),
  version_code: z.number().int().nullable(),
  size: z.number().int().nullable(),
  sha256: z.string().nullable(),
  author_name: z.string().nullable().describe("Who made the app: author.name of that version's manifest"),
});

export const storeVersion = z.object({
  package_id: z.string(),
  version: z.string(),
  version_code: z.number().int(),
  channel: z.string().nullable(),
  size: z.number().int(),
  sha256: z.string(),
  min_mosis_version: z.string().nullable(),
  permissions: z.array(z.string()),
  release_notes: z.string().nullable(),
  published_at: z.string().nullable(),
  download_url: z.string(),
  store_signature: z.string().nullable().describe('Base64 Ed25519 store signature (PACKAGE.md)'),
  store_key_id: z.string().nullable().describe('The key in /.well-known/mosis-store-keys.json that made it'),
  author: z.object({ name: z.string(), url: z.string().nullable() }).nullable().describe("Who made the app: the manifest's author (its email is not shown)"),
});

export const storeAppDetail = storeAppItem.omit({ version: true, version_code: true, size: true, sha256: true, author_name: true }).extend({
  description: z.string(),
  locales: z.array(z.string()),
  screenshots: z.array(z.object({ url: z.string(), width: z.number().int(), height: z.number().int() })),
  version: storeVersion.nullable().describe('The newest version this device may get (channel, platform, rollout)'),
});

export const catalogPage = z.object({ items: z.array(storeAppItem), next_cursor: z.string().nullable() });
export const versionHistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});
export const versionHistoryPage = z.object({ items: z.array(storeVersion), next_cursor: z.string().nullable() });
export const categoriesResponse = z.object({ items: z.array(z.object({ category: z.string(), apps: z.number().int() })) });
export const updatesResponse = z.object({ updates: z.array(storeVersion) });

export const MAX_QUERY_PAIRS = 200;
export const MAX_INSTALLED = 2000;

export const updatesQuery = z.object({
  pkgs: z.string().max(MAX_QUERY_PAIRS * 270).describe(`package_id:version_code pairs, comma-separated, at most ${MAX_QUERY_PAIRS}`),
});

export const updatesBody = z.object({
  installed: z.array(z.object({ package_id: packageId, version_code: versionCode })).max(MAX_INSTALLED),
});

export const packageParams = z.object({
  package_id: packageId,
  // One spelling per file: no leading zeros.
  file: z.string().regex(/^(0|[1-9]\d{0,9})\.mosis(\.sig)?$/, 'must be <version_code>.mosis or <version_code>.mosis.sig'),
});

export const downloadsQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(30) });
export const downloadsResponse = z.object({
  items: z.array(z.object({ day: z.string(), version_code: z.number().int(), downloads: z.number().int() })),
});

/** `com.a.b:12,com.c.d:3` as pairs; a malformed pair or too many are refused whole, with where. */
export function parsePairs(pkgs: string): { pairs: { package_id: string; version_code: number }[] } | { error: string } {
  const parts = pkgs.split(',', MAX_QUERY_PAIRS + 1);
  if (parts.length > MAX_QUERY_PAIRS) return { error: `at most ${MAX_QUERY_PAIRS} pairs; POST {installed: [...]} takes up to ${MAX_INSTALLED}` };
  const pairs: { package_id: string; version_code: number }[] = [];
  for (const [i, part] of parts.entries()) {
    const at = part.lastIndexOf(':');
    const id = part.slice(0, at);
    const code = part.slice(at + 1);
    if (at <= 0 || id.length > 255 || !PACKAGE_ID.test(id) || !/^\d{1,10}$/.test(code) || Number(code) > 2_147_483_647) {
      return { error: `pair ${i + 1} is not package_id:version_code` };
    }
    pairs.push({ package_id: id, version_code: Number(code) });
  }
  return { pairs };
}
