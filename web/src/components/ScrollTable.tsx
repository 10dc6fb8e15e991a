/**
 * The frame of every table that may be wider (or, in a chart's numbers, longer) than the screen:
 * its box scrolls, so it is always a focusable region named after the table (WCAG 2.1.1: a box
 * that scrolls must be reachable by keyboard). Always, not only when it overflows: measuring
 * first would leave a moment (a resize, a late row) in which the box scrolls but cannot be focused.
 */
import type { ReactNode } from 'react';

export function ScrollTable({ label, children, className }: { label: string; children: ReactNode; className?: string }) {
  return (
    <div className={className ? `table-wrap ${className}` : 'table-wrap'} role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
