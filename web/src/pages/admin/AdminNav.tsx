/** The admin pages' own navigation: users, the audit log and the job queue. */
import { NavLink } from 'react-router';

const LINKS = [
  { to: '/admin', label: 'Users', end: true },
  { to: '/admin/audit', label: 'Audit log' },
  { to: '/admin/jobs', label: 'Jobs' },
];

export function AdminNav() {
  return (
    <nav className="sa-subnav" aria-label="Admin">
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
