/** The settings pages' own navigation. */
import { SubNav, type SubNavLink } from '../../components/SubNav';

const LINKS: readonly SubNavLink[] = [
  { to: '/settings', label: 'Profile', end: true },
  { to: '/settings/security', label: 'Password and security' },
  { to: '/settings/api-keys', label: 'API keys' },
  { to: '/settings/signing-keys', label: 'Signing keys' },
  { to: '/settings/notifications', label: 'Notifications' },
];

export function SettingsNav() {
  return <SubNav label="Settings" links={LINKS} />;
}
