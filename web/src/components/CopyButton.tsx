import { useEffect, useRef, useState } from 'react';

/**
 * Copies a value (an API key shown once, a package id) to the clipboard and says so where screen
 * readers hear it. The clipboard API needs a secure context: on plain http away from localhost the
 * value is selected instead, for Ctrl+C.
 */
export function CopyButton({ value, label = 'Copy', targetId }: { value: string; label?: string; targetId?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'select'>('idle');
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const copy = async () => {
    window.clearTimeout(timer.current);
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      const target = targetId ? document.getElementById(targetId) : null;
      if (target) {
        const range = document.createRange();
        range.selectNodeContents(target);
        window.getSelection()?.removeAllRanges();
        window.getSelection()?.addRange(range);
      }
      setState('select');
    }
    timer.current = window.setTimeout(() => setState('idle'), 4000);
  };

  return (
    <span className="copy">
      <button type="button" className="button button-small" onClick={() => void copy()}>
        {state === 'copied' ? 'Copied' : label}
      </button>
      <span className="visually-hidden" role="status" aria-live="polite">
        {state === 'copied' ? 'Copied to the clipboard' : state === 'select' ? 'Selected: press Ctrl+C to copy' : ''}
      </span>
    </span>
  );
}
