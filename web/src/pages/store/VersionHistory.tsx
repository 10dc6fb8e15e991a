/**
 * An app's published versions, newest first (GET /v1/store/apps/{package_id}/versions): number,
 * channel, date, size, what it needs, its release notes and its file, a page at a time.
 */
import { useInfiniteQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { formatBytes } from './format';
import { ShowMore } from '../../components/ShowMore';

export function VersionHistory({ packageId, offeredCode }: { packageId: string; offeredCode: number | null }) {
  const versions = useInfiniteQuery({
    queryKey: ['/v1/store/apps/{package_id}/versions', packageId],
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET('/v1/store/apps/{package_id}/versions', { params: { path: { package_id: packageId }, query: { limit: 10, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    staleTime: 60_000,
  });
  if (versions.isPending) return <Loading label="Loading versions" />;
  if (versions.isError) return <ErrorState error={versions.error} onRetry={() => void versions.refetch()} title="The versions could not be loaded" />;
  const items = versions.data.pages.flatMap((page) => page.items);
  if (items.length === 0) return <p className="muted">No version is in the store right now.</p>;
  return (
    <>
      <ol className="store-versions">
        {items.map((version) => (
          <li key={version.version_code}>
            <div className="store-version-head">
              <h3>
                {version.version} <span className="muted small">(code {version.version_code})</span>
              </h3>
              {version.channel === 'beta' ? <span className="badge badge-info">Beta</span> : null}
              {version.version_code === offeredCode ? <span className="badge badge-success">Current</span> : null}
            </div>
            <p className="store-version-facts muted small">
              <span>
                Released <Time value={version.published_at} />
              </span>
              <span>{formatBytes(version.size)}</span>
              {version.min_mosis_version ? <span>Needs Mosis {version.min_mosis_version} or newer</span> : null}
              <a href={version.download_url} download>
                Download<span className="visually-hidden"> version {version.version}</span>
              </a>
            </p>
            {version.release_notes ? <p className="store-release-notes">{version.release_notes}</p> : <p className="muted small">No release notes.</p>}
          </li>
        ))}
      </ol>
      <ShowMore query={versions} label="Show older versions" busyLabel="Loading older versions…" />
    </>
  );
}
