import { useEffect, useId, useRef, useState } from 'react';
import { Link, useLocation } from 'react-router';
import type { User } from '../api/types';

/**
 * The account's disclosure: the name, and under it Settings and Sign out. A plain disclosure (a
 * button and a list of links), not an ARIA menu: Tab moves through it like any other links.
 * Escape or a click elsewhere closes it.
 */
export function AccountMenu({ user }: { user: User }) {
  const location = useLocation();
  // Open on the page it was opened on: following one of its links closes it.
  const [openOn, setOpenOn] = useState<string | null>(null);
  const open = openOn === location.pathname;
  const setOpen = (value: boolean) => setOpenOn(value ? location.pathname : null);
  const listId = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return undefined;
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpenOn(null);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setOpenOn(null);
        button.current?.focus();
      }
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  return (
    <div className="account" ref={root}>
      <button ref={button} type="button" className="button button-plain account-button" aria-expanded={open} aria-controls={listId} onClick={() => setOpen(!open)}>
        <span className="avatar" aria-hidden="true">
          {(user.name.trim()[0] ?? user.email[0] ?? '?').toUpperCase()}
        </span>
        <span className="account-name">{user.name}</span>
      </button>
      <div id={listId} className="account-panel" hidden={!open}>
        <p className="account-who">
          <strong>{user.name}</strong>
          <span className="muted small">{user.email}</span>
          <span className="muted small">{user.role}{user.totp_enabled ? ' · two-factor on' : ''}</span>
        </p>
        <ul>
          <li>
            <Link to="/settings">Settings</Link>
          </li>
          <li>
            <Link to="/sign-out">Sign out</Link>
          </li>
        </ul>
      </div>
    </div>
  );
}
