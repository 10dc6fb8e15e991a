import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Transporter } from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** An HTML alternative of the text (notifications have one; account mail is text only). */
  html?: string;
  /** A one-click unsubscribe URL (RFC 8058): List-Unsubscribe and List-Unsubscribe-Post headers. */
  unsubscribeUrl?: string;
}

/** Just enough of a logger: the core passes its pino logger. */
export interface MailLog {
  info(obj: object, msg: string): void;
}

/** Hands one message to the mail system; throws when it could not, so its job is retried. */
export interface MailTransport {
  deliver(message: MailMessage, options: { messageId: string; signal: AbortSignal }): Promise<void>;
}

export interface MailTransportOptions {
  /** smtp(s)://…; null writes each message to `outboxDir` as an .eml file. */
  smtpUrl: string | null;
  from: string;
  outboxDir: string;
  /** The right-hand side of Message-ID headers (the portal's host name). */
  messageIdDomain: string;
  log: MailLog;
}

/**
 * Shorter than nodemailer's defaults (2 min to connect, 10 min of silence), and inside the mail
 * job's timeout: a mail server that hangs fails the attempt, which is then retried later.
 */
const SMTP_TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 };

/**
 * SMTP when SMTP_URL is set; otherwise each message becomes an .eml file in DATA_DIR/outbox and a
 * log line, so a NAS without mail still lets its operator read verification and reset links.
 * The log line names the file, never the message body (it holds the token).
 *
 * A message keeps its id across attempts: a retry after a send whose "done" was lost carries the
 * same Message-ID (receivers may fold the two), and in the outbox it rewrites the same file.
 */
export function createMailTransport(options: MailTransportOptions): MailTransport {
  // nodemailer (over 10 MiB loaded) comes with the first mail, not with every portal's start.
  let made: Promise<Transporter> | undefined;
  const transporter = () =>
    (made ??= import('nodemailer').then(({ default: nodemailer }) =>
      options.smtpUrl
        ? nodemailer.createTransport({ url: options.smtpUrl, ...SMTP_TIMEOUTS })
        : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }),
    ));
  return {
    async deliver(message, { messageId, signal }) {
      const transport = await transporter();
      const info = (await transport.sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html === undefined ? {} : { html: message.html }),
        ...(message.unsubscribeUrl === undefined
          ? {}
          : { list: { unsubscribe: message.unsubscribeUrl }, headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } }),
        messageId: `<${messageId}@${options.messageIdDomain}>`,
        signal,
      })) as { message?: unknown };
      if (options.smtpUrl) {
        options.log.info({ subject: message.subject, message_id: messageId }, 'email sent');
        return;
      }
      await mkdir(options.outboxDir, { recursive: true, mode: 0o700 });
      const file = path.join(options.outboxDir, `${messageId}.eml`);
      const tmp = `${file}.tmp`;
      await writeFile(tmp, info.message as Buffer, { mode: 0o600 });
      await rename(tmp, file);
      options.log.info({ file, subject: message.subject }, 'email written to the outbox (SMTP_URL is not set)');
    },
  };
}
