import { AppError } from '../../shared/index.js';

/**
 * Errors that more than one way of signing in answers, declared once so each code has one status
 * everywhere (the OAuth callback used to answer totp_required with 403, the password login 401).
 */
export const accountErrors = {
  suspended: () => new AppError('account_suspended', 403, 'This account is suspended.'),
  /** The account has TOTP and this sign-in did not give a code: credentials incomplete, so 401. */
  totpRequired: (how: string) => new AppError('totp_required', 401, `This account has two-factor authentication: ${how}.`),
};
