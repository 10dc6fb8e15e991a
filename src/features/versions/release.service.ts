import type { Db, Executor } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import type { Actor, Clock } from '../../shared/index.js';
import type { App, AppsService } from '../apps/index.js';
import type { AuditLog } from '../audit/index.js';
import * as releaseRepo from './release.repository.js';
import { versionsError } from './versions.errors.js';
import * as repo from './versions.repository.js';
import type { PublishInput, RolloutInput, VersionResponse, YankInput } from './versions.schemas.js';
import { toVersionResponse } from './versions.service.js';
import type { Channel, Version } from './versions.table.js';

export interface ReleaseDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  apps: AppsService;
  /** Woken after a commit that appended domain events. */
  events: EventNotifier;
}

/** What an approved version is published with when its app publishes on approval. */
export const DEFAULT_RELEASE = { channel: 'stable' as Channel, rolloutPercent: 100 };

/**
 * From approved to the store and back out: publish on a channel at a rollout percentage (a newer
 * version supersedes the one live there), raise, lower, halt and resume the rollout, and yank.
 * Every step is one transaction with its event; the app's status follows (published while any
 * version is live). The routes guard these with the `versions:publish` scope.
 */
export class ReleaseService {
  constructor(private readonly deps: ReleaseDeps) {}

  async publish(actor: Actor, appId: string, versionId: string, input: PublishInput): Promise<VersionResponse> {
    const { app, version } = await this.ownedVersion(actor, appId, versionId);
    if (version.status !== 'approved') throw versionsError('version_not_approved', `This version is ${version.status}; only an approved version can be published.`);
    const published = await this.deps.db.transaction().execute((trx) =>
      this.publishApproved(trx, app, version, { channel: input.channel, rolloutPercent: input.rollout_percent }, actor.userId),
    );
    this.deps.events.notify();
    return this.present(app.id, published.id);
  }

  /**
   * Publishes an approved version inside the caller's transaction (the review decision of an app
   * that publishes on approval uses it too). The caller notifies the event log after commit.
   */
  async publishApproved(trx: Executor, app: Pick<App, 'id'>, version: Version, release: { channel: Channel; rolloutPercent: number }, actorId: string): Promise<Version>;
  /** With `onlyIfNewest`: answers null, changing nothing, when a newer version is live on the channel. */
  async publishApproved(trx: Executor, app: Pick<App, 'id'>, version: Version, release: { channel: Channel; rolloutPercent: number }, actorId: string, onlyIfNewest: true): Promise<Version | null>;
  async publishApproved(trx: Executor, app: Pick<App, 'id'>, version: Version, release: { channel: Channel; rolloutPercent: number }, actorId: string, onlyIfNewest = false): Promise<Version | null> {
    await releaseRepo.lockAppForRelease(trx, app.id);
    const at = this.deps.clock.now();
    const live = await releaseRepo.liveOnChannel(trx, app.id, release.channel);
    const newer = live.find((v) => v.id !== version.id && v.version_code > version.version_code);
    if (newer && onlyIfNewest) return null;
    if (newer) throw versionsError('version_older_than_live', `Version ${newer.version} (code ${newer.version_code}) is already live on ${release.channel}.`);
    const superseded = live.filter((v) => v.id !== version.id).map((v) => v.id);
    await releaseRepo.supersede(trx, superseded, at.toISOString());
    const published = await releaseRepo.publishApproved(trx, version.id, { ...release, at: at.toISOString() });
    if (!published) throw versionsError('version_not_approved', 'This version is no longer approved; it may have been published already.');
    await releaseRepo.followAppStatus(trx, app.id, at.toISOString());
    const details = { app_id: app.id, version_code: version.version_code, channel: release.channel, rollout_percent: release.rolloutPercent, superseded };
    await this.deps.audit.record({ action: 'version.published', actorId, targetType: 'version', targetId: version.id, details }, trx);
    await appendEvent(trx, {
      type: 'version.published',
      appId: app.id,
      actorId,
      payload: { version_id: version.id, version_code: version.version_code, channel: release.channel, rollout_percent: release.rolloutPercent, superseded },
      at,
    });
    return published;
  }

  /** Raises or lowers the percentage, or halts and resumes the rollout of a live version. */
  async rollout(actor: Actor, appId: string, versionId: string, input: RolloutInput): Promise<VersionResponse> {
    const { app, version } = await this.ownedVersion(actor, appId, versionId);
    assertLive(version);
    const at = this.deps.clock.now();
    const change =
      input.halted === undefined
        ? { rollout_percent: input.rollout_percent }
        : input.halted
          ? { halted_at: at.toISOString(), halt_reason: input.reason ?? 'Halted by the developer.' }
          : { halted_at: null, halt_reason: null };
    await this.deps.db.transaction().execute(async (trx) => {
      await releaseRepo.lockAppForRelease(trx, app.id);
      const changed = await releaseRepo.changeRollout(trx, version.id, change);
      if (!changed) throw versionsError('version_not_live', 'This version is no longer live.');
      const details = { app_id: app.id, version_code: version.version_code, rollout_percent: changed.rollout_percent, halted: changed.halted_at !== null, reason: changed.halt_reason };
      await this.deps.audit.record({ action: 'version.rollout_changed', actorId: actor.userId, targetType: 'version', targetId: version.id, details }, trx);
      await appendEvent(trx, {
        type: 'version.rollout_changed',
        appId: app.id,
        actorId: actor.userId,
        payload: { version_id: version.id, version_code: version.version_code, rollout_percent: changed.rollout_percent, halted: changed.halted_at !== null, reason: changed.halt_reason },
        at,
      });
    });
    this.deps.events.notify();
    return this.present(app.id, version.id);
  }

  /** Withdraws a published version from the store, with a reason kept for the developer and the audit log. */
  async yank(actor: Actor, appId: string, versionId: string, input: YankInput, ip: string | null): Promise<VersionResponse> {
    const { app, version } = await this.ownedVersion(actor, appId, versionId);
    if (version.status !== 'published') throw versionsError('version_not_published', `This version is ${version.status}; only a published version can be yanked.`);
    const at = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await releaseRepo.lockAppForRelease(trx, app.id);
      const yanked = await releaseRepo.yank(trx, version.id, input.reason, at.toISOString());
      if (!yanked) throw versionsError('version_not_published', 'This version is no longer published.');
      // The channel's live version is gone: the one it superseded is what devices get again.
      const restored = yanked.superseded_at === null && yanked.channel !== null ? await releaseRepo.restorePreviousLive(trx, app.id, yanked.channel) : null;
      await releaseRepo.followAppStatus(trx, app.id, at.toISOString());
      const details = { app_id: app.id, package_id: app.package_id, version: version.version, version_code: version.version_code, reason: input.reason, restored };
      await this.deps.audit.record({ action: 'version.yanked', actorId: actor.userId, targetType: 'version', targetId: version.id, ip, details }, trx);
      await appendEvent(trx, { type: 'version.yanked', appId: app.id, actorId: actor.userId, payload: { version_id: version.id, version_code: version.version_code, reason: input.reason, restored }, at });
    });
    this.deps.events.notify();
    return this.present(app.id, version.id);
  }

  private async ownedVersion(actor: Actor, appId: string, versionId: string): Promise<{ app: App; version: Version }> {
    const app = await this.deps.apps.owned(actor, appId);
    const version = await repo.findVersion(this.deps.db, app.id, versionId);
    if (!version) throw versionsError('version_not_found', 'No version with this id belongs to this app.');
    return { app, version };
  }

  private async present(appId: string, versionId: string): Promise<VersionResponse> {
    const version = await repo.findVersion(this.deps.db, appId, versionId);
    if (!version) throw versionsError('version_not_found', 'No version with this id belongs to this app.');
    return toVersionResponse(version);
  }
}

function assertLive(version: Version): void {
  if (version.status !== 'published' || version.superseded_at !== null) {
    const why = version.status === 'published' ? 'superseded by a newer version on its channel' : version.status;
    throw versionsError('version_not_live', `This version is ${why}; only a live version's rollout can change.`);
  }
}
