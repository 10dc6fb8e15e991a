import type { Executor } from '../../db/index.js';
import type { JobQueue } from '../../jobs/index.js';
import type { Ids } from '../../shared/index.js';
import type { MailMessage, MailTransport } from './mail-transport.js';

export const MAIL_JOB = 'mail.send';

/**
 * Seals text under a server key (AES-256-GCM), binding `context` in as associated data. The core
 * gives the accounts feature's server key, derived for this purpose (AccountSecrets.sealer).
 */
export interface Seal {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/** What a `mail.send` job holds: the message sealed, and the id it is sealed to. */
interface MailJob {
  message_id: string;
  sealed: string;
}

/**
 * How long a message keeps trying: ten attempts, 10 s apart doubling to 30 min, so 35 to 75
 * minutes in all (half of each delay is jitter). A reset link dies after an hour anyway; then the
 * job is `dead`, and an admin sees it in GET /v1/admin/jobs and may retry it.
 */
const MAIL_ATTEMPTS = 10;
const MAIL_BACKOFF = { baseMs: 10_000, maxMs: 30 * 60_000 };
/** Above the transport's own SMTP timeouts (mail-transport.ts), so those fire first. */
const MAIL_TIMEOUT_MS = 3 * 60_000;

/**
 * Email as durable jobs. `enqueue` adds a `mail.send` job in the caller's transaction: the mail
 * exists if and only if the change that causes it commits, and survives a crash. The worker then
 * sends it, retried with backoff, `dead` after its last attempt.
 *
 * The message is sealed in the payload: it carries verification and reset tokens, and the jobs
 * table sits in every database backup (dead jobs keep their payload). Storing ids and building the
 * message in the handler would not do: a token is stored only as its hash, so the handler could
 * not put it in the mail; minting it there would split the token from the change's transaction
 * and send a new link on every retry.
 *
 * SMTP conversations at once: one per running job, so at most JOBS_CONCURRENCY (default 2) per
 * instance; the job queue has no per-kind limit.
 */
export class Mailer {
  constructor(
    private readonly deps: {
      jobs: JobQueue;
      ids: Ids;
      seal: Seal;
      transport: MailTransport;
      /** Asks the worker to poll now; called after the enqueueing transaction committed. */
      wake: () => void;
    },
  ) {
    deps.jobs.define<MailJob>(MAIL_JOB, {
      maxAttempts: MAIL_ATTEMPTS,
      backoff: MAIL_BACKOFF,
      timeoutMs: MAIL_TIMEOUT_MS,
      handler: async (job) => {
        const message = this.open(job.payload);
        await this.deps.transport.deliver(message, { messageId: job.payload.message_id, signal: job.signal });
      },
    });
  }

  /** Queues a message in `db`, the transaction of the change that causes it. */
  async enqueue(db: Executor, message: MailMessage): Promise<void> {
    const messageId = this.deps.ids.id();
    const payload: MailJob = { message_id: messageId, sealed: this.deps.seal.seal(JSON.stringify(message), sealContext(messageId)) };
    await this.deps.jobs.enqueue(db, { kind: MAIL_JOB, payload });
  }

  /** Sends queued mail soon instead of at the worker's next poll: call once the transaction committed. */
  wake(): void {
    this.deps.wake();
  }

  private open(payload: MailJob): MailMessage {
    return JSON.parse(this.deps.seal.open(payload.sealed, sealContext(payload.message_id))) as MailMessage;
  }
}

/** A sealed message opens only under its own id: pasted into another job, it does not open. */
function sealContext(messageId: string): string {
  return `${MAIL_JOB} ${messageId}`;
}
