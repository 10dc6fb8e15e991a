import { defineErrors } from '../shared/index.js';

/** What the operator's job routes (GET /v1/admin/jobs, POST …/retry) answer besides the common codes. */
export const jobsErrors = defineErrors('jobs', {
  job_not_found: { status: 404, title: 'There is no job with this id' },
  job_not_dead: { status: 409, title: 'Only a dead job can be retried' },
});
