import { Link } from 'react-router';
import { categoryLabel, formatBytes, formatCount, formatNumber } from './format';
import type { StoreAppItem } from './types';

/** An app in the catalog: icon, name (the link to its page, stretched over the card), who made it, summary and facts. */
export function AppCard({ app }: { app: StoreAppItem }) {
  return (
    <li className="store-card">
      <AppIcon url={app.icon_url} size={64} />
      <div className="store-card-body">
        <h3 className="store-card-title">
          <Link to={`/store/${app.package_id}`} className="store-card-link">
            {app.name}
          </Link>
        </h3>
        <p className="store-card-author">{app.author_name ?? app.package_id}</p>
        {app.summary ? <p className="store-card-summary">{app.summary}</p> : null}
        <p className="store-card-facts">
          {app.category ? <span className="badge badge-neutral">{categoryLabel(app.category)}</span> : null}
          <span title={`${formatNumber(app.downloads)} downloads in the last 30 days`}>{formatCount(app.downloads)} downloads</span>
          {app.version ? (
            <span>
              v{app.version}
              {app.size !== null ? ` · ${formatBytes(app.size)}` : ''}
            </span>
          ) : null}
        </p>
      </div>
    </li>
  );
}

/** An app's icon, or a neutral tile of the same size when it has none (the name beside it says what it is). */
export function AppIcon({ url, size }: { url: string | null; size: 48 | 64 | 96 }) {
  return url ? (
    <img className={`store-icon store-icon-${size}`} src={url} alt="" width={size} height={size} loading="lazy" />
  ) : (
    <span className={`store-icon store-icon-${size} store-icon-placeholder`} aria-hidden="true" />
  );
}
