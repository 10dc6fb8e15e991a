import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import pLimit from 'p-limit';
import type { Ids } from '../../shared/index.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Just enough of a logger: services never import Fastify, app.ts passes its pino logger. */
export interface MailLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Mailer {
  /** Sends now; a failure is logged, never thrown, so a mail outage does not fail a sign-up. */
  send(message: MailMessage): Promise<void>;
  /**
   * Sends in the background (answers must not wait, or their timing would tell who exists). Given
   * a function, the whole job runs in the background: whatever it looks up or writes to decide the
   * message (null: nothing to send) does not show in the answer's timing either.
   */
  sendLater(message: MailMessage | (() => Promise<MailMessage | null>)): void;
  /** Waits for background sends; called when the portal closes. */
  drain(): Promise<void>;
}

/** Messages waiting in the background, and SMTP conversations at once. */
export const MAX_PENDING = 1000;
const MAX_CONCURRENT_SENDS = 4;

/**
 * SMTP when SMTP_URL is set; otherwise each message becomes an .eml file in DATA_DIR/outbox and a
 * log line, so a NAS without mail still lets its operator read verification and reset links.
 * The log line names the file, never the message body (it holds the token).
 */
export function createMailer(options: { smtpUrl: string | null; from: string; outboxDir: string; ids: Ids; log: MailLog }): Mailer {
  const transport = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const pending = new Set<Promise<void>>();
  // Background mail is bounded: a flood of sign-ups or resets (each answered at once) must not
  // grow memory or open a connection per message while the mail server is slow or away.
  const sending = pLimit(MAX_CONCURRENT_SENDS);

  async function deliver(message: MailMessage): Promise<void> {
    try {
      const info = (await transport.sendMail({ from: options.from, to: message.to, subject: message.subject, text: message.text })) as { message?: unknown };
      if (options.smtpUrl) {
        options.log.info({ subject: message.subject }, 'email sent');
        return;
      }
      await mkdir(options.outboxDir, { recursive: true, mode: 0o700 });
      const file = path.join(options.outboxDir, `${options.ids.id()}.eml`);
      const tmp = `${file}.tmp`;
      await writeFile(tmp, info.message as Buffer, { mode: 0o600 });
      await rename(tmp, file);
      options.log.info({ file, subject: message.subject }, 'email written to the outbox (SMTP_URL is not set)');
    } catch (err) {
      options.log.error({ err, subject: message.subject }, 'email could not be sent');
    }
  }

  return {
    send: deliver,
    sendLater(message) {
      if (pending.size >= MAX_PENDING) {
        options.log.error({ pending: pending.size }, 'email dropped: too many messages are waiting to be sent');
        return;
      }
      const job = async () => {
        let prepared: MailMessage | null;
        try {
          prepared = typeof message === 'function' ? await message() : message;
        } catch (err) {
          options.log.error({ err }, 'email could not be prepared');
          return;
        }
        if (prepared) await deliver(prepared);
      };
      const p = sending(job).finally(() => pending.delete(p));
      pending.add(p);
    },
    async drain() {
      await Promise.all([...pending]);
    },
  };
}
