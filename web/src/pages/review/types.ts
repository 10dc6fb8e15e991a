/** The review API's answers as the reviewer pages use them (the generated schema is the contract). */
import type { Schemas } from '../../api/types';

export type ReviewQueueItem = Schemas['ReviewQueueItem'];
export type ReviewItem = Schemas['ReviewItem'];
export type ReviewFinding = ReviewItem['findings']['1'][number];
export type PermissionChange = ReviewItem['permission_changes']['added'][number];
export type PreviousDecision = ReviewItem['previous_decisions'][number];

export const REVIEW_QUEUE_KEY = ['/v1/review/queue'] as const;
export const REVIEW_ITEM_KEY = '/v1/review/{version_id}';

/** The live events that change the queue or a version in it (docs/live-events.md, reviewers' part). */
export const REVIEW_EVENT_TYPES = ['version.checked', 'version.approved', 'version.rejected', 'version.published'] as const;
