import { useId, useState } from 'react';
import { Link, NavLink, useLocation } from 'react-router';
import type { Role } from '../api/types';
import { useSession } from '../session/session';
import { ThemeToggle } from '../theme/ThemeToggle';
import { AccountMenu } from './AccountMenu';
import { NotificationsBell } from './NotificationsBell';

interface NavItem {
  to: string;
  label: string;
  /** Who sees it: undefined for everyone, [] for anyone signed in. */
  roles?: readonly Role[];
  /** Not a page of this app: a full page load (the docs site). */
  external?: boolean;
}

const NAV: readonly NavItem[] = [
  { to: '/store', label: 'Store' },
  { to: '/docs', label: 'Docs', external: true },
  { to: '/apps', label: 'My apps', roles: [] },
  { to: '/review', label: 'Review', roles: ['reviewer', 'admin'] },
  { to: '/admin', label: 'Admin', roles: ['admin'] },
];

export function Header() {
  const session = useSession();
  const user = session.status === 'signed-in' ? session.user : null;
  const location = useLocation();
  // Open on the page it was opened on: following a link in the collapsed menu closes it.
  const [openOn, setOpenOn] = useState<string | null>(null);
  const menuOpen = openOn === location.pathname;
  const navId = useId();

  const items = NAV.filter((item) => item.roles === undefined || (user !== null && (item.roles.length === 0 || item.roles.includes(user.role))));
  return (
    <header className="site-header">
      <div className="site-header-inner">
        <Link to={user ? '/apps' : '/'} className="brand">
          <img src="/favicon.svg" alt="" width="28" height="28" />
          <span>Mosis Portal</span>
        </Link>
        <button type="button" className="button menu-button" aria-expanded={menuOpen} aria-controls={navId} onClick={() => setOpenOn(menuOpen ? null : location.pathname)}>
          Menu
        </button>
        <div id={navId} className={menuOpen ? 'site-nav site-nav-open' : 'site-nav'}>
          <nav aria-label="Main">
            <ul>
              {items.map((item) => (
                <li key={item.to}>
                  {item.external ? (
                    <a href={item.to}>{item.label}</a>
                  ) : (
                    <NavLink to={item.to} end={item.to === '/'}>
                      {item.label}
                    </NavLink>
                  )}
                </li>
              ))}
            </ul>
          </nav>
          <div className="site-tools">
            <ThemeToggle />
            {user ? (
              <>
                <NotificationsBell />
                <AccountMenu user={user} />
              </>
            ) : session.status === 'signed-out' ? (
              <>
                <Link to="/sign-in" className="button button-plain">
                  Sign in
                </Link>
                <Link to="/register" className="button button-primary">
                  Register
                </Link>
              </>
            ) : null}
          </div>
        </div>
      </div>
    </header>
  );
}
