import { z } from 'zod';
import { pageQuery } from '../../http/pagination.js';

export const AUDIT_ACTIONS = [
  'user.registered',
  'login.succeeded',
  'login.failed',
  'logout',
  'refresh_token.reused',
  'email.verified',
  'password.changed',
  'password.reset',
  'api_key.created',
  'api_key.revoked',
  'role.changed',
  'user.suspended',
  'user.reactivated',
  'admin.created',
  'totp.enabled',
  'totp.disabled',
  'recovery_code.used',
  'oauth.account_created',
  'oauth.linked',
  'signing_key.registered',
  'signing_key.revoked',
  'app.deleted',
  'access.denied',
  'access.denied_suppressed',
  'account.taken_over',
  'register.email_taken',
  'job.retried',
  'job.discarded',
  'session.revoked',
  'recovery_codes.regenerated',
  'profile.updated',
  'version.approved',
  'version.rejected',
  'version.yanked',
  'version.halted',
  'version.published',
  'version.rollout_changed',
  'app.release_settings_changed',
  'webhook.created',
  'webhook.deleted',
  'webhook.updated',
  'webhook.secret_rotated',
  'device.approved',
  'device.denied',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

const isoTime = z.iso.datetime({ offset: true }).transform((v) => new Date(v).toISOString());

export const auditQuery = pageQuery
  .extend({
    actor_id: z.string().min(1).max(64).optional(),
    action: z.enum(AUDIT_ACTIONS).optional(),
    target_id: z.string().min(1).max(64).optional(),
    from: isoTime.optional().describe('Only entries at or after this time'),
    to: isoTime.optional().describe('Only entries before this time'),
  })
  .strict();

export const auditEntryResponse = z
  .object({
    id: z.string(),
    at: z.string(),
    actor_id: z.string().nullable(),
    actor_email: z.string().nullable().describe("The actor's email address, when the actor is a user of this portal"),
    action: z.string(),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    target_email: z.string().nullable().describe("The target's email address, when the target is a user"),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });

export type AuditQuery = z.infer<typeof auditQuery>;
export type AuditEntryResponse = z.infer<typeof auditEntryResponse>;
