/**
 * Choosing and uploading an app's icon or a screenshot: a preview of the chosen file before
 * anything is sent (an object URL, which the CSP allows as blob: images), its size against the
 * portal's rules (listingImageRules.ts), crop guidance for icons, a progress bar while it
 * uploads, and the portal's refusal under the file field.
 */
import { useMutation } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type ChangeEvent } from 'react';
import { formProblem } from '../api/problem';
import { formatBytes, isAbort, uploadFile, type UploadProgress } from './appUpload';
import { FormError } from './form';
import { IMAGE_RULES, imageContentType, imageWarnings, type ListingImageKind } from './listingImageRules';
import { UploadProgressBar } from './UploadProgressBar';

/** The portal's image refusals, all about the file chosen. */
const FILE_CODES = {
  image_dimensions: 'image',
  image_unsupported_type: 'image',
  image_invalid: 'image',
  image_missing: 'image',
  payload_too_large: 'image',
  screenshot_limit_reached: 'image',
  unsupported_media_type: 'image',
};

interface Chosen {
  file: File;
  url: string;
}

export function ListingImageUpload({
  appId,
  kind,
  label,
  uploadLabel,
  disabled = false,
  onUploaded,
}: {
  appId: string;
  kind: ListingImageKind;
  label: string;
  uploadLabel: string;
  disabled?: boolean;
  onUploaded: (answer: unknown) => void;
}) {
  const id = useId();
  const [chosen, setChosen] = useState<Chosen | null>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  // Remounts the file input after an upload, so the same file can be chosen again.
  const [inputKey, setInputKey] = useState(0);
  const cancel = useRef<AbortController | null>(null);
  const rules = IMAGE_RULES[kind];

  // An object URL holds the file in memory until revoked: one per chosen file, revoked when replaced or on leaving.
  useEffect(() => (chosen ? () => URL.revokeObjectURL(chosen.url) : undefined), [chosen]);

  const upload = useMutation({
    mutationFn: (file: File) => {
      const controller = new AbortController();
      cancel.current = controller;
      setProgress({ loaded: 0, total: file.size });
      return uploadFile<unknown>({
        url: `/v1/apps/${encodeURIComponent(appId)}/${kind === 'icon' ? 'icon' : 'screenshots'}`,
        file,
        contentType: imageContentType(file),
        onProgress: setProgress,
        signal: controller.signal,
      }).finally(() => {
        cancel.current = null;
        setProgress(null);
      });
    },
    onSuccess: (answer) => {
      setChosen(null);
      setSize(null);
      setInputKey((k) => k + 1);
      onUploaded(answer);
    },
  });

  const choose = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.currentTarget.files?.[0];
    upload.reset();
    setSize(null);
    setChosen(file ? { file, url: URL.createObjectURL(file) } : null);
  };

  const error = upload.error && !isAbort(upload.error) ? upload.error : null;
  const problem = formProblem(error, ['image'], FILE_CODES);
  const fieldError = problem.field('image');
  const warnings = chosen ? imageWarnings(kind, chosen.file, size) : [];
  const describedBy = [`${id}-rules`, fieldError ? `${id}-error` : null, warnings.length > 0 ? `${id}-warnings` : null].filter(Boolean).join(' ');

  return (
    <div className="dev-image-upload">
      <div className={fieldError ? 'field field-invalid' : 'field'}>
        <label htmlFor={id}>{label}</label>
        <input
          key={inputKey}
          id={id}
          type="file"
          accept="image/png,image/jpeg,image/webp"
          onChange={choose}
          disabled={disabled || upload.isPending}
          aria-describedby={describedBy}
          aria-invalid={fieldError ? true : undefined}
        />
        <p className="field-hint" id={`${id}-rules`}>
          {rules.summary} {rules.storedAs}
        </p>
        {fieldError ? (
          <p className="field-error" id={`${id}-error`}>
            {fieldError}
          </p>
        ) : null}
      </div>
      {error && !fieldError ? <FormError problem={problem} /> : null}

      {chosen ? (
        <div className="dev-image-preview">
          <figure className={kind === 'icon' ? 'dev-preview-icon' : 'dev-preview-screenshot'}>
            <img
              src={chosen.url}
              alt={kind === 'icon' ? 'Preview of the chosen icon' : 'Preview of the chosen screenshot'}
              onLoad={(event) => setSize({ width: event.currentTarget.naturalWidth, height: event.currentTarget.naturalHeight })}
              onError={() => setSize(null)}
            />
            {kind === 'icon' ? <span className="dev-icon-safe-zone" aria-hidden="true" /> : null}
            <figcaption className="muted small">
              {chosen.file.name}, {formatBytes(chosen.file.size)}
              {size ? `, ${size.width}×${size.height}` : ''}
            </figcaption>
          </figure>
          {kind === 'icon' ? (
            <div className="dev-icon-sizes" aria-hidden="true">
              {/* How the store shows it: small in lists, larger on the app's page. */}
              <img src={chosen.url} alt="" width={48} height={48} />
              <img src={chosen.url} alt="" width={96} height={96} />
            </div>
          ) : null}
          {warnings.length > 0 ? (
            <ul className="dev-image-warnings" id={`${id}-warnings`}>
              {warnings.map((warning) => (
                <li key={warning}>The portal will refuse this file: {warning}</li>
              ))}
            </ul>
          ) : null}
          {progress ? (
            <div className="dev-upload-progress-row">
              <UploadProgressBar label={`Uploading the ${kind}`} progress={progress} after="Checking and re-encoding the image…" />
              <button type="button" className="button button-small" onClick={() => cancel.current?.abort()}>
                Cancel upload
              </button>
            </div>
          ) : null}
          <div className="dev-form-actions">
            <button type="button" className="button button-primary" disabled={upload.isPending || disabled} aria-busy={upload.isPending || undefined} onClick={() => upload.mutate(chosen.file)}>
              {upload.isPending ? 'Uploading…' : uploadLabel}
            </button>
            <button
              type="button"
              className="button button-plain"
              disabled={upload.isPending}
              onClick={() => {
                setChosen(null);
                setSize(null);
                upload.reset();
                setInputKey((k) => k + 1);
              }}
            >
              Choose another
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
