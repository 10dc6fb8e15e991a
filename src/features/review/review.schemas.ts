import { z } from 'zod';
import { pageQuery } from '../../http/pagination.js';
import { PERMISSIONS } from '../../package/index.js';
import { REVIEW_DECISIONS } from '../versions/index.js';

export const reviewParams = z.object({ version_id: z.string().min(1).max(64) });

export const queueQuery = pageQuery
  .extend({
    app_id: z.string().min(1).max(64).optional().describe('Only versions of this app'),
    claimed: z.literal('me').optional().describe('"me": only the versions the caller holds a live claim on'),
  })
  .strict();

export const decisionBody = z
  .object({
    decision: z.enum(REVIEW_DECISIONS),
    // Notes go to the developer (and into the audit log): required to reject, bounded either way.
    notes: z.string().trim().max(4000).optional(),
  })
  .strict();

const claimSchema = z.object({ reviewer_id: z.string(), reviewer_name: z.string().nullable(), expires_at: z.string() }).nullable();

const checksSummary = z.object({
  errors: z.number().int(),
  warnings: z.number().int(),
  by_tier: z.object({ '1': z.number().int(), '2': z.number().int(), '3': z.number().int() }),
});

export const queueItemResponse = z
  .object({
    version: z.object({
      id: z.string(),
      version: z.string(),
      version_code: z.number().int(),
      size: z.number().int(),
      permissions: z.array(z.string()),
      created_at: z.string(),
    }),
    app: z.object({ id: z.string(), package_id: z.string(), name: z.string() }),
    developer: z.object({ id: z.string(), name: z.string() }),
    checks_summary: checksSummary,
    waiting_since: z.string(),
    claim: claimSchema,
  })
  .meta({ id: 'ReviewQueueItem' });

export const claimResponse = z.object({ version_id: z.string(), reviewer_id: z.string(), expires_at: z.string() });

const findingItem = z.object({
  tier: z.number().int(),
  severity: z.enum(['error', 'warning']),
  code: z.string(),
  message: z.string(),
  file: z.string().optional(),
  line: z.number().int().optional(),
});

const permissionChange = z.object({ permission: z.enum(PERMISSIONS), risk: z.enum(['low', 'medium', 'high']), why: z.string() });

export const reviewDetailResponse = z
  .object({
    version: z.object({
      id: z.string(),
      app_id: z.string(),
      version: z.string(),
      version_code: z.number().int(),
      status: z.string(),
      sha256: z.string(),
      size: z.number().int(),
      release_notes: z.string().nullable(),
      created_at: z.string(),
    }),
    app: z.object({ id: z.string(), package_id: z.string(), name: z.string() }),
    developer: z.object({ id: z.string(), name: z.string() }),
    manifest: z.record(z.string(), z.unknown()),
    files: z.array(z.object({ path: z.string(), size: z.number().int() })).nullable().describe('null for versions uploaded before files were kept'),
    findings: z.object({ '1': z.array(findingItem), '2': z.array(findingItem), '3': z.array(findingItem) }).describe('Grouped by tier'),
    permission_changes: z.object({
      baseline_version_code: z.number().int().nullable().describe('The last published version compared against (null: none yet)'),
      added: z.array(permissionChange),
      removed: z.array(permissionChange),
    }),
    previous_decisions: z.array(
      z.object({
        version_id: z.string(),
        version: z.string(),
        version_code: z.number().int(),
        decision: z.enum(REVIEW_DECISIONS),
        notes: z.string().nullable(),
        reviewer_name: z.string().nullable(),
        decided_at: z.string(),
      }),
    ),
    claim: claimSchema,
    download_url: z.string(),
  })
  .meta({ id: 'ReviewItem' });

export const decisionResponse = z.object({
  version_id: z.string(),
  status: z.enum(['approved', 'rejected', 'published']).describe('published when the app publishes on approval'),
  review: z.object({ decision: z.enum(REVIEW_DECISIONS), notes: z.string().nullable(), reviewer_name: z.string().nullable(), decided_at: z.string() }),
});

export type QueueItemResponse = z.infer<typeof queueItemResponse>;
export type ReviewDetailResponse = z.infer<typeof reviewDetailResponse>;
export type DecisionResponse = z.infer<typeof decisionResponse>;
export type DecisionInput = z.infer<typeof decisionBody>;
