/**
 * An app's screenshots: a row of thumbnails (each a button), and a viewer in a modal dialog that
 * shows one at full size. In the viewer the arrow keys (and Home / End) move between screenshots,
 * Escape closes it and focus returns to the thumbnail it was opened from.
 */
import { useState, type KeyboardEvent } from 'react';
import { Dialog } from '../../components/Dialog';
import type { StoreAppDetail } from './types';

type Screenshot = StoreAppDetail['screenshots'][number];

export function ScreenshotGallery({ appName, screenshots }: { appName: string; screenshots: readonly Screenshot[] }) {
  const [open, setOpen] = useState<number | null>(null);
  const count = screenshots.length;
  const shown = open === null ? undefined : screenshots[open];

  const go = (index: number) => setOpen(((index % count) + count) % count);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (open === null) return;
    const moves: Record<string, number> = { ArrowLeft: open - 1, ArrowRight: open + 1, Home: 0, End: count - 1 };
    const target = moves[event.key];
    if (target === undefined) return;
    event.preventDefault();
    go(target);
  };

  return (
    <>
      <ul className="store-gallery" aria-label={`Screenshots of ${appName}`}>
        {screenshots.map((shot, index) => (
          <li key={shot.url}>
            <button type="button" className="store-gallery-thumb" onClick={() => setOpen(index)} aria-label={`Screenshot ${index + 1} of ${count}: view larger`}>
              <img src={shot.url} alt="" width={shot.width} height={shot.height} loading="lazy" />
            </button>
          </li>
        ))}
      </ul>
      <Dialog open={shown !== undefined} title={open === null ? 'Screenshot' : `Screenshot ${open + 1} of ${count}`} onClose={() => setOpen(null)}>
        <div className="store-viewer" onKeyDown={onKeyDown}>
          {shown ? <img className="store-viewer-image" src={shown.url} alt={`Screenshot ${(open ?? 0) + 1} of ${appName}`} width={shown.width} height={shown.height} /> : null}
          <p className="muted small store-viewer-hint">Use the arrow keys to move between screenshots, Escape to close.</p>
          <div className="store-viewer-controls">
            <button type="button" className="button" onClick={() => go((open ?? 0) - 1)} disabled={count < 2}>
              Previous
            </button>
            <button type="button" className="button" onClick={() => go((open ?? 0) + 1)} disabled={count < 2}>
              Next
            </button>
            <button type="button" className="button button-primary" onClick={() => setOpen(null)}>
              Close
            </button>
          </div>
        </div>
      </Dialog>
    </>
  );
}
