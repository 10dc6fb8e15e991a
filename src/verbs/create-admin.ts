import { parseArgs } from 'node:util';
import type { Config } from '../config/index.js';
import type { TakeoverReport } from '../features/accounts/index.js';
import { UsageError, type Verb } from './verb.js';
import { withCore } from './with-core.js';

export const createAdminVerb: Verb = {
  name: 'create-admin',
  summary: 'create an admin account, or promote an existing one',
  usage: 'mosis-portal create-admin --email <email> [--password <password>]',
  help: `Creates an admin account; without --password a strong password is generated and printed
once. An existing account is promoted and taken over: new password, its sessions, API keys, 2FA
and provider links removed, email marked verified.`,
  run: (config, args) => createAdmin(config, args),
};

async function createAdmin(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, password: { type: 'string' } }, strict: true });
  if (!values.email) throw new UsageError('create-admin needs --email <email>');
  const email = values.email;
  const { createAdminAccount } = await import('../features/accounts/index.js');
  await withCore(config, async (core) => {
    const result = await createAdminAccount(core, { email, password: values.password });
    if (result.takeover) {
      console.log(promotionReport(email, result.takeover, result.suspended === true));
    } else {
      console.log(`Created admin ${email}.`);
    }
    // Printed once and never stored in clear: the operator copies it now or resets it later.
    if (result.generatedPassword) console.log(`Password (shown once): ${result.generatedPassword}`);
    console.log('Admins must turn on two-factor authentication (POST /v1/auth/2fa/setup) before using admin routes.');
  });
}

/** Says exactly what promoting an existing account took from whoever held it before. */
function promotionReport(email: string, t: TakeoverReport, suspended: boolean): string {
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  const lines = [
    `${email} already had an account; it is now an admin. Anyone could have registered that address, so the account was taken from its previous holder:`,
    t.password_replaced ? '  - its password was replaced; the old one no longer works' : '  - it had no password (provider sign-in only); it has one now',
    `  - ${plural(t.sessions_ended, 'session')} ended, every refresh token revoked`,
    `  - ${plural(t.api_keys_revoked, 'API key')} revoked`,
    `  - ${plural(t.signing_keys_revoked, 'package signing key')} revoked`,
    t.totp_removed ? '  - two-factor authentication and its recovery codes removed' : '  - it had no two-factor authentication',
    `  - ${plural(t.oauth_identities_unlinked, 'GitHub/Google/OpenID sign-in')} unlinked`,
    '  - its email address is marked verified (you vouch for it)',
  ];
  if (suspended) lines.push('It is suspended: another admin must reactivate it (PATCH /v1/admin/users/{id} {"status": "active"}) before it can sign in.');
  return lines.join('\n');
}
