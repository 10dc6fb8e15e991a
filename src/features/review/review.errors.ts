import { defineErrors } from '../../shared/index.js';

/** The review feature's codes: the reviewer queue, claims and decisions. */
export const reviewErrors = defineErrors('review', {
  review_item_not_found: { status: 404, title: 'No version with this id is in review' },
  review_own_app: { status: 403, title: 'Nobody reviews an app they own' },
  review_not_pending: { status: 409, title: 'The version is not waiting for review' },
  review_claimed: { status: 409, title: 'Another reviewer holds the claim on this version' },
  review_notes_required: { status: 422, title: 'A rejection needs notes for the developer' },
});

export const reviewError = reviewErrors.error;
