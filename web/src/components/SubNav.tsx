/**
 * A section's own navigation (settings, admin): one list of links beside (or, on a phone, above)
 * each of its pages, the current one marked with aria-current by NavLink.
 */
import { NavLink } from 'react-router';

export interface SubNavLink {
  to: string;
  label: string;
  /** Marked only on this exact address (the section's first page, whose address prefixes the others). */
  end?: boolean;
}

export function SubNav({ label, links }: { label: string; links: readonly SubNavLink[] }) {
  return (
    <nav className="sa-subnav" aria-label={label}>
      <ul>
        {links.map((link) => (
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
