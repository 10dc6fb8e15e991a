import type { Readable } from 'node:stream';
import type { Db } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import { diffPermissions, PERMISSION_RISK, type Finding, type Manifest, type Permission } from '../../package/index.js';
import { decodeCursor, encodeCursor, type Page } from '../../shared/pagination.js';
import { commonError, type Actor, type AppError, type Clock, type Role } from '../../shared/index.js';
import type { BlobStore } from '../../storage/index.js';
import type { AuditLog } from '../audit/index.js';
import { DEFAULT_RELEASE, latestPublishedManifest, type ReleaseService } from '../versions/index.js';
import type { StoreSignature } from './store-keys.js';
import { reviewError } from './review.errors.js';
import * as repo from './review.repository.js';
import type { DecisionInput, DecisionResponse, QueueItemResponse, ReviewDetailResponse } from './review.schemas.js';

/** Who may review: the accounts feature's role rule (with its 2FA requirement). */
export interface ReviewerCheck {
  /** Throws unless the actor holds one of the roles; answers the user (for their name). */
  assertRole(actor: Actor, roles: readonly Role[]): Promise<{ name: string }>;
}

export interface ReviewDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  events: EventNotifier;
  blobs: BlobStore;
  roles: ReviewerCheck;
  /** Signs an approved version with the store key (PACKAGE.md, "Store signature"). */
  storeKeys: { sign(version: { packageId: string; versionCode: number; sha256: string }): Promise<StoreSignature> };
  /** Publishes an approved version in the decision's transaction, for apps that publish on approval. */
  release: Pick<ReleaseService, 'publishApproved'>;
  /** How long a claim holds a version for its reviewer (REVIEW_CLAIM_MINUTES). */
  claimMs: number;
}

export const REVIEWER_ROLES: readonly Role[] = ['reviewer', 'admin'];
const PREVIOUS_DECISIONS = 20;

/**
 * The reviewer queue: versions that passed their checks wait here, oldest first, for a person.
 * A reviewer may claim one (it is theirs for a while, renewable, released by their decision), read
 * everything about it, and approve or reject it. Nobody decides on an app they own; a decision on
 * a version someone else holds is refused; every decision is audited and appended to the event log.
 */
export class ReviewService {
  constructor(private readonly deps: ReviewDeps) {}

  async queue(actor: Actor, query: { app_id?: string; claimed?: 'me'; limit: number; cursor?: string }): Promise<Page<QueueItemResponse>> {
    await this.deps.roles.assertRole(actor, REVIEWER_ROLES);
    const rows = await repo.listQueue(this.deps.db, {
      appId: query.app_id,
      claimedBy: query.claimed === 'me' ? actor.userId : undefined,
      after: decodeQueueCursor(query.cursor),
      limit: query.limit,
      now: this.now(),
    });
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    return {
      items: items.map((row) => this.toQueueItem(row)),
      next_cursor: rows.length > query.limit && last ? encodeCursor(`${last.version.checked_at ?? ''}|${last.version.id}`) : null,
    };
  }

  async detail(actor: Actor, versionId: string): Promise<ReviewDetailResponse> {
    await this.deps.roles.assertRole(actor, REVIEWER_ROLES);
    const row = await this.inReview(versionId);
    const { version, app } = row;
    const manifest = JSON.parse(version.manifest) as Manifest;
    const baselineJson = await latestPublishedManifest(this.deps.db, app.id);
    const baseline = baselineJson === null ? null : (JSON.parse(baselineJson) as Manifest);
    const { added, removed } = diffPermissions(baseline?.permissions ?? [], manifest.permissions);
    const findings = JSON.parse(version.checks) as Finding[];
    const previous = await repo.previousDecisions(this.deps.db, app.id, version.id, PREVIOUS_DECISIONS);
    return {
      version: {
        id: version.id,
        app_id: version.app_id,
        version: version.version,
        version_code: version.version_code,
        status: version.status,
        sha256: version.sha256,
        size: version.size,
        release_notes: version.release_notes,
        created_at: version.created_at,
      },
      app: { id: app.id, package_id: app.package_id, name: app.name },
      developer: row.developer,
      manifest: manifest as unknown as Record<string, unknown>,
      files: version.files === null ? null : (JSON.parse(version.files) as { path: string; size: number }[]),
      findings: { '1': findings.filter((f) => f.tier === 1), '2': findings.filter((f) => f.tier === 2), '3': findings.filter((f) => f.tier === 3) },
      permission_changes: { baseline_version_code: baseline?.version_code ?? null, added: added.map(withRisk), removed: removed.map(withRisk) },
      previous_decisions: previous.map((p) => ({
        version_id: p.id,
        version: p.version,
        version_code: p.version_code,
        decision: p.review_decision ?? 'reject',
        notes: p.review_notes,
        reviewer_name: p.reviewer_name,
        decided_at: p.decided_at ?? '',
      })),
      claim: this.claimOf(row),
      download_url: `/v1/review/${version.id}/package`,
    };
  }

  /** The package bytes, for a reviewer to install and try. */
  async package(actor: Actor, versionId: string): Promise<{ fileName: string; size: number; sha256: string; open: () => Promise<Readable> }> {
    await this.deps.roles.assertRole(actor, REVIEWER_ROLES);
    const { version, app } = await this.inReview(versionId);
    return { fileName: `${app.package_id}-${version.version_code}.mosis`, size: version.size, sha256: version.sha256, open: () => this.deps.blobs.open(version.sha256) };
  }

  /** Claims (or renews the caller's claim on) a waiting version. */
  async claim(actor: Actor, versionId: string): Promise<{ version_id: string; reviewer_id: string; expires_at: string }> {
    await this.deps.roles.assertRole(actor, REVIEWER_ROLES);
    const row = await this.inReview(versionId);
    this.assertNotOwner(actor, row);
    const now = this.deps.clock.now();
    const expiresAt = new Date(now.getTime() + this.deps.claimMs).toISOString();
    if (!(await repo.claim(this.deps.db, versionId, actor.userId, now.toISOString(), expiresAt))) throw (await this.whyRefused(versionId)) ?? reviewError('review_not_pending');
    return { version_id: versionId, reviewer_id: actor.userId, expires_at: expiresAt };
  }

  /** Gives the caller's claim up, so another reviewer can take the version. */
  async release(actor: Actor, versionId: string): Promise<void> {
    await this.deps.roles.assertRole(actor, REVIEWER_ROLES);
    await this.inReview(versionId);
    if (await repo.release(this.deps.db, versionId, actor.userId)) return;
    // Nothing of the caller's to release: fine when nobody holds it, refused when someone else does.
    const refusal = await this.whyRefused(versionId);
    if (refusal !== null) throw refusal;
  }

  async decide(actor: Actor, versionId: string, input: DecisionInput, ip: string | null): Promise<DecisionResponse> {
    const reviewer = await this.deps.roles.assertRole(actor, REVIEWER_ROLES);
    const notes = input.notes === undefined || input.notes === '' ? null : input.notes;
    if (input.decision === 'reject' && notes === null) throw reviewError('review_notes_required', 'Say what the developer must change: a rejection needs notes.');
    const row = await this.inReview(versionId);
    this.assertNotOwner(actor, row);
    const { version, app } = row;
    if (version.status !== 'pending_review') throw reviewError('review_not_pending', `This version is ${version.status}, not waiting for review.`);
    const at = this.deps.clock.now();
    // Signed before the transaction: a signature is pure, and the key file is read at most once.
    const signature = input.decision === 'approve' ? await this.deps.storeKeys.sign({ packageId: app.package_id, versionCode: version.version_code, sha256: version.sha256 }) : null;
    const status = input.decision === 'approve' ? 'approved' : 'rejected';
    const decided = await this.deps.db.transaction().execute(async (trx) => {
      const updated = await repo.decide(trx, versionId, {
        status,
        decision: input.decision,
        notes,
        reviewerId: actor.userId,
        at: at.toISOString(),
        storeSignature: signature?.signature ?? null,
        storeKeyId: signature?.key_id ?? null,
      });
      if (!updated) return undefined;
      const details = { app_id: app.id, package_id: app.package_id, version: version.version, version_code: version.version_code, notes, store_key_id: signature?.key_id ?? null };
      await this.deps.audit.record({ action: status === 'approved' ? 'version.approved' : 'version.rejected', actorId: actor.userId, targetType: 'version', targetId: versionId, ip, details }, trx);
      await appendEvent(trx, {
        type: status === 'approved' ? 'version.approved' : 'version.rejected',
        appId: app.id,
        actorId: actor.userId,
        payload: { version_id: versionId, version: version.version, version_code: version.version_code, decision: input.decision, notes },
        at,
      });
      // An app that publishes on approval goes to the store in the same transaction, after its approval.
      // A newer version already live there: this one stays approved, for its developer to publish or not.
      const published = status === 'approved' && app.auto_publish ? await this.deps.release.publishApproved(trx, app, updated, DEFAULT_RELEASE, actor.userId, true) : null;
      return published ?? updated;
    });
    if (!decided) throw (await this.whyRefused(versionId)) ?? reviewError('review_not_pending');
    this.deps.events.notify();
    return { version_id: versionId, status: decided.status === 'published' ? 'published' : status, review: { decision: input.decision, notes, reviewer_name: reviewer.name, decided_at: at.toISOString() } };
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  /** Versions still processing (or failed) are not the reviewers' to see: only what passed the checks. */
  private async inReview(versionId: string): Promise<repo.ReviewRow> {
    const row = await repo.findReviewRow(this.deps.db, versionId);
    if (!row || row.version.status === 'processing' || row.version.status === 'failed') throw reviewError('review_item_not_found');
    return row;
  }

  private assertNotOwner(actor: Actor, row: repo.ReviewRow): void {
    if (row.app.owner_id === actor.userId) throw reviewError('review_own_app', 'This app is yours: another reviewer must decide on it.');
  }

  /**
   * Why a conditional claim, release or decision changed nothing, read after the fact: gone, no
   * longer waiting, or held by someone else. Null when none of these is true (any more).
   */
  private async whyRefused(versionId: string): Promise<AppError | null> {
    const row = await repo.findReviewRow(this.deps.db, versionId);
    if (!row) return reviewError('review_item_not_found');
    if (row.version.status !== 'pending_review') return reviewError('review_not_pending', `This version is ${row.version.status}, not waiting for review.`);
    const claim = this.claimOf(row);
    if (claim !== null) return reviewError('review_claimed', `${claim.reviewer_name ?? 'Another reviewer'} holds the claim on this version until ${claim.expires_at}.`);
    return null;
  }

  private claimOf(row: repo.ReviewRow): QueueItemResponse['claim'] {
    const { claimed_by, claim_expires_at } = row.version;
    if (claimed_by === null || claim_expires_at === null || claim_expires_at <= this.now()) return null;
    return { reviewer_id: claimed_by, reviewer_name: row.claimer_name, expires_at: claim_expires_at };
  }

  private toQueueItem(row: repo.ReviewRow): QueueItemResponse {
    const { version } = row;
    const findings = JSON.parse(version.checks) as Finding[];
    const tierCount = (tier: number) => findings.filter((f) => f.tier === tier).length;
    return {
      version: {
        id: version.id,
        version: version.version,
        version_code: version.version_code,
        size: version.size,
        permissions: JSON.parse(version.permissions) as string[],
        created_at: version.created_at,
      },
      app: { id: row.app.id, package_id: row.app.package_id, name: row.app.name },
      developer: row.developer,
      checks_summary: {
        errors: findings.filter((f) => f.severity === 'error').length,
        warnings: findings.filter((f) => f.severity === 'warning').length,
        by_tier: { '1': tierCount(1), '2': tierCount(2), '3': tierCount(3) },
      },
      waiting_since: version.checked_at ?? version.created_at,
      claim: this.claimOf(row),
    };
  }
}

function withRisk(permission: Permission) {
  return { permission, ...PERMISSION_RISK[permission] };
}

function decodeQueueCursor(cursor: string | undefined): { checkedAt: string; id: string } | undefined {
  const key = decodeCursor(cursor);
  if (key === undefined) return undefined;
  const cut = key.lastIndexOf('|');
  if (cut < 0) throw commonError('invalid_cursor');
  return { checkedAt: key.slice(0, cut), id: key.slice(cut + 1) };
}
