import { commonError } from './common.errors.js';

/**
 * Pages of a list as DESIGN.md defines them (`{items, next_cursor}`, opaque cursors), for services
 * and jobs alike; the HTTP side (`?limit=&cursor=` and the response schema) is http/pagination.ts.
 */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Cursors are the last seen sort key, wrapped so clients treat them as opaque. */
export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'k' in parsed && typeof parsed.k === 'string') return parsed.k;
  } catch {
    // fall through to the error below
  }
  throw commonError('invalid_cursor');
}

/** Builds a page from `limit + 1` fetched rows: the extra row only proves there is a next page. */
export function toPage<Row, Item>(rows: Row[], limit: number, key: (row: Row) => string, map: (row: Row) => Item): Page<Item> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(map),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null,
  };
}
