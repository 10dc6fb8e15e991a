import { useEffect, useRef, type ReactNode } from 'react';

/** The first page of a load keeps the browser's focus; after a navigation the new page's h1 takes it, so screen readers announce it. */
let firstPage = true;

/**
 * Every page's frame: the tab's title ("<title> · Mosis Portal"), the one h1, optional actions
 * beside it (a "New app" link), and the content. The h1 is what the skip link and a route change
 * move focus to.
 */
export function Page({ title, description, actions, children, narrow = false }: { title: string; description?: ReactNode; actions?: ReactNode; children: ReactNode; narrow?: boolean }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Mosis Portal`;
  }, [title]);
  useEffect(() => {
    // An autofocus field (a sign-in form) keeps its focus.
    if (!firstPage && !document.activeElement?.matches('input, textarea, select')) heading.current?.focus({ preventScroll: true });
    firstPage = false;
  }, []);
  return (
    <div className={narrow ? 'page page-narrow' : 'page'}>
      <header className="page-header">
        <div>
          <h1 id="page-title" tabIndex={-1} ref={heading}>
            {title}
          </h1>
          {description ? <p className="page-description">{description}</p> : null}
        </div>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </header>
      {children}
    </div>
  );
}
