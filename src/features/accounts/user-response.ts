import type { UserResponse } from './accounts.schemas.js';
import type { User } from './accounts.table.js';

/** A user as the API shows them to themselves. */
export function toUserResponse(user: User): UserResponse {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    email_verified: user.email_verified_at !== null,
    totp_enabled: user.totp_enabled_at !== null,
    created_at: user.created_at,
  };
}
