import { z } from 'zod';
import { PASSWORD_MAX } from './passwords.js';

// Bounds on every field: validation refuses oversized input before any work is done on it.
const email = z.email({ message: 'must be an email address' }).max(254).transform((v) => v.toLowerCase());
// The policy (length, common passwords) is a service rule with its own error code; this only
// caps the size so a huge body fails fast with a validation error.
const password = z.string().min(1).max(PASSWORD_MAX * 4);

export const registerBody = z.object({
  email,
  password,
  name: z.string().trim().min(1).max(100),
});

export const loginBody = z.object({
  email,
  password,
  totp_code: z.string().max(16).optional(),
});

export const refreshBody = z.object({
  refresh_token: z.string().min(1).max(200),
});

export const userResponse = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['developer', 'reviewer', 'admin']),
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

export type UserResponse = z.infer<typeof userResponse>;
export type SessionResponse = z.infer<typeof sessionResponse>;
