/**
 * The settings pages' own navigation: one list of links beside (or, on a phone, above) each
 * settings page, the current one marked with aria-current by NavLink.
 */
import { NavLink } from 'react-router';

const LINKS = [
  { to: '/settings', label: 'Profile', end: true },
  { to: '/settings/security', label: 'Password and security' },
  { to: '/settings/api-keys', label: 'API keys' },
  { to: '/settings/signing-keys', label: 'Signing keys' },
  { to: '/settings/notifications', label: 'Notifications' },
];

export function SettingsNav() {
  return (
    <nav className="sa-subnav" aria-label="Settings">
      <ul>
        {LINKS.map((link) => (
          <li key={link.to}>
            <NavLink to={link.to} end={link.end ?? false}>
              {link.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
