/**
 * A table's scrolling frame (.table-wrap) that keyboard users can scroll too: when the table is
 * wider than the frame (a phone), the frame becomes a focusable, named region, so arrow keys move
 * it; when it fits, it stays out of the tab order.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';

export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  const frame = useRef<HTMLDivElement>(null);
  const [scrolls, setScrolls] = useState(false);
  useEffect(() => {
    const element = frame.current;
    if (!element) return undefined;
    const measure = () => setScrolls(element.scrollWidth > element.clientWidth + 1);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    const table = element.firstElementChild;
    if (table) observer.observe(table);
    return () => observer.disconnect();
  }, []);
  return (
    <div ref={frame} className="table-wrap" {...(scrolls ? { tabIndex: 0, role: 'region', 'aria-label': `${label} (scrolls sideways)` } : {})}>
      {children}
    </div>
  );
}
