import type { Executor } from '../db/index.js';
import { decodeCursor, toPage, type Page } from '../shared/pagination.js';
import type { Clock } from '../shared/index.js';
import { jobsErrors } from './jobs.errors.js';
import { findJob, listJobs, requeueDead, type JobRow } from './jobs.repository.js';
import type { JobState } from './jobs.table.js';

/** A job as an operator sees it. The payload is left out: it may hold addresses or tokens. */
export interface JobView {
  id: string;
  kind: string;
  key: string | null;
  state: JobState;
  attempts: number;
  max_attempts: number;
  run_at: string;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface JobListQuery {
  state?: JobState;
  kind?: string;
  limit: number;
  cursor?: string;
}

/** The operator's view of the queue: what the admin routes call. Access checks are the caller's. */
export class JobsAdmin {
  constructor(private readonly deps: { db: Executor; clock: Clock }) {}

  async list(query: JobListQuery): Promise<Page<JobView>> {
    const rows = await listJobs(this.deps.db, { state: query.state, kind: query.kind, before: decodeCursor(query.cursor), limit: query.limit });
    return toPage(rows, query.limit, (row) => row.id, toView);
  }

  /**
   * Puts a dead job back in the queue, due now, with all its attempts again. `db` may be the
   * caller's transaction, so an audit entry commits with the change.
   */
  async retry(id: string, db: Executor = this.deps.db): Promise<JobView> {
    const requeued = await requeueDead(db, id, this.deps.clock.now().toISOString());
    const row = await findJob(db, id);
    if (!row) throw jobsErrors.error('job_not_found', 'There is no job with this id.');
    if (!requeued) throw jobsErrors.error('job_not_dead', `Only a dead job can be retried; this one is ${row.state}.`);
    return toView(row);
  }
}

function toView(row: JobRow): JobView {
  return {
    id: row.id,
    kind: row.kind,
    key: row.key,
    state: row.state,
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    run_at: row.run_at,
    locked_until: row.locked_until,
    last_error: row.last_error,
    created_at: row.created_at,
    updated_at: row.updated_at,
    finished_at: row.finished_at,
  };
}
