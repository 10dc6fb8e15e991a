import type { Insertable, Selectable } from 'kysely';

export type AppImageKind = 'icon' | 'screenshot';

/**
 * An icon or screenshot of an app. The bytes live in the BlobStore under `sha256` (already
 * re-encoded and stripped of metadata); the row is what makes the blob servable and keeps it
 * from being garbage-collected.
 */
export interface AppImagesTable {
  id: string;
  app_id: string;
  kind: AppImageKind;
  sha256: string;
  size: number;
  width: number;
  height: number;
  content_type: string;
  created_at: string;
}

export type AppImage = Selectable<AppImagesTable>;
export type NewAppImage = Insertable<AppImagesTable>;
