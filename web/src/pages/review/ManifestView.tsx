/**
 * A version's manifest.json: the fields a reviewer reads first as a list, then the whole file,
 * pretty-printed, with extension fields (x-…) and all.
 */
import { useId } from 'react';

const FIELDS: { key: string; label: string }[] = [
  { key: 'id', label: 'Package id' },
  { key: 'name', label: 'Name' },
  { key: 'version', label: 'Version' },
  { key: 'version_code', label: 'Version code' },
  { key: 'entry', label: 'Entry' },
  { key: 'min_mosis_version', label: 'Needs Mosis' },
  { key: 'category', label: 'Category' },
  { key: 'author', label: 'Author' },
  { key: 'locales', label: 'Languages' },
  { key: 'icons', label: 'Icons' },
];

export function ManifestView({ manifest }: { manifest: Record<string, unknown> }) {
  const rawId = useId();
  const present = FIELDS.filter((field) => manifest[field.key] !== undefined && manifest[field.key] !== null);
  const extensions = Object.keys(manifest).filter((key) => key.startsWith('x-'));
  return (
    <div className="review-manifest">
      <dl className="review-manifest-facts">
        {present.map((field) => (
          <div key={field.key}>
            <dt>{field.label}</dt>
            <dd>{describe(field.key, manifest[field.key])}</dd>
          </div>
        ))}
        {extensions.length > 0 ? (
          <div>
            <dt>Extension fields</dt>
            <dd>{extensions.map((key) => <code key={key}>{key}</code>)}</dd>
          </div>
        ) : null}
      </dl>
      <details className="review-manifest-raw">
        <summary>The whole manifest.json</summary>
        {/* Focusable: a long line scrolls sideways, and keyboard users must reach it. */}
        <pre id={rawId} tabIndex={0} aria-label="manifest.json">
          {JSON.stringify(manifest, null, 2)}
        </pre>
      </details>
    </div>
  );
}

function describe(key: string, value: unknown) {
  if (key === 'author' && isRecord(value)) {
    return [value['name'], value['email'], value['url']].filter((part): part is string => typeof part === 'string' && part !== '').join(' · ');
  }
  if (key === 'locales' && isRecord(value)) {
    const supported = Array.isArray(value['supported']) ? value['supported'].filter((v): v is string => typeof v === 'string') : [];
    return `${String(value['default'])} (default)${supported.length > 0 ? `; also ${supported.join(', ')}` : ''}`;
  }
  if (key === 'icons' && isRecord(value)) {
    return Object.entries(value)
      .map(([size, path]) => `${size}px: ${String(path)}`)
      .join(', ');
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return <code>{String(value)}</code>;
  return <code>{JSON.stringify(value)}</code>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
