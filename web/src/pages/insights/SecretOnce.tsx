/**
 * A webhook's signing secret, in the one answer that carries it (create, rotate): shown with a
 * copy button and said plainly that it will not be shown again.
 */
import { useEffect, useId, useRef, type ReactNode } from 'react';
import { CopyButton } from '../../components/CopyButton';

export function SecretOnce({ secret, title, onDone, children }: { secret: string; title: string; onDone: () => void; children?: ReactNode }) {
  const id = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  // Focus moves here, so a keyboard or screen reader user meets the secret right after the action.
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="secret-once card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} tabIndex={-1} ref={heading}>
        {title}
      </h2>
      <p>
        <strong>Copy the signing secret now: it is shown only this once.</strong> Your receiver checks each delivery's <code>mosis-signature</code> header with it
        (see <a href="/docs/webhooks#checking-the-signature">checking the signature</a>).
      </p>
      <div className="secret-value">
        <code id={`${id}-secret`}>{secret}</code>
        <CopyButton value={secret} label="Copy the secret" targetId={`${id}-secret`} />
      </div>
      {children}
      <p>
        <button type="button" className="button" onClick={onDone}>
          I have saved it
        </button>
      </p>
    </section>
  );
}
