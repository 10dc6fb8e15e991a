/**
 * `/`: a signed-in person goes straight to their apps; anyone else sees what the portal is and the
 * ways in (the portal's mails link here to sign in).
 */
import { Link, Navigate } from 'react-router';
import { Page } from '../components/Page';
import { Loading } from '../components/states';
import { useSession } from '../session/session';

export default function HomePage() {
  const session = useSession();
  if (session.status === 'loading') return <Loading />;
  if (session.status === 'signed-in') return <Navigate to="/apps" replace />;
  return (
    <Page title="Mosis Portal" description="Publish apps for Mosis devices: upload signed packages, pass review, roll out, and watch how they do.">
      <div className="hero-actions">
        <Link to="/sign-in" className="button button-primary">
          Sign in
        </Link>
        <Link to="/register" className="button">
          Create a developer account
        </Link>
        <Link to="/store" className="button button-plain">
          Browse the store
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
      <p>
        New here? Read the <a href="/docs">developer guide</a>.
      </p>
    </Page>
  );
}
