/** An app's versions as a table: number and code, status, where and how far it is rolled out, size, upload time. */
import { Link } from 'react-router';
import type { Version } from '../api/types';
import { isLive } from './appAttention';
import { formatBytes } from './appUpload';
import { ScrollTable } from './ScrollTable';
import { StatusBadge } from './StatusBadge';
import { Time } from './Time';

export function RolloutSummary({ version }: { version: Version }) {
  if (version.status === 'yanked') return <span className="muted">Withdrawn</span>;
  if (version.status !== 'published') return <span className="muted">—</span>;
  if (!isLive(version)) return <span className="muted">Replaced on {version.channel}</span>;
  return (
    <span>
      {version.channel} · {version.rollout_percent} %{' '}
      {version.rollout?.halted ? <span className="badge badge-warning">Halted</span> : null}
    </span>
  );
}

export function VersionsTable({ appId, versions, caption }: { appId: string; versions: readonly Version[]; caption: string }) {
  return (
    <ScrollTable label="Versions">
      <table className="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Rollout</th>
            <th scope="col" className="dev-numeric">
              Size
            </th>
            <th scope="col">Uploaded</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((version) => (
            <tr key={version.id}>
              <th scope="row">
                <Link to={`/apps/${appId}/versions/${version.id}`}>{version.version || 'New upload'}</Link>
                {version.version_code > 0 ? <span className="muted small"> code {version.version_code}</span> : null}
              </th>
              <td>
                <StatusBadge status={version.status} />
              </td>
              <td>
                <RolloutSummary version={version} />
              </td>
              <td className="dev-numeric">{formatBytes(version.size)}</td>
              <td>
                <Time value={version.created_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollTable>
  );
}
