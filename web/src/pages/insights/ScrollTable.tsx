/**
 * A table that may be wider (or, with `tall`, longer) than the screen: its box scrolls, and takes
 * keyboard focus so that it can be scrolled without a mouse; a region named after the table.
 */
import type { ReactNode } from 'react';

export function ScrollTable({ label, children, className }: { label: string; children: ReactNode; className?: string }) {
  return (
    // tabIndex: a box that scrolls must be reachable by keyboard (WCAG 2.1.1).
    <div className={className ? `table-wrap ins-scroll ${className}` : 'table-wrap ins-scroll'} role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
