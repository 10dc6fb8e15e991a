import type { Readable } from 'node:stream';
import { isUniqueViolation, type Db } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import type { JobContext, JobQueue } from '../../jobs/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import { ChecksBusyError, finding, PackageStreamScan, type Finding, type PackageChecker, type Manifest, type PackageCheckResult, type PackageLimits } from '../../package/index.js';
import { type AppError, type Actor, type Clock, type FieldError, type Ids } from '../../shared/index.js';
import type { BlobReferences, StagedBlob, BlobStore } from '../../storage/index.js';
import type { App, AppsService } from '../apps/index.js';
import type { SigningKeysService } from '../keys/index.js';
import * as repo from './versions.repository.js';
import type { DryRunResponse, VersionHistoryEntry, VersionResponse } from './versions.schemas.js';
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
  /** The durable queue the checks run on (`versions.check`), and a nudge for the worker. */
  jobs: JobQueue;
  wake: () => void;
  /** Told of each package received and each run of the checks (the portal's metrics). */
  metrics?: PackageMetrics;
}

/** What the portal's metrics learn from uploads: bytes received and how long the checks took. */
export interface PackageMetrics {
  /** A package body arrived whole (staged): its size, and whether it was a dry run. */
  received(bytes: number, dryRun: boolean): void;
  /** One run of the package checks (not one refused as busy): seconds, and how it ended. */
  checked(seconds: number, outcome: 'passed' | 'failed' | 'error'): void;
}

export const CHECK_JOB = 'versions.check';
/** Versions of one developer waiting for their checks: more is refused until some are done. */
const MAX_PROCESSING_PER_DEVELOPER = 4;

const versionNotFound = () => versionsError('version_not_found', 'No version with this id belongs to this app.');

/** Uploads of one developer streaming in (or checked, for a dry run) at once, per portal process. */
const MAX_UPLOADS_PER_DEVELOPER = 2;

export class VersionsService {
  private readonly uploadsInFlight = new Map<string, number>();

  constructor(private readonly deps: VersionsDeps) {
    deps.blobReferences.add('version packages', (sha256) => repo.isPackageReferenced(deps.db, sha256));
    // Checks that cannot get a thread (ChecksBusyError) or whose worker died try again later; a
    // package that keeps failing to be checked at all ends `dead`, visible to admins.
    deps.jobs.define<{ version_id: string }>(CHECK_JOB, { maxAttempts: 8, backoff: { baseMs: 5_000, maxMs: 10 * 60_000 }, timeoutMs: 15 * 60_000, handler: (job) => this.runCheck(job) });
  }

  /**
   * Takes a .mosis upload: ownership first (before a byte is read, so nobody fills the disk of
   * someone else's app), then the body streams to staging while it is hashed and measured (413
   * mid-stream past the limit). The package is stored and recorded `processing`, and a job runs the
   * checks (runCheck). A dry run checks at once, on the staged file, and stores nothing.
   */
  async upload(actor: Actor, appId: string, openBody: () => Promise<Readable>, options: { dryRun: boolean }): Promise<VersionResponse | DryRunResponse> {
    const app = await this.deps.apps.owned(actor, appId);
    // One developer cannot fill the staging disk nor take every check thread with dry runs.
    const inFlight = this.uploadsInFlight.get(app.owner_id) ?? 0;
    if (inFlight >= MAX_UPLOADS_PER_DEVELOPER) {
      throw versionsError('uploads_in_progress', `${MAX_UPLOADS_PER_DEVELOPER} uploads of yours are still being received; upload again when one has finished.`);
    }
    this.uploadsInFlight.set(app.owner_id, inFlight + 1);
    try {
      return options.dryRun ? await this.dryRun(app, openBody) : await this.accept(actor, app, openBody);
    } finally {
      const left = (this.uploadsInFlight.get(app.owner_id) ?? 1) - 1;
      if (left === 0) this.uploadsInFlight.delete(app.owner_id);
      else this.uploadsInFlight.set(app.owner_id, left);
    }
  }

  private async dryRun(app: App, openBody: () => Promise<Readable>): Promise<DryRunResponse> {
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
    this.deps.metrics?.received(staged.size, true);
    try {
      const minVersionCode = (await repo.highestVersionCode(this.deps.db, app.id)) + 1;
      const result = await this.check(staged.path, { ...(await this.checkOptions(app)), scanned, minVersionCode }).catch((error: unknown) => {
        if (error instanceof ChecksBusyError) throw versionsError('checks_busy', 'Too many packages are waiting to be checked; try again in a minute.');
        throw error;
      });
      if (!result.ok || !result.manifest) throw packageInvalid(result.findings);
      if (await repo.hasPackage(this.deps.db, app.id, staged.sha256)) throw versionsError('version_exists', 'This exact package was already uploaded for this app.');
      return dryRun(staged, result.manifest, result.findings);
    } finally {
      await staged.discard();
    }
  }

  /** Stores the package and records it `processing`, with its check job, in one transaction. */
  private async accept(actor: Actor, app: App, openBody: () => Promise<Readable>): Promise<VersionResponse> {
    const staged = await this.deps.blobs.stage(await openBody(), { maxBytes: this.deps.maxPackageBytes });
    this.deps.metrics?.received(staged.size, false);
    try {
      if (await repo.hasPackage(this.deps.db, app.id, staged.sha256)) throw versionsError('version_exists', 'This exact package was already uploaded for this app.');
      if ((await repo.countProcessing(this.deps.db, app.owner_id)) >= MAX_PROCESSING_PER_DEVELOPER) {
        throw versionsError('uploads_in_progress', `${MAX_PROCESSING_PER_DEVELOPER} uploads of yours are still being checked; upload again when one has finished.`);
      }
      await staged.commit();
      const at = this.deps.clock.now();
      const version = await this.deps.db.transaction().execute(async (trx) => {
        const row = await repo.insertVersion(trx, {
          id: this.deps.ids.id(),
          app_id: app.id,
          // Known once the checks have read the manifest.
          version: '',
          version_code: 0,
          status: 'processing',
          sha256: staged.sha256,
          size: staged.size,
          permissions: '[]',
          manifest: '{}',
          checks: '[]',
          release_notes: null,
          channel: null,
          rollout_percent: null,
          created_at: at.toISOString(),
          published_at: null,
        });
        await this.deps.jobs.enqueue(trx, { kind: CHECK_JOB, payload: { version_id: row.id } });
        await appendEvent(trx, { type: 'version.submitted', appId: app.id, actorId: actor.userId, payload: { version_id: row.id, sha256: row.sha256, size: row.size }, at });
        return row;
      });
      this.deps.events.notify();
      this.deps.wake();
      return toVersionResponse({ ...version, reviewer_name: null });
    } finally {
      await staged.discard();
    }
  }

  /**
   * The check job: runs every package check on the stored package and moves the version to
   * `pending_review` or `failed` (findings kept), in one transaction with the job's "done", so a
   * crash anywhere before it leaves the job to run again and the version never stuck in
   * `processing`. A failed version no longer holds its package; `gc` collects the bytes.
   */
  private async runCheck(job: JobContext<{ version_id: string }>): Promise<void> {
    const { db } = this.deps;
    const version = await repo.findVersionById(db, job.payload.version_id);
    if (!version || version.status !== 'processing') return;
    const app = await this.deps.apps.byId(version.app_id);
    if (!app) return;
    const file = await this.deps.blobs.localFile(version.sha256);
    if (!file) throw new Error(`the package of version ${version.id} is not in the blob store`);
    let result: PackageCheckResult;
    try {
      const options = await this.checkOptions(app);
      result = await this.check(file.path, { ...options, minVersionCode: (await repo.highestVersionCode(db, app.id)) + 1 });
    } finally {
      await file.release();
    }
    try {
      await this.recordCheck(job, version, app, result);
    } catch (err) {
      // Another upload of the same version_code was checked first: this one loses the code.
      if (!isUniqueViolation(err)) throw err;
      const code = result.manifest?.version_code ?? 0;
      const lost = finding('version_code_not_higher', `manifest.json: version_code ${code} was taken by another upload of this app checked at the same time`, { file: 'manifest.json' });
      await this.recordCheck(job, version, app, { ...result, ok: false, findings: [...result.findings, lost] });
    }
    this.deps.events.notify();
  }

  /** The checker's run, timed for the metrics (a check refused as busy never ran). */
  private async check(file: string, options: Parameters<PackageChecker['check']>[1]): Promise<PackageCheckResult> {
    const started = performance.now();
    try {
      const result = await this.deps.checker.check(file, options);
      this.deps.metrics?.checked((performance.now() - started) / 1000, result.ok ? 'passed' : 'failed');
      return result;
    } catch (error) {
      if (!(error instanceof ChecksBusyError)) this.deps.metrics?.checked((performance.now() - started) / 1000, 'error');
      throw error;
    }
  }

  private async recordCheck(job: JobContext<{ version_id: string }>, version: Version, app: App, result: PackageCheckResult): Promise<void> {
    const at = this.deps.clock.now();
    const passed = result.ok && result.manifest !== null;
    const m = result.manifest;
    await this.deps.db.transaction().execute(async (trx) => {
      const recorded = await repo.recordCheck(trx, version.id, {
        status: passed ? 'pending_review' : 'failed',
        version: m?.version ?? '',
        version_code: m?.version_code ?? 0,
        permissions: JSON.stringify(m?.permissions ?? []),
        manifest: JSON.stringify(m ?? {}),
        checks: JSON.stringify(result.findings),
        // Kept for review, which must not re-read a package to list it.
        files: JSON.stringify(result.files.map((f) => ({ path: f.path, size: f.size }))),
        checked_at: at.toISOString(),
      });
      if (!recorded) return;
      const blocking = result.findings.filter((f) => f.severity === 'error').length;
      const payload = { version_id: version.id, status: passed ? 'pending_review' : 'failed', version: m?.version ?? null, version_code: m?.version_code ?? null, blocking_findings: blocking };
      await appendEvent(trx, { type: 'version.checked', appId: app.id, actorId: null, payload, at });
      await job.markDone(trx);
    });
  }

  private async checkOptions(app: App) {
    return {
      allowedKeys: await this.deps.signingKeys.activeKeys(app.owner_id),
      expectedId: app.package_id,
      previousManifest: await this.previousManifest(app.id),
      limits: this.deps.packageLimits,
    };
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

  /**
   * What happened to a version, oldest first, from the domain event log: its upload, checks,
   * review decision, publish, rollout changes and yank, and the changes other versions made to it
   * (superseded by a newer publish, live again after a newer one's yank).
   */
  async history(actor: Actor, appId: string, versionId: string): Promise<{ items: VersionHistoryEntry[] }> {
    const app = await this.deps.apps.owned(actor, appId);
    const version = await repo.findVersion(this.deps.db, app.id, versionId);
    if (!version) throw versionNotFound();
    const items: VersionHistoryEntry[] = [];
    for (const row of await repo.versionEvents(this.deps.db, app.id, version.id)) {
      const data = JSON.parse(row.payload) as Record<string, unknown>;
      // The LIKE found the id somewhere in the payload; only these places make it about this version.
      const names = data['version_id'] === version.id || data['restored'] === version.id || (Array.isArray(data['superseded']) && data['superseded'].includes(version.id));
      if (!names) continue;
      const actorKind = row.actor_id === null ? 'portal' : row.actor_id === app.owner_id ? 'owner' : 'staff';
      items.push({ id: row.id, type: row.type as VersionHistoryEntry['type'], created_at: row.created_at, actor: actorKind, data });
    }
    return { items };
  }

  /** Release notes stay editable in every state: they are text for the store, not part of the package. */
  async updateReleaseNotes(actor: Actor, appId: string, versionId: string, releaseNotes: string | null): Promise<VersionResponse> {
    const app = await this.deps.apps.owned(actor, appId);
    const notes = releaseNotes === '' ? null : releaseNotes;
    const version = await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.updateReleaseNotes(trx, app.id, versionId, notes))) throw versionNotFound();
      const row = await repo.findVersion(trx, app.id, versionId);
      if (!row) throw versionNotFound();
      // Devices read the notes of published versions from the store, which follows this event.
      await appendEvent(trx, { type: 'version.notes_changed', appId: app.id, actorId: actor.userId, payload: { version_id: row.id, version_code: row.version_code }, at: this.deps.clock.now() });
      return row;
    });
    this.deps.events.notify();
    return toVersionResponse(version);
  }

  private async previousManifest(appId: string): Promise<Manifest | null> {
    const json = await repo.latestPublishedManifest(this.deps.db, appId);
    return json === null ? null : (JSON.parse(json) as Manifest);
  }
}

function packageInvalid(findings: Finding[]): AppError {
  const blocking = findings.filter((f) => f.severity === 'error');
  const fieldErrors: FieldError[] = findings.map((f) => ({ path: f.file ?? 'package', ...f }));
  return versionsError('package_invalid', `The package failed ${blocking.length} blocking check${blocking.length === 1 ? '' : 's'}.`, fieldErrors);
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
