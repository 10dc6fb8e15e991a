export { Mailer, MAIL_JOB, type Seal } from './mailer.js';
export { createMailTransport, type MailLog, type MailMessage, type MailTransport } from './mail-transport.js';
