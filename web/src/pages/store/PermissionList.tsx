import { permissionInfo, RISK_LABELS, RISK_TONES } from './permissions';

/** What an app may do, permission by permission, in plain words (docs/permissions.md). */
export function PermissionList({ permissions }: { permissions: readonly string[] }) {
  if (permissions.length === 0) return <p>This app asks for no permissions: it stays inside its own sandbox.</p>;
  return (
    <ul className="store-permissions">
      {permissions.map((permission) => {
        const info = permissionInfo(permission);
        return (
          <li key={permission}>
            <div className="store-permission-head">
              <strong>{info.label}</strong> <code>{permission}</code> <span className={`badge badge-${RISK_TONES[info.risk]}`}>{RISK_LABELS[info.risk]}</span>
            </div>
            <p>{info.plain}</p>
          </li>
        );
      })}
    </ul>
  );
}
