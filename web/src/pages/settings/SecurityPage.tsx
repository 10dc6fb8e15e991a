/**
 * /settings/security: the password, two-factor authentication (with its recovery codes) and the
 * sessions signed in to the account.
 */
import { Page } from '../../components/Page';
import { ChangePasswordForm } from './ChangePasswordForm';
import { SessionsList } from './SessionsList';
import { SettingsNav } from './SettingsNav';
import { TwoFactorPanel } from './TwoFactorPanel';

export default function SecurityPage() {
  return (
    <Page title="Password and security" description="How you sign in, and where you are signed in.">
      <div className="sa-layout">
        <SettingsNav />
        <div className="sa-main stack">
          <section className="card" aria-labelledby="password-heading">
            <h2 id="password-heading">Password</h2>
            <ChangePasswordForm />
          </section>
          <section className="card" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">Two-factor authentication</h2>
            <TwoFactorPanel />
          </section>
          <section className="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">Sessions</h2>
            <p className="muted">Where your account is signed in. Sign out any you do not recognise, then change your password.</p>
            <SessionsList />
          </section>
        </div>
      </div>
    </Page>
  );
}
