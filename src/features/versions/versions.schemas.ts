import { z } from 'zod';
import { pageQuery } from '../../http/pagination.js';
import { CHANNELS, REVIEW_DECISIONS, VERSION_STATUSES } from './versions.table.js';

export const versionParams = z.object({ app_id: z.string().min(1).max(64), version_id: z.string().min(1).max(64) });

export const uploadQuery = z.object({
  dry_run: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export const listVersionsQuery = pageQuery.extend({
  status: z.enum(VERSION_STATUSES).optional(),
});

export const updateVersionBody = z
  .object({
    release_notes: z.string().trim().max(4000).nullable(),
  })
  .strict();

export const findingSchema = z
  .object({
    tier: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    severity: z.enum(['error', 'warning']),
    code: z.string(),
    message: z.string(),
    file: z.string().optional(),
    line: z.number().int().optional(),
  })
  .meta({ id: 'Finding' });

export const versionResponse = z
  .object({
    id: z.string(),
    app_id: z.string(),
    version: z.string(),
    version_code: z.number().int(),
    status: z.enum(VERSION_STATUSES),
    sha256: z.string(),
    size: z.number().int(),
    permissions: z.array(z.string()),
    release_notes: z.string().nullable(),
    checks: z.array(findingSchema),
    review: z
      .object({ decision: z.enum(REVIEW_DECISIONS), notes: z.string().nullable(), reviewer_name: z.string().nullable(), decided_at: z.string() })
      .nullable()
      .describe('The review decision, once a reviewer made one'),
    channel: z.enum(CHANNELS).nullable(),
    rollout_percent: z.number().int().nullable(),
    created_at: z.string(),
    published_at: z.string().nullable(),
  })
  .meta({ id: 'Version' });

export const dryRunResponse = z
  .object({
    dry_run: z.literal(true),
    version: z.string(),
    version_code: z.number().int(),
    sha256: z.string(),
    size: z.number().int(),
    permissions: z.array(z.string()),
    checks: z.array(findingSchema),
  })
  .meta({ id: 'DryRunResult' });

export type VersionResponse = z.infer<typeof versionResponse>;
export type DryRunResponse = z.infer<typeof dryRunResponse>;
