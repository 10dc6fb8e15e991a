import type { Executor } from '../../db/index.js';
import type { ReviewDecision, Version } from '../versions/index.js';

/** A version in review with what the reviewer sees next to it: its app and the app's developer. */
export interface ReviewRow {
  version: Version;
  app: { id: string; package_id: string; name: string; owner_id: string; auto_publish: boolean };
  developer: { id: string; name: string };
  claimer_name: string | null;
}

function reviewSelect(db: Executor) {
  return db
    .selectFrom('versions as v')
    .innerJoin('apps as a', 'a.id', 'v.app_id')
    .innerJoin('users as d', 'd.id', 'a.owner_id')
    .leftJoin('users as c', 'c.id', 'v.claimed_by')
    .selectAll('v')
    .select(['a.package_id as app_package_id', 'a.name as app_name', 'a.owner_id as app_owner_id', 'a.auto_publish as app_auto_publish', 'd.name as developer_name', 'c.name as claimer_name']);
}

type Selected = Awaited<ReturnType<ReturnType<typeof reviewSelect>['executeTakeFirstOrThrow']>>;

function toReviewRow(row: Selected): ReviewRow {
  const { app_package_id, app_name, app_owner_id, app_auto_publish, developer_name, claimer_name, ...version } = row;
  return {
    version,
    app: { id: version.app_id, package_id: app_package_id, name: app_name, owner_id: app_owner_id, auto_publish: Number(app_auto_publish) === 1 },
    developer: { id: app_owner_id, name: developer_name },
    claimer_name,
  };
}

/** The queue, oldest first by when the checks finished: `after` is the last item's (checked_at, id). */
export async function listQueue(
  db: Executor,
  options: { appId?: string; claimedBy?: string; after?: { checkedAt: string; id: string }; limit: number; now: string },
): Promise<ReviewRow[]> {
  let query = reviewSelect(db).where('v.status', '=', 'pending_review');
  if (options.appId !== undefined) query = query.where('v.app_id', '=', options.appId);
  if (options.claimedBy !== undefined) query = query.where('v.claimed_by', '=', options.claimedBy).where('v.claim_expires_at', '>', options.now);
  const after = options.after;
  if (after) query = query.where((eb) => eb.or([eb('v.checked_at', '>', after.checkedAt), eb.and([eb('v.checked_at', '=', after.checkedAt), eb('v.id', '>', after.id)])]));
  const rows = await query.orderBy('v.checked_at', 'asc').orderBy('v.id', 'asc').limit(options.limit + 1).execute();
  return rows.map(toReviewRow);
}

export async function findReviewRow(db: Executor, versionId: string): Promise<ReviewRow | undefined> {
  const row = await reviewSelect(db).where('v.id', '=', versionId).executeTakeFirst();
  return row ? toReviewRow(row) : undefined;
}

/**
 * Claims a waiting version for `reviewerId` until `expiresAt`, when nobody else holds a live claim
 * on it (renewing one's own claim included). Answers whether the claim was taken: one statement,
 * so two reviewers claiming at once cannot both win.
 */
export async function claim(db: Executor, versionId: string, reviewerId: string, now: string, expiresAt: string): Promise<boolean> {
  const result = await db
    .updateTable('versions')
    .set({ claimed_by: reviewerId, claim_expires_at: expiresAt })
    .where('id', '=', versionId)
    .where('status', '=', 'pending_review')
    .where((eb) => eb.or([eb('claimed_by', 'is', null), eb('claimed_by', '=', reviewerId), eb('claim_expires_at', '<=', now)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Gives up the caller's own claim; answers whether there was one. */
export async function release(db: Executor, versionId: string, reviewerId: string): Promise<boolean> {
  const result = await db
    .updateTable('versions')
    .set({ claimed_by: null, claim_expires_at: null })
    .where('id', '=', versionId)
    .where('status', '=', 'pending_review')
    .where('claimed_by', '=', reviewerId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Records a decision on a version still waiting, unless someone else holds a live claim on it; the
 * claim is released with it. Answers the updated row, or undefined when the condition failed.
 */
export function decide(
  db: Executor,
  versionId: string,
  decision: {
    status: 'approved' | 'rejected';
    decision: ReviewDecision;
    notes: string | null;
    reviewerId: string;
    at: string;
    storeSignature: string | null;
    storeKeyId: string | null;
  },
): Promise<Version | undefined> {
  return db
    .updateTable('versions')
    .set({
      status: decision.status,
      review_decision: decision.decision,
      review_notes: decision.notes,
      reviewer_id: decision.reviewerId,
      decided_at: decision.at,
      store_signature: decision.storeSignature,
      store_key_id: decision.storeKeyId,
      claimed_by: null,
      claim_expires_at: null,
    })
    .where('id', '=', versionId)
    .where('status', '=', 'pending_review')
    .where((eb) => eb.or([eb('claimed_by', 'is', null), eb('claimed_by', '=', decision.reviewerId), eb('claim_expires_at', '<=', decision.at)]))
    .returningAll()
    .executeTakeFirst();
}

/** The app's earlier decisions, newest first, with the reviewer's name. */
export function previousDecisions(db: Executor, appId: string, exceptVersionId: string, limit: number) {
  return db
    .selectFrom('versions as v')
    .leftJoin('users as r', 'r.id', 'v.reviewer_id')
    .select(['v.id', 'v.version', 'v.version_code', 'v.review_decision', 'v.review_notes', 'v.decided_at', 'r.name as reviewer_name'])
    .where('v.app_id', '=', appId)
    .where('v.id', '<>', exceptVersionId)
    .where('v.review_decision', 'is not', null)
    .orderBy('v.decided_at', 'desc')
    .limit(limit)
    .execute();
}
