/**
 * /store/:packageId: a published app as the store shows it, at a link its developer can share.
 * The listing comes in the browser's language when the app has it (the API reads Accept-Language
 * and falls back to the default listing); ?lang= picks another of its languages. Screenshots,
 * what the app may do (the permissions of the version everyone gets), its versions, and facts.
 */
import { useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { isApiProblem } from '../../api/problem';
import { CopyButton } from '../../components/CopyButton';
import { Page } from '../../components/Page';
import { useUrlParams } from '../../components/useUrlParams';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { AppIcon } from './AppCard';
import { categoryLabel, formatBytes, formatNumber, languageName } from './format';
import { PermissionList } from './PermissionList';
import { ScreenshotGallery } from './ScreenshotGallery';
import type { StoreAppDetail } from './types';
import { VersionHistory } from './VersionHistory';

/** ?lang=default: the app's own listing; no ?lang: whatever the browser prefers. */
const DEFAULT_LISTING = 'default';

export default function StoreAppPage() {
  const { packageId = '' } = useParams();
  const { params, change } = useUrlParams();
  const lang = params.get('lang');
  const app = useQuery({
    queryKey: ['/v1/store/apps/{package_id}', packageId, lang ?? 'browser'],
    queryFn: ({ signal }) =>
      unwrap(
        api.GET('/v1/store/apps/{package_id}', {
          params: { path: { package_id: packageId } },
          // The browser sends its own Accept-Language; a chosen language replaces it ("*" matches no translation: the default listing).
          ...(lang ? { headers: { 'Accept-Language': lang === DEFAULT_LISTING ? '*' : lang } } : {}),
          signal,
        }),
      ),
    staleTime: 60_000,
    // Another language of the same app keeps the page in place while it loads; another app does not.
    placeholderData: (previous, previousQuery) => (previousQuery?.queryKey[1] === packageId ? previous : undefined),
  });

  if (app.isPending) return <Loading label="Loading the app" />;
  if (app.isError) {
    const missing = isApiProblem(app.error) && (app.error.code === 'store_app_not_found' || app.error.code === 'validation_failed');
    return (
      <Page title={missing ? 'App not found' : 'Store'}>
        {missing ? (
          <EmptyState title="This app is not in the store" action={<Link to="/store">Browse the store</Link>}>
            <p>
              No published app has the package id <code>{packageId}</code>. It may not be published yet, or it was withdrawn.
            </p>
          </EmptyState>
        ) : (
          <ErrorState error={app.error} onRetry={() => void app.refetch()} />
        )}
      </Page>
    );
  }
  const choose = (value: string) => change({ lang: value }, { replace: true });
  return <StoreApp app={app.data} lang={lang} onLanguage={choose} />;
}

function StoreApp({ app, lang, onLanguage }: { app: StoreAppDetail; lang: string | null; onLanguage: (value: string) => void }) {
  const version = app.version;
  const author = version?.author ?? null;
  const shareUrl = `${window.location.origin}/store/${app.package_id}`;
  return (
    <Page
      title={app.name}
      description={app.summary || undefined}
      actions={<CopyButton value={shareUrl} label="Copy link to this app" />}
    >
      <div className="store-app">
        <div className="store-app-hero">
          <AppIcon url={app.icon_url} size={96} />
          <div>
            <p className="store-app-author">
              {author ? <>by {safeUrl(author.url) ? <a href={safeUrl(author.url)} rel="noopener noreferrer nofollow">{author.name}</a> : author.name}</> : <code>{app.package_id}</code>}
            </p>
            <p className="store-card-facts">
              {app.category ? (
                <Link className="badge badge-neutral" to={`/store?category=${encodeURIComponent(app.category)}`}>
                  {categoryLabel(app.category)}
                </Link>
              ) : null}
              <span>{formatNumber(app.downloads)} downloads in the last 30 days</span>
              {version ? <span>Version {version.version}</span> : null}
            </p>
            {version ? (
              <p>
                <a className="button button-primary" href={version.download_url} download>
                  Download {version.version} ({formatBytes(version.size)})
                </a>
              </p>
            ) : null}
            <p className="muted small">Mosis devices install and update apps from the store app; the file is for installing by hand.</p>
          </div>
        </div>

        <LanguageChoice app={app} lang={lang} onChange={onLanguage} />

        {app.screenshots.length > 0 ? (
          <section aria-labelledby="store-screenshots" className="store-section">
            <h2 id="store-screenshots">Screenshots</h2>
            <ScreenshotGallery appName={app.name} screenshots={app.screenshots} />
          </section>
        ) : null}

        <div className="store-app-columns">
          <div className="stack">
            <section aria-labelledby="store-about" className="store-section">
              <h2 id="store-about">About this app</h2>
              {app.description ? <p className="store-description">{app.description}</p> : <p className="muted">The developer has not written a description yet.</p>}
            </section>

            <section aria-labelledby="store-permissions" className="store-section">
              <h2 id="store-permissions">What it may do</h2>
              {version ? (
                <>
                  <p className="muted small">The permissions of version {version.version}. Apps reach anything outside their sandbox only through these.</p>
                  <PermissionList permissions={version.permissions} />
                </>
              ) : (
                <p className="muted">No version is offered to every device right now; each version’s permissions are shown when it is.</p>
              )}
            </section>

            <section aria-labelledby="store-versions" className="store-section">
              <h2 id="store-versions">Versions</h2>
              <VersionHistory packageId={app.package_id} offeredCode={version?.version_code ?? null} />
            </section>
          </div>

          <aside aria-labelledby="store-facts" className="card store-facts">
            <h2 id="store-facts">Details</h2>
            <dl>
              <dt>Package id</dt>
              <dd>
                <code>{app.package_id}</code>
              </dd>
              <dt>Developer</dt>
              <dd>{author ? author.name : <span className="muted">Not given</span>}</dd>
              {version ? (
                <>
                  <dt>Version</dt>
                  <dd>
                    {version.version} <span className="muted small">(code {version.version_code})</span>
                  </dd>
                  <dt>Size</dt>
                  <dd>{formatBytes(version.size)}</dd>
                  <dt>Needs</dt>
                  <dd>{version.min_mosis_version ? `Mosis ${version.min_mosis_version} or newer` : 'Any Mosis version'}</dd>
                </>
              ) : null}
              <dt>Updated</dt>
              <dd>
                <Time value={app.updated_at} />
              </dd>
              <dt>In the store since</dt>
              <dd>
                <Time value={app.published_at} absolute />
              </dd>
              <dt>Languages</dt>
              <dd>{app.locales.length > 0 ? ['The default listing', ...app.locales.map(languageName)].join(', ') : 'The default listing only'}</dd>
            </dl>
          </aside>
        </div>
      </div>
    </Page>
  );
}

/** The listing's language: which one is shown, and the app's others to pick from. */
function LanguageChoice({ app, lang, onChange }: { app: StoreAppDetail; lang: string | null; onChange: (value: string) => void }) {
  const id = useId();
  if (app.locales.length === 0) return null;
  return (
    <div className="store-language">
      <p className="muted small">{app.locale ? `Shown in ${languageName(app.locale)}.` : 'Shown in the app’s default language.'}</p>
      <label htmlFor={id}>Listing language</label>
      <select id={id} value={lang ?? ''} onChange={(event) => onChange(event.target.value)}>
        <option value="">Your browser’s language</option>
        <option value={DEFAULT_LISTING}>The app’s default</option>
        {app.locales.map((locale) => (
          <option key={locale} value={locale}>
            {languageName(locale)} ({locale})
          </option>
        ))}
      </select>
    </div>
  );
}

/** Only web addresses become links: a manifest's url is the developer's to write. */
function safeUrl(url: string | null | undefined): string | undefined {
  return url && /^https?:\/\//i.test(url) ? url : undefined;
}
