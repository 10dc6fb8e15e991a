import { defineErrors } from '../../shared/index.js';

/**
 * The accounts feature's codes: sign-in, sessions, email tokens, two-factor, OAuth and the admin's
 * user management. Declared once, so a code has one status on every sign-in path (the OAuth
 * callback once answered totp_required with 403, the password login 401).
 */
export const accountsErrors = defineErrors('accounts', {
  invalid_credentials: { status: 401, title: 'The email or password is wrong' },
  invalid_refresh_token: { status: 401, title: 'The refresh token is invalid, expired or revoked' },
  account_suspended: { status: 403, title: 'This account is suspended' },
  /** The account has TOTP and this sign-in did not give a code: credentials incomplete, so 401. */
  totp_required: { status: 401, title: 'This account needs a two-factor code to sign in' },
  /** A wrong code is wrong credentials wherever it is sent (sign-in, enabling, disabling): 401. */
  invalid_totp_code: { status: 401, title: 'The two-factor code is wrong or was already used' },
  password_required: { status: 401, title: 'This change needs your current password' },
  reauthentication_required: { status: 401, title: 'Sign in again to do this' },
  totp_already_enabled: { status: 409, title: 'Two-factor authentication is already on' },
  totp_not_set_up: { status: 409, title: 'Two-factor authentication has not been set up' },
  totp_not_enabled: { status: 409, title: 'Two-factor authentication is not on' },
  invalid_token: { status: 400, title: 'The link is invalid, expired or already used' },
  email_already_verified: { status: 409, title: 'This email address is already verified' },
  password_policy: { status: 422, title: 'The password is too short or too long' },
  password_too_common: { status: 422, title: 'The password is too common' },
  invalid_email: { status: 422, title: 'This is not an email address' },
  user_not_found: { status: 404, title: 'No user has this id' },
  cannot_change_self: { status: 409, title: 'Admins cannot change their own role or status' },
  oauth_provider_not_enabled: { status: 404, title: 'Sign-in with this provider is not set up' },
  oauth_failed: { status: 400, title: 'Signing in with the provider did not succeed' },
  oauth_invalid_state: { status: 400, title: 'The sign-in link is unknown, used or expired' },
  oauth_browser_mismatch: { status: 400, title: 'The sign-in was started in another browser' },
  oauth_denied: { status: 400, title: 'The provider did not let you sign in' },
  oauth_no_email: { status: 422, title: 'The provider did not share an email address' },
  oauth_email_unverified: { status: 409, title: 'The provider has not verified this email address' },
  oauth_provider_unavailable: { status: 503, title: 'The provider cannot be reached' },
  device_code_not_found: { status: 404, title: 'No sign-in request is waiting with this code' },
});

export const accountsError = accountsErrors.error;

/** Errors more than one way of signing in answers, worded once. */
export const accountErrors = {
  suspended: () => accountsError('account_suspended', 'This account is suspended.'),
  totpRequired: (how: string) => accountsError('totp_required', `This account has two-factor authentication: ${how}.`),
};
