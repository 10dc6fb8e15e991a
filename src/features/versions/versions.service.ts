import type { Readable } from 'node:stream';
import { isUniqueViolation, type Db } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import { ChecksBusyError, PackageStreamScan, type Finding, type PackageChecker, type Manifest, type PackageCheckResult, type PackageLimits } from '../../package/index.js';
import { type AppError, type Actor, type Clock, type FieldError, type Ids } from '../../shared/index.js';
import type { BlobReferences, StagedBlob, BlobStore } from '../../storage/index.js';
import type { App, AppsService } from '../apps/index.js';
import type { SigningKeysService } from '../keys/index.js';
import * as repo from './versions.repository.js';
import type { DryRunResponse, VersionResponse } from './versions.schemas.js';
import type { Version, VersionStatus } from './versions.table.js';
import { versionsError } from './versions.errors.js';

export interface VersionsDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  blobs: BlobStore;
  /** Where this feature says which stored packages it still needs (for `gc`). */
  blobReferences: BlobReferences;
  apps: AppsService;
  signingKeys: SigningKeysService;
  /** Woken after a commit that appended domain events. */
  events: EventNotifier;
  /** Runs the package checks on worker threads under the operator's budget. */
  checker: PackageChecker;
  maxPackageBytes: number;
  packageLimits?: Partial<PackageLimits>;
}

const versionNotFound = () => versionsError('version_not_found', 'No version with this id belongs to this app.');

/** Uploads of one developer received or checked at once, per portal process. */
const MAX_UPLOADS_PER_DEVELOPER = 2;

export class VersionsService {
  private readonly uploadsInFlight = new Map<string, number>();

  constructor(private readonly deps: VersionsDeps) {
    deps.blobReferences.add('version packages', (sha256) => repo.isPackageReferenced(deps.db, sha256));
  }

  /**
   * Takes a .mosis upload: ownership first (before a byte is read, so nobody fills the disk of
   * someone else's app), then the body streams to staging while it is hashed and measured, then
   * the package checks run on the staged file. Only a package that passes is committed to storage
   * and recorded; a failing one is recorded as `failed` with its findings and its bytes dropped.
   */
  async upload(actor: Actor, appId: string, openBody: () => Promise<Readable>, options: { dryRun: boolean }): Promise<VersionResponse | DryRunResponse> {
    const app = await this.deps.apps.owned(actor, appId);
    // One developer cannot take every place in the check queue (nor fill the staging disk).
    const inFlight = this.uploadsInFlight.get(app.owner_id) ?? 0;
    if (inFlight >= MAX_UPLOADS_PER_DEVELOPER) {
      throw versionsError('uploads_in_progress', `${MAX_UPLOADS_PER_DEVELOPER} uploads of yours are still being received or checked; upload again when one has finished.`);
    }
    this.uploadsInFlight.set(app.owner_id, inFlight + 1);
    try {
      return await this.receive(actor, app, openBody, options);
    } finally {
      const left = (this.uploadsInFlight.get(app.owner_id) ?? 1) - 1;
      if (left === 0) this.uploadsInFlight.delete(app.owner_id);
      else this.uploadsInFlight.set(app.owner_id, left);
    }
  }

  private async receive(actor: Actor, app: App, openBody: () => Promise<Readable>, options: { dryRun: boolean }): Promise<VersionResponse | DryRunResponse> {
    // The entries are digested as the bytes arrive, so the checks need not inflate them again.
    const scan = new PackageStreamScan(this.deps.packageLimits);
    let staged: StagedBlob;
    try {
      staged = await this.deps.blobs.stage(await openBody(), { maxBytes: this.deps.maxPackageBytes, observe: (chunk) => scan.write(chunk) });
    } catch (err) {
      scan.abort();
      throw err;
    }
    const scanned = await scan.end();
    try {
      const result = await this.deps.checker
        .check(staged.path, {
          allowedKeys: await this.deps.signingKeys.activeKeys(app.owner_id),
          expectedId: app.package_id,
          previousManifest: await this.previousManifest(app.id),
          limits: this.deps.packageLimits,
          scanned,
        })
        .catch((error: unknown) => {
          if (error instanceof ChecksBusyError) throw versionsError('checks_busy', 'Too many packages are waiting to be checked; upload again in a minute.');
          throw error;
        });
      if (!result.ok || !result.manifest) {
        if (!options.dryRun) await this.recordFailure(app, staged, result);
        throw packageInvalid(result.findings);
      }
      await this.checkNewVersion(app, staged.sha256, result.manifest);
      if (options.dryRun) return dryRun(staged, result.manifest, result.findings);
      await staged.commit();
      return toVersionResponse({ ...(await this.record(app, staged, result.manifest, result, actor)), reviewer_name: null });
    } finally {
      await staged.discard();
    }
  }

  async list(actor: Actor, appId: string, query: { status?: VersionStatus; limit: number; cursor?: string }): Promise<Page<VersionResponse>> {
    const app = await this.deps.apps.owned(actor, appId);
    const rows = await repo.listVersions(this.deps.db, app.id, { status: query.status, before: decodeCursor(query.cursor), limit: query.limit });
    return toPage(rows, query.limit, (v) => v.id, toVersionResponse);
  }

  async get(actor: Actor, appId: string, versionId: string): Promise<VersionResponse> {
    const app = await this.deps.apps.owned(actor, appId);
    const version = await repo.findVersion(this.deps.db, app.id, versionId);
    if (!version) throw versionNotFound();
    return toVersionResponse(version);
  }

  /** Release notes stay editable in every state: they are text for the store, not part of the package. */
  async updateReleaseNotes(actor: Actor, appId: string, versionId: string, releaseNotes: string | null): Promise<VersionResponse> {
    const app = await this.deps.apps.owned(actor, appId);
    const updated = await repo.updateReleaseNotes(this.deps.db, app.id, versionId, releaseNotes === '' ? null : releaseNotes);
    const version = updated ? await repo.findVersion(this.deps.db, app.id, versionId) : undefined;
    if (!version) throw versionNotFound();
    return toVersionResponse(version);
  }

  /** For the garbage collector: whether a stored package blob still belongs to a version. */

  private async previousManifest(appId: string): Promise<Manifest | null> {
    const json = await repo.latestPublishedManifest(this.deps.db, appId);
    return json === null ? null : (JSON.parse(json) as Manifest);
  }

  private async checkNewVersion(app: App, sha256: string, manifest: Manifest): Promise<void> {
    if (await repo.hasPackage(this.deps.db, app.id, sha256)) {
      throw versionsError('version_exists', 'This exact package was already uploaded for this app.');
    }
    const highest = await repo.highestVersionCode(this.deps.db, app.id);
    if (manifest.version_code <= highest) throw versionCodeNotHigher(manifest.version_code, highest);
  }

  private async record(app: App, staged: StagedBlob, manifest: Manifest, result: PackageCheckResult, actor: Actor): Promise<Version> {
    try {
      const version = await this.deps.db.transaction().execute(async (trx) => {
        const row = await repo.insertVersion(trx, {
          ...this.row(app, staged, result, 'pending_review'),
          version: manifest.version,
          version_code: manifest.version_code,
          permissions: JSON.stringify(manifest.permissions),
          manifest: JSON.stringify(manifest),
        });
        const payload = { version_id: row.id, version: row.version, version_code: row.version_code, sha256: row.sha256 };
        await appendEvent(trx, { type: 'version.submitted', appId: app.id, actorId: actor.userId, payload, at: this.deps.clock.now() });
        return row;
      });
      this.deps.events.notify();
      return version;
    } catch (err) {
      // Two uploads raced for one version code; the unique index let only one in.
      if (isUniqueViolation(err)) throw versionCodeNotHigher(manifest.version_code, manifest.version_code);
      throw err;
    }
  }

  /** A failed version keeps what could be read of it, so the developer can see why it failed. */
  private async recordFailure(app: App, staged: StagedBlob, result: PackageCheckResult): Promise<void> {
    const m = result.manifest;
    await repo.insertVersion(this.deps.db, {
      ...this.row(app, staged, result, 'failed'),
      version: m?.version ?? '',
      version_code: m?.version_code ?? 0,
      permissions: JSON.stringify(m?.permissions ?? []),
      manifest: JSON.stringify(m ?? {}),
    });
  }

  private row(app: App, staged: StagedBlob, result: PackageCheckResult, status: VersionStatus) {
    const now = this.deps.clock.now().toISOString();
    return {
      id: this.deps.ids.id(),
      app_id: app.id,
      status,
      sha256: staged.sha256,
      size: staged.size,
      checks: JSON.stringify(result.findings),
      // Kept for review, which must not re-read a package to list it.
      files: JSON.stringify(result.files.map((f) => ({ path: f.path, size: f.size }))),
      checked_at: now,
      release_notes: null,
      channel: null,
      rollout_percent: null,
      created_at: now,
      published_at: null,
    };
  }
}

function packageInvalid(findings: Finding[]): AppError {
  const blocking = findings.filter((f) => f.severity === 'error');
  const fieldErrors: FieldError[] = findings.map((f) => ({ path: f.file ?? 'package', ...f }));
  return versionsError('package_invalid', `The package failed ${blocking.length} blocking check${blocking.length === 1 ? '' : 's'}.`, fieldErrors);
}

function versionCodeNotHigher(code: number, highest: number): AppError {
  return versionsError('version_code_not_higher', `version_code ${code} must be greater than ${highest}, the highest this app already has.`);
}

function dryRun(staged: StagedBlob, manifest: Manifest, findings: Finding[]): DryRunResponse {
  return {
    dry_run: true,
    version: manifest.version,
    version_code: manifest.version_code,
    sha256: staged.sha256,
    size: staged.size,
    permissions: manifest.permissions,
    checks: findings,
  };
}

export function toVersionResponse(v: repo.ReviewedVersion): VersionResponse {
  return {
    id: v.id,
    app_id: v.app_id,
    version: v.version,
    version_code: v.version_code,
    status: v.status,
    sha256: v.sha256,
    size: v.size,
    permissions: JSON.parse(v.permissions) as string[],
    release_notes: v.release_notes,
    checks: JSON.parse(v.checks) as Finding[],
    review: v.review_decision === null || v.decided_at === null ? null : { decision: v.review_decision, notes: v.review_notes, reviewer_name: v.reviewer_name, decided_at: v.decided_at },
    channel: v.channel,
    rollout_percent: v.rollout_percent,
    rollout: v.published_at === null ? null : { halted: v.halted_at !== null, halt_reason: v.halt_reason, halted_at: v.halted_at },
    superseded_at: v.superseded_at,
    yank: v.yanked_at === null ? null : { reason: v.yank_reason ?? '', yanked_at: v.yanked_at },
    created_at: v.created_at,
    published_at: v.published_at,
  };
}
