import { Readable } from 'node:stream';
import type { Db, Executor } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import { type Actor, type Clock, type Ids } from '../../shared/index.js';
import type { BlobReferences, BlobStore } from '../../storage/index.js';
import { touchApp } from './apps.repository.js';
import type { AppResponse, ScreenshotResponse } from './apps.schemas.js';
import { toScreenshotResponse, type AppsService } from './apps.service.js';
import type { App } from './apps.table.js';
import { ICON_POLICY, reencodeImage, SCREENSHOT_POLICY, type EncodedImage, type ImagePolicy } from './image-codec.js';
import * as repo from './images.repository.js';
import type { AppImage, AppImageKind } from './images.table.js';
import { appsError } from './apps.errors.js';

export interface AppImagesDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  blobs: BlobStore;
  /** Where this feature says which stored images it still needs (for `gc`). */
  blobReferences: BlobReferences;
  apps: AppsService;
  /** Woken after a commit that appended domain events (the store shows icons and screenshots). */
  events: EventNotifier;
}

/** Upload limit per image, enforced while the body streams in. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
export const MAX_SCREENSHOTS = 8;

const screenshotNotFound = () => appsError('screenshot_not_found', 'No screenshot with this id belongs to this app.');
const tooManyScreenshots = () => appsError('screenshot_limit_reached', `An app has at most ${MAX_SCREENSHOTS} screenshots; delete one first.`);

export interface MediaBlob {
  contentType: string;
  /** The blob's bytes; media_not_found when the store has lost it. */
  size(): Promise<number>;
  open(): Promise<Readable>;
}

/**
 * Icons and screenshots. An upload is checked for ownership before a byte is read, staged with
 * the size limit enforced mid-stream, decoded and re-encoded (so what is served is pixels the
 * portal wrote, never the uploaded file), and only then committed to storage and recorded.
 */
export class AppImagesService {
  constructor(private readonly deps: AppImagesDeps) {
    // A blob that is some app's current icon or screenshot: the garbage collector must keep it.
    deps.blobReferences.add('app images', async (sha256) => (await repo.servableContentType(deps.db, sha256)) !== undefined);
  }

  /** Sets or replaces the icon and answers the updated app. */
  async setIcon(actor: Actor, appId: string, openBody: () => Promise<Readable>): Promise<AppResponse> {
    const app = await this.deps.apps.owned(actor, appId);
    await this.store(app, 'icon', ICON_POLICY, openBody, (tx) => repo.deleteIcon(tx, app.id));
    return this.deps.apps.get(actor, appId);
  }

  async removeIcon(actor: Actor, appId: string): Promise<void> {
    const app = await this.deps.apps.owned(actor, appId);
    await this.change(app, 'icon', async (tx) => {
      if (!(await repo.deleteIcon(tx, app.id))) throw appsError('icon_not_found', 'This app has no icon.');
    });
  }

  async addScreenshot(actor: Actor, appId: string, openBody: () => Promise<Readable>): Promise<ScreenshotResponse> {
    const app = await this.deps.apps.owned(actor, appId);
    // Checked before the upload too, so a full app does not make the client send 10 MiB for nothing.
    if ((await repo.countScreenshots(this.deps.db, app.id)) >= MAX_SCREENSHOTS) throw tooManyScreenshots();
    const image = await this.store(app, 'screenshot', SCREENSHOT_POLICY, openBody, async (tx) => {
      if ((await repo.countScreenshots(tx, app.id)) >= MAX_SCREENSHOTS) throw tooManyScreenshots();
    });
    return toScreenshotResponse(image);
  }

  async listScreenshots(actor: Actor, appId: string): Promise<{ items: ScreenshotResponse[]; next_cursor: null }> {
    const app = await this.deps.apps.owned(actor, appId);
    const rows = await repo.listScreenshots(this.deps.db, app.id);
    return { items: rows.map(toScreenshotResponse), next_cursor: null };
  }

  async removeScreenshot(actor: Actor, appId: string, screenshotId: string): Promise<void> {
    const app = await this.deps.apps.owned(actor, appId);
    await this.change(app, 'screenshot', async (tx) => {
      if (!(await repo.deleteScreenshot(tx, app.id, screenshotId))) throw screenshotNotFound();
    });
  }

  /** Removes an image in one transaction with the app's touch and its listing.changed event. */
  private async change(app: App, kind: AppImageKind, remove: (tx: Executor) => Promise<void>): Promise<void> {
    await this.deps.db.transaction().execute(async (tx) => {
      await remove(tx);
      const at = this.deps.clock.now();
      await touchApp(tx, app.id, at.toISOString());
      await appendEvent(tx, { type: 'listing.changed', appId: app.id, actorId: app.owner_id, payload: { media: kind, removed: true }, at });
    });
    this.deps.events.notify();
  }

  /**
   * A blob for the public media route, only while it is some app's icon or screenshot: the
   * route must not become a way to read packages or anything else in the store by hash.
   */
  async media(sha256: string): Promise<MediaBlob> {
    const notFound = () => appsError('media_not_found', 'No image with this address.');
    const contentType = await repo.servableContentType(this.deps.db, sha256);
    if (!contentType) throw notFound();
    return {
      contentType,
      size: async () => {
        const size = await this.deps.blobs.size(sha256);
        if (size === null) throw notFound();
        return size;
      },
      open: () => this.deps.blobs.open(sha256),
    };
  }

  /**
   * Stages, re-encodes and records one image. `prepare` runs inside the transaction after the
   * app row is locked (limit checks, replacing the old icon); the blob is committed inside the
   * transaction too, so a refusal there leaves neither a row nor a blob.
   */
  private async store(
    app: App,
    kind: AppImageKind,
    policy: ImagePolicy,
    openBody: () => Promise<Readable>,
    prepare: (tx: Executor) => Promise<unknown>,
  ): Promise<AppImage> {
    const encoded = await this.reencodeUpload(openBody, policy);
    const blob = await this.deps.blobs.stage(Readable.from([encoded.data]), { maxBytes: encoded.data.length });
    try {
      const image = await this.deps.db.transaction().execute(async (tx) => {
        const now = this.deps.clock.now().toISOString();
        await touchApp(tx, app.id, now);
        await prepare(tx);
        const row = await repo.insertImage(tx, {
          id: this.deps.ids.id(),
          app_id: app.id,
          kind,
          sha256: blob.sha256,
          size: blob.size,
          width: encoded.width,
          height: encoded.height,
          content_type: encoded.contentType,
          created_at: now,
        });
        await appendEvent(tx, { type: 'listing.changed', appId: app.id, actorId: app.owner_id, payload: { media: kind }, at: new Date(now) });
        await blob.commit();
        return row;
      });
      this.deps.events.notify();
      return image;
    } finally {
      await blob.discard();
    }
  }

  /** The upload is staged on disk (never held whole in memory) and dropped once decoded. */
  private async reencodeUpload(openBody: () => Promise<Readable>, policy: ImagePolicy): Promise<EncodedImage> {
    const upload = await this.deps.blobs.stage(await openBody(), { maxBytes: MAX_IMAGE_BYTES });
    try {
      return await reencodeImage(upload.path, policy);
    } finally {
      await upload.discard();
    }
  }
}
