export { JobQueue, JobLeaseLost, type JobContext, type JobHandler, type JobKind, type NewJob } from './queue.js';
export { JobWorker, type JobWorkerOptions, type JobLog } from './worker.js';
export { JobsAdmin, type JobView, type JobListQuery } from './admin.js';
export { jobStates, type JobState, type JobsTable } from './jobs.table.js';
export { defaultBackoff, type Backoff } from './backoff.js';
export { jobsErrors } from './jobs.errors.js';
