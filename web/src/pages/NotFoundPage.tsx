import { Link, useLocation } from 'react-router';
import { Page } from '../components/Page';

/** Any address no route names. (The portal serves this app for every such path, so the app says 404.) */
export default function NotFoundPage() {
  const location = useLocation();
  return (
    <Page title="Page not found" narrow>
      <p>
        There is no page at <code>{location.pathname}</code>. The link may be old, or mistyped.
      </p>
      <ul className="link-list">
        <li>
          <Link to="/apps">Your apps</Link>
        </li>
        <li>
          <Link to="/store">The store</Link>
        </li>
        <li>
          <a href="/docs">The documentation</a>
        </li>
      </ul>
    </Page>
  );
}
