import type { Db } from '../../db/index.js';
import { jobsErrors, jobStates, type JobsAdmin, type JobState, type JobView } from '../../jobs/index.js';
import type { Actor } from '../../shared/index.js';
import type { Page } from '../../shared/pagination.js';
import type { AuditLog } from '../audit/index.js';
import type { JobListQuery, JobSummaryResponse } from './admin-jobs.schemas.js';

/** The operator's view of the job queue. The admin guard on the routes is the access check. */
export class AdminJobsService {
  constructor(private readonly deps: { db: Db; jobs: JobsAdmin; audit: AuditLog }) {}

  list(query: JobListQuery): Promise<Page<JobView>> {
    return this.deps.jobs.list(query);
  }

  /**
   * How many jobs are in each state, in all and by kind: the queue at a glance (a growing
   * `queued`, a `dead` that is not zero). Done jobs are pruned after 7 days, so the counts stay small.
   */
  async summary(): Promise<JobSummaryResponse> {
    const rows = await this.deps.db
      .selectFrom('jobs')
      .select((eb) => ['kind', 'state', eb.fn.countAll<string | number>().as('n')])
      .groupBy(['kind', 'state'])
      .execute();
    const empty = (): Record<JobState, number> => Object.fromEntries(jobStates.map((state) => [state, 0])) as Record<JobState, number>;
    const counts = empty();
    const byKind = new Map<string, Record<JobState, number>>();
    for (const row of rows) {
      const n = Number(row.n);
      counts[row.state] += n;
      const kind = byKind.get(row.kind) ?? empty();
      kind[row.state] += n;
      byKind.set(row.kind, kind);
    }
    return { counts, by_kind: [...byKind].sort(([a], [b]) => a.localeCompare(b)).map(([kind, states]) => ({ kind, ...states })) };
  }

  /** Re-queues a dead job; the audit entry commits with the change. */
  retry(actor: Actor, id: string, ip: string | null): Promise<JobView> {
    return this.deps.db.transaction().execute(async (trx) => {
      const job = await this.deps.jobs.retry(id, trx);
      await this.deps.audit.record({ action: 'job.retried', actorId: actor.userId, targetType: 'job', targetId: job.id, ip, details: { kind: job.kind } }, trx);
      return job;
    });
  }

  /**
   * Deletes a dead job the operator has given up on (a mail to an address that no longer exists):
   * it is not run again and leaves the dead list. Only dead jobs: one queued or running is the
   * worker's. The audit entry keeps its kind and last error.
   */
  discard(actor: Actor, id: string, ip: string | null): Promise<void> {
    return this.deps.db.transaction().execute(async (trx) => {
      const job = await trx.selectFrom('jobs').select(['id', 'kind', 'state', 'last_error']).where('id', '=', id).executeTakeFirst();
      if (!job) throw jobsErrors.error('job_not_found', 'There is no job with this id.');
      const deleted = await trx.deleteFrom('jobs').where('id', '=', id).where('state', '=', 'dead').executeTakeFirst();
      if (deleted.numDeletedRows === 0n) throw jobsErrors.error('job_not_dead', `Only a dead job can be discarded; this one is ${job.state}.`);
      await this.deps.audit.record({ action: 'job.discarded', actorId: actor.userId, targetType: 'job', targetId: job.id, ip, details: { kind: job.kind, last_error: job.last_error } }, trx);
    });
  }
}
