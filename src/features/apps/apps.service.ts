import { isUniqueViolation, type Db } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import { appRestriction, commonError, assertMayActOnApp, assertNotAppRestricted, type Actor, type Clock, type Ids } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import * as repo from './apps.repository.js';
import type { AppResponse, CreateAppInput, ScreenshotResponse, UpdateAppInput } from './apps.schemas.js';
import type { App, AppStatus } from './apps.table.js';
import { imagesOfApps } from './images.repository.js';
import type { AppImage } from './images.table.js';
import { mediaUrl } from './media-url.js';
import { appsError, appsErrors } from './apps.errors.js';

export interface AppsDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
  /** Woken after a commit that appended domain events. */
  events: EventNotifier;
}

const NOT_YOURS = 'No app with this id belongs to you.';
const appNotFound = () => appsError('app_not_found', NOT_YOURS);

export class AppsService {
  constructor(private readonly deps: AppsDeps) {}

  async create(actor: Actor, input: CreateAppInput): Promise<AppResponse> {
    assertNotAppRestricted(actor);
    const at = this.deps.clock.now();
    const now = at.toISOString();
    try {
      const app = await this.deps.db.transaction().execute(async (trx) => {
        const row = await repo.insertApp(trx, {
          id: this.deps.ids.id(),
          owner_id: actor.userId,
          package_id: input.package_id,
          name: input.name,
          summary: input.summary,
          description: input.description,
          category: input.category,
          status: 'draft',
          created_at: now,
          updated_at: now,
        });
        await appendEvent(trx, { type: 'app.created', appId: row.id, actorId: actor.userId, payload: { package_id: row.package_id, name: row.name }, at });
        return row;
      });
      this.deps.events.notify();
      return toAppResponse(app, []);
    } catch (err) {
      if (isUniqueViolation(err)) throw appsError('package_id_taken', `The package id ${input.package_id} is already registered.`);
      throw err;
    }
  }

  async list(actor: Actor, query: { status?: AppStatus; limit: number; cursor?: string }): Promise<Page<AppResponse>> {
    const before = decodeCursor(query.cursor);
    const rows = await repo.listOwnedApps(this.deps.db, actor.userId, { status: query.status, only: appRestriction(actor), before, limit: query.limit });
    const images = await imagesOfApps(this.deps.db, rows.slice(0, query.limit).map((a) => a.id));
    return toPage(rows, query.limit, (a) => a.id, (a) => toAppResponse(a, images));
  }

  async get(actor: Actor, appId: string): Promise<AppResponse> {
    return this.present(await this.owned(actor, appId));
  }

  /** Edits the default listing fields (`category: null` clears the category), auto_publish and the crash guard. */
  async update(actor: Actor, appId: string, input: UpdateAppInput): Promise<AppResponse> {
    const app = await this.owned(actor, appId);
    const at = this.deps.clock.now();
    const { auto_publish, crash_guard, ...listing } = input;
    const fields = Object.keys(listing);
    const releaseSettings = auto_publish !== undefined || crash_guard !== undefined;
    // These decide what reaches devices: the publishing scope, as for publish itself.
    if (releaseSettings && actor.scopes !== null && !actor.scopes.includes('versions:publish')) {
      throw commonError('insufficient_scope', 'Changing auto_publish or crash_guard needs an API key with the versions:publish scope.');
    }
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const row = await repo.updateApp(trx, app.id, {
        ...listing,
        ...(auto_publish === undefined ? {} : { auto_publish: auto_publish ? 1 : 0 }),
        ...(crash_guard === undefined ? {} : { crash_guard_percent: crash_guard.crash_free_percent, crash_guard_min_sessions: crash_guard.min_sessions }),
        updated_at: at.toISOString(),
      });
      if (!row) throw appNotFound();
      if (releaseSettings) {
        const settings = (x: App) => ({ auto_publish: Number(x.auto_publish) === 1, crash_guard: { crash_free_percent: Number(x.crash_guard_percent), min_sessions: Number(x.crash_guard_min_sessions) } });
        const details = { before: settings(app), after: settings(row) };
        await this.deps.audit.record({ action: 'app.release_settings_changed', actorId: actor.userId, targetType: 'app', targetId: app.id, details }, trx);
      }
      if (fields.length > 0) await appendEvent(trx, { type: 'listing.changed', appId: app.id, actorId: actor.userId, payload: { locale: 'default', fields }, at });
      return row;
    });
    if (fields.length > 0) this.deps.events.notify();
    return this.present(updated);
  }

  /**
   * Deletes a draft app with everything recorded for it. Blobs are left in storage for the
   * garbage collector: another app or version may share the same content.
   */
  async delete(actor: Actor, appId: string, ip: string | null): Promise<void> {
    const app = await this.owned(actor, appId);
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.deleteUnpublishedApp(trx, app.id))) {
        throw appsError('app_has_published_versions', 'This app has a published or yanked version; it stays in the portal so installed copies keep their history.');
      }
      // The row is gone, so the entry keeps what identified it.
      await this.deps.audit.record({ action: 'app.deleted', actorId: actor.userId, targetType: 'app', targetId: app.id, ip, details: { package_id: app.package_id, name: app.name } }, trx);
      await appendEvent(trx, { type: 'app.deleted', appId: app.id, actorId: actor.userId, payload: { package_id: app.package_id }, at: this.deps.clock.now() });
    });
    this.deps.events.notify();
  }

  /**
   * The app, if the caller owns it (and, for an API key restricted to some apps, is one of them:
   * every app-scoped service comes through here). Someone else's app answers exactly like a missing one, so ids
   * cannot be probed, but is audited as an authorization failure.
   */
  async owned(actor: Actor, appId: string): Promise<App> {
    assertMayActOnApp(actor, appId);
    const app = await repo.findApp(this.deps.db, appId);
    if (!app) throw appNotFound();
    if (app.owner_id !== actor.userId) throw appsErrors.denied('app_not_found', NOT_YOURS, { type: 'app', id: app.id });
    return app;
  }

  /** The app by id, for background work that acts for its owner (no caller to check). */
  byId(appId: string): Promise<App | undefined> {
    return repo.findApp(this.deps.db, appId);
  }

  private async present(app: App): Promise<AppResponse> {
    return toAppResponse(app, await imagesOfApps(this.deps.db, [app.id]));
  }
}

/** `images` may hold other apps' images too (a page's worth); only this app's are used. */
export function toAppResponse(app: App, images: readonly AppImage[]): AppResponse {
  const own = images.filter((i) => i.app_id === app.id);
  const icon = own.find((i) => i.kind === 'icon');
  return {
    id: app.id,
    package_id: app.package_id,
    name: app.name,
    summary: app.summary,
    description: app.description,
    category: app.category,
    status: app.status,
    auto_publish: Number(app.auto_publish) === 1,
    crash_guard: { crash_free_percent: Number(app.crash_guard_percent), min_sessions: Number(app.crash_guard_min_sessions) },
    icon_url: icon ? mediaUrl(icon.sha256) : null,
    screenshots: own.filter((i) => i.kind === 'screenshot').map(toScreenshotResponse),
    created_at: app.created_at,
    updated_at: app.updated_at,
  };
}

export function toScreenshotResponse(image: AppImage): ScreenshotResponse {
  return { id: image.id, url: mediaUrl(image.sha256), width: image.width, height: image.height };
}
