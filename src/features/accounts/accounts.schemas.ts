import { z } from 'zod';
import { pageQuery } from '../../http/pagination.js';
import { PASSWORD_MAX } from './passwords.js';
import { ROLES } from '../../shared/index.js';
import { USER_STATUSES } from './accounts.table.js';

// Bounds on every field: validation refuses oversized input before any work is done on it.
const email = z.email({ message: 'must be an email address' }).max(254).transform((v) => v.toLowerCase());
// The policy (length, common passwords) is a service rule with its own error code; this only
// caps the size so a huge body fails fast with a validation error.
const password = z.string().min(1).max(PASSWORD_MAX * 4);

// Strict: a body that tries to set role, status or email_verified is refused, not silently trimmed.
export const registerBody = z
  .object({
    email,
    password,
    name: z.string().trim().min(1).max(100),
  })
  .strict();

export const loginBody = z
  .object({
    email,
    password,
    totp_code: z.string().max(16).optional().describe('A 6-digit TOTP code or a recovery code, when 2FA is on'),
  })
  .strict();

export const refreshBody = z
  .object({
    refresh_token: z.string().min(1).max(200),
  })
  .strict();

const emailToken = z.string().min(1).max(200);

export const verifyEmailBody = z.object({ token: emailToken }).strict();
export const forgotPasswordBody = z.object({ email }).strict();
export const resetPasswordBody = z.object({ token: emailToken, password }).strict();
export const changePasswordBody = z.object({ current_password: password, new_password: password }).strict();

// The password re-authenticates a 2FA change; accounts without one (OAuth only) leave it out.
export const totpEnableBody = z
  .object({ code: z.string().min(1).max(16), password: password.optional().describe('The current password; required when the account has one') })
  .strict();
export const totpDisableBody = z
  .object({ code: z.string().min(1).max(16), password: password.optional().describe('The current password; required when the account has one') })
  .strict();

export const totpSetupResponse = z
  .object({
    secret: z.string().describe('Base32 secret for the authenticator app'),
    otpauth_url: z.string().describe('otpauth:// URI, for a QR code'),
  })
  .meta({ id: 'TotpSetup' });

export const recoveryCodesResponse = z
  .object({ recovery_codes: z.array(z.string()).describe('Ten single-use codes, shown only in this answer') })
  .meta({ id: 'RecoveryCodes' });

// Regenerating recovery codes re-authenticates like turning TOTP off: a current code and the password.
export const recoveryCodesBody = z
  .object({ code: z.string().min(1).max(16).describe('A current TOTP code or an unused recovery code'), password: password.optional().describe('The current password; required when the account has one') })
  .strict();

export const twoFactorStatusResponse = z
  .object({
    enabled: z.boolean(),
    enabled_at: z.string().nullable(),
    recovery_codes_remaining: z.number().int().describe('Unused recovery codes; 0 when two-factor authentication is off'),
    password_required: z.boolean().describe('Whether turning it on or off needs the current password: false for an account that signs in only through a provider'),
  })
  .meta({ id: 'TwoFactorStatus' });

export const acceptedResponse = z.object({ accepted: z.literal(true) });

// What a person may change of their own account: the name others see (the email has its own checks).
export const updateProfileBody = z.object({ name: z.string().trim().min(1).max(100) }).strict();

export const sessionIdParams = z.object({ id: z.string().min(1).max(64) });

export const accountSessionResponse = z
  .object({
    id: z.string().describe('The web session, or the refresh-token family of an API sign-in'),
    kind: z.enum(['web', 'api']).describe('`web`: a browser signed in to the web UI; `api`: a token sign-in (the mosis CLI, a script)'),
    current: z.boolean().describe('The session this request was made with'),
    signed_in_at: z.string(),
    last_used_at: z.string().describe('Web: the last request (to the minute); API: the last token refresh'),
    expires_at: z.string(),
    ip: z.string().nullable().describe('Web: where it signed in; API: where it last refreshed'),
    user_agent: z.string().nullable(),
    methods: z.array(z.enum(['pwd', 'otp', 'oauth'])).describe('How it signed in (RFC 8176 amr)'),
  })
  .meta({ id: 'AccountSession' });

export const accountSessionsResponse = z.object({ items: z.array(accountSessionResponse) });

export const userResponse = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    email_verified: z.boolean(),
    totp_enabled: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: 'User' });

export const tokenPair = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
});

export const sessionResponse = tokenPair.extend({ user: userResponse }).meta({ id: 'Session' });

export const webSessionResponse = z
  .object({
    user: userResponse,
    csrf_token: z.string().describe('Send as X-CSRF-Token on every write made with the session cookie'),
  })
  .meta({ id: 'WebSession' });

const role = z.enum(ROLES);
const status = z.enum(USER_STATUSES);

export const adminUserResponse = userResponse.extend({ status }).meta({ id: 'AdminUser' });

export const listUsersQuery = pageQuery
  .extend({
    role: role.optional(),
    status: status.optional(),
    email: z.string().trim().min(1).max(254).optional().describe('Part of the email address'),
  })
  .strict();

export const userIdParams = z.object({ id: z.string().min(1).max(64) });

// Only role and status: an admin changes access, not the user's identity or credentials.
export const updateUserBody = z
  .object({ role: role.optional(), status: status.optional() })
  .strict()
  .refine((b) => b.role !== undefined || b.status !== undefined, { message: 'send role, status or both' });

export type UserResponse = z.infer<typeof userResponse>;
export type SessionResponse = z.infer<typeof sessionResponse>;
export type TotpSetupResponse = z.infer<typeof totpSetupResponse>;
export type AdminUserResponse = z.infer<typeof adminUserResponse>;
export type AccountSessionResponse = z.infer<typeof accountSessionResponse>;
export type TwoFactorStatusResponse = z.infer<typeof twoFactorStatusResponse>;
export type ListUsersQuery = z.infer<typeof listUsersQuery>;
export type UpdateUserInput = z.infer<typeof updateUserBody>;
