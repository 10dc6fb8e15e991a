/** Where a job is in its life: waiting (maybe for its run_at), held by a worker, finished, or given up on. */
export const jobStates = ['queued', 'running', 'done', 'dead'] as const;
export type JobState = (typeof jobStates)[number];

/** One unit of background work. Timestamps are ISO-8601 UTC text like every other table. */
export interface JobsTable {
  /** UUIDv7: time-ordered, so it is also the listing cursor. */
  id: string;
  kind: string;
  /** At most one job per (kind, key): a recurring job's slot, or an enqueuer's dedupe key. */
  key: string | null;
  /** JSON text. */
  payload: string;
  state: JobState;
  /** Attempts started so far, including one that is running now. */
  attempts: number;
  max_attempts: number;
  /** Not claimed before this time (a retry's backoff, a scheduled slot). */
  run_at: string;
  /** While running: the lease. A job whose lease has passed is claimed again (its worker died). */
  locked_until: string | null;
  /** While running: the worker instance holding the lease; completions are fenced on it. */
  locked_by: string | null;
  /** Bounded text of the last failure. */
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}
