/**
 * What a version asks for that the last published version did not (and what it dropped), each
 * with the risk the portal gives it and why a reviewer cares; then every permission it asks for in
 * plain words. Adding a high-risk permission without an evident use is a common reason to reject.
 */
import { PermissionList } from '../store/PermissionList';
import { permissionInfo, RISK_LABELS, RISK_TONES } from '../store/permissions';
import type { PermissionChange, ReviewItem } from './types';

export function PermissionChanges({ changes, permissions }: { changes: ReviewItem['permission_changes']; permissions: readonly string[] }) {
  const { baseline_version_code: baseline, added, removed } = changes;
  return (
    <div className="stack">
      <p>
        {baseline === null
          ? 'No version of this app is published yet: every permission it asks for is new.'
          : `Compared with version code ${baseline}, the last published version.`}
      </p>
      {added.length === 0 && removed.length === 0 ? (
        <p className="badge badge-success">No change in permissions</p>
      ) : (
        <div className="review-permission-diff">
          {added.length > 0 ? <ChangeList title="Added" sign="+" changes={added} /> : null}
          {removed.length > 0 ? <ChangeList title="Removed" sign="−" changes={removed} /> : null}
        </div>
      )}
      <h3>Every permission of this version</h3>
      <PermissionList permissions={permissions} />
    </div>
  );
}

function ChangeList({ title, sign, changes }: { title: string; sign: string; changes: readonly PermissionChange[] }) {
  return (
    <div>
      <h3>{title}</h3>
      <ul className="review-permission-changes">
        {changes.map((change) => (
          <li key={change.permission} className={title === 'Added' ? 'review-permission-added' : 'review-permission-removed'}>
            <span aria-hidden="true" className="review-permission-sign">
              {sign}
            </span>
            <strong>{permissionInfo(change.permission).label}</strong> <code>{change.permission}</code>{' '}
            <span className={`badge badge-${RISK_TONES[change.risk]}`}>{RISK_LABELS[change.risk]}</span>
            <p className="muted small">{change.why.charAt(0).toUpperCase() + change.why.slice(1)}.</p>
          </li>
        ))}
      </ul>
    </div>
  );
}
