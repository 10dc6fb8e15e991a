import { z } from 'zod';
import { pageQuery } from '../../http/pagination.js';
import { CHANNELS, REVIEW_DECISIONS, VERSION_EVENT_TYPES, VERSION_STATUSES } from './versions.table.js';

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

export const publishBody = z
  .object({
    channel: z.enum(CHANNELS),
    rollout_percent: z.number().int().min(1).max(100).describe('Share of devices offered the version, by a stable hash of the device'),
  })
  .strict();

export const rolloutBody = z
  .object({
    rollout_percent: z.number().int().min(1).max(100).optional(),
    halted: z.boolean().optional(),
    reason: z.string().trim().min(1).max(1000).optional().describe('Why the rollout is halted (with halted: true)'),
  })
  .strict()
  .refine((b) => (b.rollout_percent === undefined) !== (b.halted === undefined), { message: 'give either rollout_percent or halted' })
  .refine((b) => b.reason === undefined || b.halted === true, { message: 'a reason goes with halted: true' });

export const yankBody = z.object({ reason: z.string().trim().min(1).max(1000).describe('Shown to the developer and kept in the audit log') }).strict();

export type PublishInput = z.infer<typeof publishBody>;
export type RolloutInput = z.infer<typeof rolloutBody>;
export type YankInput = z.infer<typeof yankBody>;

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
    rollout: z
      .object({ halted: z.boolean(), halt_reason: z.string().nullable(), halted_at: z.string().nullable() })
      .nullable()
      .describe('Set once published: whether the rollout is halted, and why'),
    superseded_at: z.string().nullable().describe('When a newer version took this one’s place on its channel'),
    yank: z.object({ reason: z.string(), yanked_at: z.string() }).nullable(),
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

export const versionHistoryEntry = z
  .object({
    id: z.number().int().describe('The event\'s id in the domain event log (the live stream\'s `id:`)'),
    type: z.enum(VERSION_EVENT_TYPES),
    created_at: z.string(),
    actor: z.enum(['owner', 'staff', 'portal']).describe('owner: the app\'s developer (or one of their API keys); staff: a reviewer or admin; portal: the portal itself (the checks, the crash guard)'),
    data: z.record(z.string(), z.unknown()).describe('The event\'s payload, as the live stream and webhooks carry it (docs/live-events.md)'),
  })
  .meta({ id: 'VersionHistoryEntry' });

export const versionHistoryResponse = z.object({
  items: z
    .array(versionHistoryEntry)
    .describe(
      'Oldest first: the events of this version, and those of other versions that changed it (a publish that superseded it, `superseded` naming it; a yank that made it live again, `restored` naming it). At most 1000.',
    ),
});

export type VersionHistoryEntry = z.infer<typeof versionHistoryEntry>;
