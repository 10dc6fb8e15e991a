import type { Db } from '../../db/index.js';
import type { JobsAdmin, JobView } from '../../jobs/index.js';
import type { Actor } from '../../shared/index.js';
import type { Page } from '../../shared/pagination.js';
import type { AuditLog } from '../audit/index.js';
import type { JobListQuery } from './admin-jobs.schemas.js';

/** The operator's view of the job queue. The admin guard on the routes is the access check. */
export class AdminJobsService {
  constructor(private readonly deps: { db: Db; jobs: JobsAdmin; audit: AuditLog }) {}

  list(query: JobListQuery): Promise<Page<JobView>> {
    return this.deps.jobs.list(query);
  }

  /** Re-queues a dead job; the audit entry commits with the change. */
  retry(actor: Actor, id: string, ip: string | null): Promise<JobView> {
    return this.deps.db.transaction().execute(async (trx) => {
      const job = await this.deps.jobs.retry(id, trx);
      await this.deps.audit.record({ action: 'job.retried', actorId: actor.userId, targetType: 'job', targetId: job.id, ip, details: { kind: job.kind } }, trx);
      return job;
    });
  }
}
