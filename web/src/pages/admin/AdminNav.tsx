/** The admin pages' own navigation: users, the audit log and the job queue. */
import { SubNav, type SubNavLink } from '../../components/SubNav';

const LINKS: readonly SubNavLink[] = [
  { to: '/admin', label: 'Users', end: true },
  { to: '/admin/audit', label: 'Audit log' },
  { to: '/admin/jobs', label: 'Jobs' },
];

export function AdminNav() {
  return <SubNav label="Admin" links={LINKS} />;
}
