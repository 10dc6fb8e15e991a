import { sql, type Insertable, type Selectable } from 'kysely';
import type { Dialect, Executor } from '../db/index.js';
import type { JobState, JobsTable } from './jobs.table.js';

export type JobRow = Selectable<JobsTable>;

/** Identifies one claim of a job: a worker's later writes only land while this claim still holds. */
export interface Claim {
  readonly id: string;
  readonly workerId: string;
  readonly attempt: number;
}

/** Inserts a job; false when a job of this kind already has its key. */
export async function insertJob(db: Executor, row: Insertable<JobsTable>): Promise<boolean> {
  const result = await db
    .insertInto('jobs')
    .values(row)
    .onConflict((oc) => oc.columns(['kind', 'key']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export interface ClaimRequest {
  workerId: string;
  kinds: readonly string[];
  limit: number;
  now: string;
  leaseUntil: string;
}

/**
 * Takes up to `limit` due jobs of the given kinds: queued ones whose run_at has come, and running
 * ones whose lease has passed (their worker died) with attempts left. Each claim counts an attempt.
 */
export async function claimJobs(db: Executor, dialect: Dialect, req: ClaimRequest): Promise<JobRow[]> {
  if (req.kinds.length === 0 || req.limit < 1) return [];
  if (dialect === 'postgres') {
    // SKIP LOCKED: concurrent claimers pass over rows another transaction is claiming instead of
    // waiting for them or taking them too. MATERIALIZED keeps the locked set from being re-planned.
    const { rows } = await sql<JobRow>`
      with next as materialized (
        select id from jobs
        where kind = any(${[...req.kinds]}::text[])
          and ((state = 'queued' and run_at <= ${req.now})
            or (state = 'running' and locked_until <= ${req.now} and attempts < max_attempts))
        order by run_at, id
        limit ${req.limit}
        for update skip locked
      )
      update jobs
      set state = 'running', attempts = jobs.attempts + 1, locked_by = ${req.workerId}, locked_until = ${req.leaseUntil}, updated_at = ${req.now}
      from next
      where jobs.id = next.id
      returning jobs.*`.execute(db);
    return rows;
  }
  // SQLite has one writer: the single UPDATE takes the write lock before it reads, so no two
  // claimers (connections or processes) can select the same row.
  return db
    .updateTable('jobs')
    .set({ state: 'running', attempts: sql<number>`attempts + 1`, locked_by: req.workerId, locked_until: req.leaseUntil, updated_at: req.now })
    .where(
      'id',
      'in',
      db
        .selectFrom('jobs')
        .select('id')
        .where('kind', 'in', req.kinds)
        .where((eb) =>
          eb.or([
            eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', req.now)]),
            eb.and([eb('state', '=', 'running'), eb('locked_until', '<=', req.now), eb('attempts', '<', eb.ref('max_attempts'))]),
          ]),
        )
        .orderBy('run_at')
        .orderBy('id')
        .limit(req.limit),
    )
    .returningAll()
    .execute();
}

/**
 * A job whose worker died during its last allowed attempt is not claimed again: it becomes dead
 * here, so a handler that crashes its process every time cannot crash instances forever.
 */
export async function buryAbandoned(db: Executor, now: string): Promise<number> {
  const result = await db
    .updateTable('jobs')
    .set({
      state: 'dead',
      last_error: 'the worker running the last attempt stopped without finishing it (its lease ran out)',
      locked_by: null,
      locked_until: null,
      finished_at: now,
      updated_at: now,
    })
    .where('state', '=', 'running')
    .where('locked_until', '<=', now)
    .where('attempts', '>=', (eb) => eb.ref('max_attempts'))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Applies `set` only while the claim still holds; true when it did. */
async function updateHeld(db: Executor, claim: Claim, set: Partial<Omit<JobsTable, 'id'>>): Promise<boolean> {
  const { id, workerId, attempt } = claim;
  const result = await db
    .updateTable('jobs')
    .set(set)
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('locked_by', '=', workerId)
    .where('attempts', '=', attempt)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * A done job's payload is dropped: nothing reads it again, and an address or a sealed link should
 * not outlive the work in the table and its backups. Dead jobs keep theirs for the retry.
 */
export function completeJob(db: Executor, claim: Claim, now: string): Promise<boolean> {
  return updateHeld(db, claim, { state: 'done', payload: 'null', locked_by: null, locked_until: null, finished_at: now, updated_at: now });
}

/** A failed attempt: back to the queue at `retryAt`, or dead when it was the last one. */
export function failJob(db: Executor, claim: Claim, failure: { now: string; error: string; retryAt: string | null }): Promise<boolean> {
  return updateHeld(
    db,
    claim,
    failure.retryAt === null
      ? { state: 'dead', last_error: failure.error, locked_by: null, locked_until: null, finished_at: failure.now, updated_at: failure.now }
      : { state: 'queued', last_error: failure.error, locked_by: null, locked_until: null, run_at: failure.retryAt, updated_at: failure.now },
  );
}

export function renewLease(db: Executor, claim: Claim, leaseUntil: string): Promise<boolean> {
  return updateHeld(db, claim, { locked_until: leaseUntil });
}

/**
 * Gives a job back on shutdown: due now, and the interrupted attempt not counted, since the job
 * did not fail.
 */
export function releaseJob(db: Executor, claim: Claim, now: string): Promise<boolean> {
  return updateHeld(db, claim, { state: 'queued', attempts: claim.attempt - 1, locked_by: null, locked_until: null, run_at: now, updated_at: now });
}

/** Deletes up to `limit` jobs that finished `done` before `before`; dead jobs stay for an operator. */
export async function pruneDone(db: Executor, before: string, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('jobs')
    .where('id', 'in', db.selectFrom('jobs').select('id').where('state', '=', 'done').where('finished_at', '<', before).limit(limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export function findJob(db: Executor, id: string): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Newest first; ids are time-ordered, so the id is also the cursor. */
export function listJobs(db: Executor, filter: { state?: JobState; kind?: string; before?: string; limit: number }): Promise<JobRow[]> {
  let query = db.selectFrom('jobs').selectAll();
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
  if (filter.before !== undefined) query = query.where('id', '<', filter.before);
  return query.orderBy('id', 'desc').limit(filter.limit + 1).execute();
}

/** A dead job back to the queue with a fresh set of attempts; false when it is not dead. */
export async function requeueDead(db: Executor, id: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ state: 'queued', attempts: 0, run_at: now, finished_at: null, updated_at: now })
    .where('id', '=', id)
    .where('state', '=', 'dead')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
