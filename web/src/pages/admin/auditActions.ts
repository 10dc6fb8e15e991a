/**
 * Every action the audit log records, in words, for the filter and the log. Typed by the API's
 * own list of actions: one added there is a type error here until it has words.
 */
import type { paths } from '@mosis/api-client';

export type AuditAction = NonNullable<NonNullable<paths['/v1/admin/audit']['get']['parameters']['query']>['action']>;

export const AUDIT_ACTIONS: Record<AuditAction, string> = {
  'user.registered': 'Registered',
  'login.succeeded': 'Signed in',
  'login.failed': 'Sign-in failed',
  logout: 'Signed out',
  'refresh_token.reused': 'Refresh token reused (session revoked)',
  'email.verified': 'Email verified',
  'password.changed': 'Password changed',
  'password.reset': 'Password reset',
  'api_key.created': 'API key created',
  'api_key.revoked': 'API key revoked',
  'device.approved': 'Device sign-in approved',
  'device.denied': 'Device sign-in denied',
  'role.changed': 'Role changed',
  'user.suspended': 'User suspended',
  'user.reactivated': 'User reactivated',
  'admin.created': 'Admin created',
  'totp.enabled': 'Two-factor turned on',
  'totp.disabled': 'Two-factor turned off',
  'recovery_code.used': 'Recovery code used',
  'recovery_codes.regenerated': 'Recovery codes replaced',
  'oauth.account_created': 'Account created through a provider',
  'oauth.linked': 'Provider linked',
  'signing_key.registered': 'Signing key registered',
  'signing_key.revoked': 'Signing key revoked',
  'app.deleted': 'App deleted',
  'access.denied': 'Access denied',
  'access.denied_suppressed': 'Access denials not recorded (limit)',
  'account.taken_over': 'Account taken over',
  'register.email_taken': 'Sign-up with a taken address',
  'job.retried': 'Job retried',
  'job.discarded': 'Job discarded',
  'session.revoked': 'Session signed out',
  'profile.updated': 'Profile changed',
  'version.approved': 'Version approved',
  'version.rejected': 'Version rejected',
  'version.yanked': 'Version yanked',
  'version.halted': 'Rollout halted',
  'version.published': 'Version published',
  'version.rollout_changed': 'Rollout changed',
  'app.release_settings_changed': 'Release settings changed',
  'webhook.created': 'Webhook created',
  'webhook.deleted': 'Webhook deleted',
  'webhook.updated': 'Webhook changed',
  'webhook.secret_rotated': 'Webhook secret rotated',
};

export function actionLabel(action: string): string {
  return (AUDIT_ACTIONS as Record<string, string>)[action] ?? action;
}
