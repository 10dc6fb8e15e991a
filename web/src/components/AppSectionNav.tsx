/**
 * The context of every page about one app: a breadcrumb back to the apps, the app's icon, name,
 * package id and status, and its sections (overview, listing, versions, analytics, crashes,
 * webhooks) as a navigation with the current one marked.
 */
import { Link, NavLink } from 'react-router';
import type { App } from '../api/types';
import { StatusBadge } from './StatusBadge';

const SECTIONS = [
  { path: '', label: 'Overview' },
  { path: '/listing', label: 'Store listing' },
  { path: '/versions', label: 'Versions' },
  { path: '/analytics', label: 'Analytics' },
  { path: '/crashes', label: 'Crashes' },
  { path: '/webhooks', label: 'Webhooks' },
] as const;

/** The icon beside a name (decorative: the name says what it is), or an empty tile before one is uploaded. */
export function AppIcon({ app, size = 32 }: { app: Pick<App, 'icon_url'>; size?: 32 | 40 | 64 }) {
  return app.icon_url ? (
    <img className={`app-icon app-icon-${size}`} src={app.icon_url} alt="" width={size} height={size} />
  ) : (
    <span className={`app-icon-placeholder app-icon-${size}`} aria-hidden="true" />
  );
}

/** `appId` alone while the app loads: the sections are links either way. */
export function AppSectionNav({ appId, app }: { appId: string; app?: App | undefined }) {
  const base = `/apps/${appId}`;
  return (
    <div className="dev-app-context">
      <nav aria-label="Breadcrumb" className="dev-breadcrumb">
        <ol>
          <li>
            <Link to="/apps">My apps</Link>
          </li>
          <li>{app ? <Link to={base}>{app.name}</Link> : <Link to={base}>This app</Link>}</li>
        </ol>
      </nav>
      {app ? (
        <p className="dev-app-context-identity">
          <AppIcon app={app} size={40} />
          <span>
            <strong>{app.name}</strong> <code>{app.package_id}</code>
          </span>
          <StatusBadge status={app.status} />
        </p>
      ) : null}
      <nav aria-label="App sections" className="dev-app-sections">
        <ul>
          {SECTIONS.map((section) => (
            <li key={section.path}>
              {/* Overview matches only itself; the others also their sub-pages (a version under Versions). */}
              <NavLink to={base + section.path} end={section.path === ''}>
                {section.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
    </div>
  );
}
