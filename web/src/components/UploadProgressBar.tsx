import { formatBytes, type UploadProgress } from './appUpload';

/**
 * An upload's progress as a native <progress> (screen readers announce its value) with the bytes
 * sent beside it; once every byte is sent, what the portal is doing with them (`after`).
 */
export function UploadProgressBar({ label, progress, after }: { label: string; progress: UploadProgress; after: string }) {
  const total = progress.total ?? 0;
  const sent = total > 0 && progress.loaded >= total;
  const percent = total > 0 ? Math.min(100, Math.round((progress.loaded / total) * 100)) : null;
  return (
    <div className="dev-upload-progress">
      <div className="dev-upload-progress-label">
        <span>{sent ? after : label}</span>
        <span className="muted small">
          {total > 0 ? `${formatBytes(progress.loaded)} of ${formatBytes(total)}` : formatBytes(progress.loaded)}
          {percent !== null && !sent ? ` · ${percent} %` : ''}
        </span>
      </div>
      {/* Without a value the bar is indeterminate: the size is not known yet, or the portal is checking. */}
      <progress aria-label={label} max={100} {...(percent !== null && !sent ? { value: percent } : {})} />
    </div>
  );
}
