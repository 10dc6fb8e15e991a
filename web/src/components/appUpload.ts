/**
 * Uploads a file (a .mosis package, an icon, a screenshot) as the raw request body with
 * XMLHttpRequest, for what fetch() cannot report: upload progress. Same cookie session as the
 * typed client, and the CSRF header it would have set (csrfToken()). Answers the parsed JSON, or
 * throws an ApiProblem like unwrap() does; an abort rejects with an AbortError.
 */
import { csrfToken } from '../api/client';
import { ApiProblem } from '../api/problem';

export interface UploadProgress {
  loaded: number;
  /** null while the browser does not know the size yet. */
  total: number | null;
}

export interface UploadOptions {
  url: string;
  file: Blob;
  /** The body's type; the API takes raw packages as application/octet-stream and images as their own type. */
  contentType: string;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

export function uploadFile<T>({ url, file, contentType, onProgress, signal }: UploadOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException('The upload was cancelled.', 'AbortError'));
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.responseType = 'text';
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    const token = csrfToken();
    if (token) xhr.setRequestHeader('X-CSRF-Token', token);
    xhr.upload.addEventListener('progress', (event) => onProgress?.({ loaded: event.loaded, total: event.lengthComputable ? event.total : null }));
    const onAbort = () => xhr.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    xhr.addEventListener('load', () => {
      done();
      let body: unknown;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        // Not JSON (a proxy's error page): ApiProblem says what it can from the status.
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as T);
      // Only what ApiProblem reads from a Response: its status line.
      const status = xhr.status >= 200 && xhr.status <= 599 ? xhr.status : 500;
      reject(ApiProblem.fromResponse(new Response(null, { status, statusText: xhr.statusText }), body));
    });
    xhr.addEventListener('error', () => {
      done();
      reject(ApiProblem.network(new Error('the upload did not reach the portal')));
    });
    xhr.addEventListener('abort', () => {
      done();
      reject(new DOMException('The upload was cancelled.', 'AbortError'));
    });
    xhr.send(file);
  });
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** 1536 → "1.5 KB": sizes as people read them (decimal units, as file managers show). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
