import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The mails a portal without SMTP_URL wrote to DATA_DIR/outbox (one .eml file each, written by its
 * job worker shortly after the request that queued it).
 */
export interface OutboxMail {
  file: string;
  to: string;
  subject: string;
  /** The message with quoted-printable undone: what a person reads. */
  text: string;
}

/** Quoted-printable (RFC 2045): soft line breaks removed, =XX bytes restored (as UTF-8). */
function decodeQuotedPrintable(raw: string): string {
  const joined = raw.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i += 1) {
    const hex = joined[i] === '=' ? /^[0-9A-F]{2}$/i.exec(joined.slice(i + 1, i + 3))?.[0] : undefined;
    if (hex) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function header(raw: string, name: string): string {
  return new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1]?.trim() ?? '';
}

async function readOutbox(dataDir: string): Promise<OutboxMail[]> {
  const dir = path.join(dataDir, 'outbox');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.eml'));
  const dated = await Promise.all(names.map(async (name) => ({ name, at: (await stat(path.join(dir, name))).mtimeMs })));
  dated.sort((a, b) => a.at - b.at);
  return Promise.all(
    dated.map(async ({ name }) => {
      const raw = await readFile(path.join(dir, name), 'utf8');
      return { file: name, to: header(raw, 'To'), subject: header(raw, 'Subject'), text: decodeQuotedPrintable(raw) };
    }),
  );
}

/** Waits for a mail to `to` that `matches` (and is not one of `seen`), and returns it. */
export async function waitForMail(dataDir: string, to: string, matches: (mail: OutboxMail) => boolean = () => true, seen: readonly string[] = []): Promise<OutboxMail> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const mail = (await readOutbox(dataDir)).find((m) => m.to.includes(to) && !seen.includes(m.file) && matches(m));
    if (mail) return mail;
    await sleep(100);
  }
  const all = (await readOutbox(dataDir)).map((m) => `${m.to}: ${m.subject}`);
  throw new Error(`no mail to ${to} arrived; the outbox has: ${all.join('; ') || 'nothing'}`);
}

/** The first link in a mail to `${baseUrl}${pathname}` (with its query). */
export function linkIn(mail: OutboxMail, baseUrl: string, pathname: string): string {
  const escaped = `${baseUrl}${pathname}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const found = new RegExp(`${escaped}[^\\s"'<>]*`).exec(mail.text)?.[0];
  if (!found) throw new Error(`no link to ${pathname} in the mail "${mail.subject}":\n${mail.text}`);
  return found;
}
