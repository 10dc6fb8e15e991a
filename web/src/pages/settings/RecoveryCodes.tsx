/**
 * The ten recovery codes, shown once (after turning two-factor authentication on, or after asking
 * for new ones): copy them, download them as a .txt file, and say they are saved before leaving.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { CopyButton } from '../../components/CopyButton';
import { downloadText } from './download';

export function RecoveryCodes({ codes, email, onDone }: { codes: readonly string[]; email: string; onDone: () => void }) {
  const [saved, setSaved] = useState(false);
  const headingId = useId();
  const listId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  // They replace the form that asked for them: focus moves to them, and a screen reader says so.
  useEffect(() => heading.current?.focus(), []);
  const text = [
    `Mosis Portal recovery codes for ${email}`,
    `Created ${new Date().toISOString()} at ${window.location.origin}`,
    '',
    'Each code signs you in once in place of a code from your authenticator app.',
    'Keep them somewhere safe and private, away from the device with the app.',
    '',
    ...codes,
    '',
  ].join('\n');
  return (
    <section className="sa-recovery stack" aria-labelledby={headingId}>
      <h3 id={headingId} tabIndex={-1} ref={heading}>
        Save your recovery codes
      </h3>
      <p className="banner">
        <strong>You will not see these codes again.</strong> If you lose your phone or authenticator app, each code lets you sign in once.
      </p>
      <ol className="sa-codes" id={listId} aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <div className="sa-buttons">
        <CopyButton value={codes.join('\n')} label="Copy the codes" targetId={listId} />
        <button type="button" className="button button-small" onClick={() => downloadText('mosis-recovery-codes.txt', text)}>
          Download as .txt
        </button>
      </div>
      <label className="sa-checkbox">
        <input type="checkbox" checked={saved} onChange={(event) => setSaved(event.currentTarget.checked)} />
        I have saved these codes somewhere safe
      </label>
      <p>
        <button type="button" className="button button-primary" disabled={!saved} onClick={onDone}>
          Done
        </button>
      </p>
    </section>
  );
}
