import { z } from 'zod';
import { pageQuery } from '../../http/pagination.js';
import { PACKAGE_ID } from '../../package/index.js';
import { APP_STATUSES } from './apps.table.js';

/** PACKAGE.md's rule for a manifest `id`: reverse-domain, lowercase, at least two segments. */
export const packageId = z
  .string()
  .max(255)
  .regex(PACKAGE_ID, 'must be reverse-domain: lowercase letters and digits in two or more segments joined by single periods, e.g. com.example.notes');

export const appIdParams = z.object({ app_id: z.string().min(1).max(64) });

const category = z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be a lowercase slug such as "productivity"');

/** The listing fields, shared by the app itself and its localized listings. */
export const listingName = z.string().trim().min(1).max(50);
export const listingSummary = z.string().trim().max(80);
export const listingDescription = z.string().trim().max(4000);

/** When the crash guard halts a staged rollout of this app. */
const crashGuard = z
  .object({
    crash_free_percent: z.number().min(50).max(100).describe('Halt below this share of crash-free sessions (default 97)'),
    min_sessions: z.number().int().min(10).max(1_000_000).describe('…once the version has this many sessions (default 200)'),
  })
  .strict();

export const createAppBody = z
  .object({
    package_id: packageId,
    name: listingName,
    summary: listingSummary.default(''),
    description: listingDescription.default(''),
    category: category.nullable().default(null),
  })
  .strict();

/**
 * Only the listing fields and auto_publish may be edited: strict, so a body that tries to set the owner, status
 * or package id is refused as a whole instead of half-applied.
 */
export const updateAppBody = z
  .object({
    name: listingName.optional(),
    summary: listingSummary.optional(),
    description: listingDescription.optional(),
    category: category.nullable().optional(),
    auto_publish: z.boolean().optional().describe('Publish each version the moment it is approved (stable, 100 %)'),
    crash_guard: crashGuard.optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'send at least one of name, summary, description, category, auto_publish, crash_guard' });

export const listAppsQuery = pageQuery.extend({
  status: z.enum(APP_STATUSES).optional(),
});

export const screenshotResponse = z
  .object({
    id: z.string(),
    url: z.string().meta({ description: 'Public, immutable, content-addressed path under /v1/media/' }),
    width: z.number().int(),
    height: z.number().int(),
  })
  .meta({ id: 'Screenshot' });

export const appResponse = z
  .object({
    id: z.string(),
    package_id: z.string(),
    name: z.string(),
    summary: z.string(),
    description: z.string(),
    category: z.string().nullable(),
    status: z.enum(APP_STATUSES),
    auto_publish: z.boolean(),
    crash_guard: crashGuard,
    icon_url: z.string().nullable().meta({ description: 'PNG, 512×512; null until an icon is uploaded' }),
    screenshots: z.array(screenshotResponse),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'App' });

export type CreateAppInput = z.infer<typeof createAppBody>;
export type UpdateAppInput = z.infer<typeof updateAppBody>;
export type AppResponse = z.infer<typeof appResponse>;
export type ScreenshotResponse = z.infer<typeof screenshotResponse>;
