/**
 * Where a page says that something it did worked ("Revoked “CI”."): a polite live region that is
 * always in the page, so screen readers announce each new message, and shows nothing when empty.
 */
export function Notice({ message }: { message: string | null }) {
  return (
    <div role="status" aria-live="polite" className="sa-notice">
      {message ? <p className="banner sa-banner-success">{message}</p> : null}
    </div>
  );
}
