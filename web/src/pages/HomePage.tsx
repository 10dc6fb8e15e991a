/**
 * `/` (the portal's mails link here to sign in). A visitor learns what Mosis Portal is, sees what
 * is new in the store and finds the ways in: the store, sign in, a developer account, the docs. A
 * signed-in person gets shortcuts to what their role does: their apps, the review queue, admin.
 */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import type { User } from '../api/types';
import { Page } from '../components/Page';
import { Loading } from '../components/states';
import { hasRole, useSession } from '../session/session';
import { AppCard } from './store/AppCard';

export default function HomePage() {
  const session = useSession();
  if (session.status === 'loading') return <Loading />;
  if (session.status === 'signed-in') return <Shortcuts user={session.user} />;
  return (
    <Page title="Mosis Portal" description="Publish apps for Mosis devices: upload signed packages, pass review, roll out, and watch how they do.">
      <div className="hero-actions">
        <Link to="/store" className="button button-primary">
          Browse the store
        </Link>
        <Link to="/sign-in" className="button">
          Sign in
        </Link>
        <Link to="/register" className="button">
          Create a developer account
        </Link>
      </div>
      <ul className="feature-grid">
        <li>
          <h2>Upload and check</h2>
          <p>Every package is checked automatically: signature, manifest, permissions and code, with findings explained.</p>
        </li>
        <li>
          <h2>Review and release</h2>
          <p>Reviewers approve versions; you publish, roll out gradually, halt, resume or yank.</p>
        </li>
        <li>
          <h2>Analytics and crashes</h2>
          <p>Starts, devices, sessions, crash-free rate and crash groups with their stack traces, per version.</p>
        </li>
      </ul>
      <NewInStore />
      <p className="home-docs">
        New here? The <a href="/docs">developer guide</a> walks from <code>mosis init</code> to a published app, and the <a href="/docs/api">API reference</a> lists
        every route.
      </p>
    </Page>
  );
}

/** The newest apps of the store, for a visitor; nothing when the store is empty. */
function NewInStore() {
  const apps = useQuery({
    queryKey: ['/v1/store/apps', { sort: 'new', limit: 6 }],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/store/apps', { params: { query: { sort: 'new', limit: 6 } }, signal })),
    staleTime: 60_000,
  });
  if (apps.isPending) return <Loading label="Loading the newest apps" />;
  if (apps.isError) {
    return (
      <p className="muted">
        The store could not be reached just now. <Link to="/store">Open the store</Link>
      </p>
    );
  }
  if (apps.data.items.length === 0) return null;
  return (
    <section aria-labelledby="home-new" className="home-section">
      <div className="home-section-head">
        <h2 id="home-new">New in the store</h2>
        <Link to="/store?sort=new">See every new app</Link>
      </div>
      <ul className="store-grid">
        {apps.data.items.map((app) => (
          <AppCard key={app.package_id} app={app} />
        ))}
      </ul>
    </section>
  );
}

interface Shortcut {
  to: string;
  title: string;
  text: string;
  /** A page of another site part (the docs): a full page load. */
  external?: boolean;
}

function Shortcuts({ user }: { user: User }) {
  const reviewer = hasRole(user, ['reviewer', 'admin']);
  const shortcuts: Shortcut[] = [
    { to: '/apps', title: 'My apps', text: 'Your apps with their status, latest version, downloads and what needs your attention.' },
    { to: '/apps/new', title: 'New app', text: 'Reserve a package id, then upload its first signed version.' },
    ...(reviewer ? [{ to: '/review', title: 'Review queue', text: 'Versions that passed their checks and wait for a reviewer, oldest first.' }] : []),
    ...(hasRole(user, ['admin']) ? [{ to: '/admin', title: 'Admin', text: 'Users and roles, the audit log, and the job queue.' }] : []),
    { to: '/store', title: 'Store', text: 'The catalog as people see it on their devices.' },
    { to: '/settings', title: 'Settings', text: 'Profile, password, two-factor authentication, sessions, API keys and signing keys.' },
    { to: '/docs', title: 'Documentation', text: 'The developer guide, the package format and the API reference.', external: true },
  ];
  return (
    <Page title={`Welcome, ${user.name}`} description="Where to next?">
      {reviewer && !user.totp_enabled ? (
        <div className="banner" role="note">
          <p>
            Reviewing needs two-factor authentication. <Link to="/settings/security">Turn it on in your settings</Link>, then sign in again with a code.
          </p>
        </div>
      ) : null}
      <ul className="home-shortcuts">
        {shortcuts.map((shortcut) => (
          <li key={shortcut.to}>
            <h2>{shortcut.external ? <a href={shortcut.to}>{shortcut.title}</a> : <Link to={shortcut.to}>{shortcut.title}</Link>}</h2>
            <p>{shortcut.text}</p>
          </li>
        ))}
      </ul>
    </Page>
  );
}
