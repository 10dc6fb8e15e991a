/** A notification mail before it is rendered: the same words go into the text and the HTML part. */
export interface MailContent {
  subject: string;
  /** Paragraphs, plain text. */
  paragraphs: string[];
  /** A list under the paragraphs (findings, versions waiting), plain text each. */
  items?: string[];
  /** The page the mail is about (absolute URL) and what its button says. */
  link: { url: string; label: string };
  /** Why this person gets this mail and how to stop it. */
  unsubscribe: { url: string; reason: string };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Everything in a mail comes from developers and reviewers (app names, notes): escaped, always. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function renderText(content: MailContent): string {
  const parts = [...content.paragraphs];
  if (content.items?.length) parts.push(content.items.map((item) => `- ${item}`).join('\n'));
  parts.push(`${content.link.label}: ${content.link.url}`);
  parts.push(`--\nYou get this because ${content.unsubscribe.reason}.\nUnsubscribe: ${content.unsubscribe.url}`);
  return `${parts.join('\n\n')}\n`;
}

/** Plain, inline-styled HTML: mail clients ignore style sheets, and no remote image is loaded. */
export function renderHtml(content: MailContent): string {
  const p = (text: string) => `<p style="margin:0 0 16px">${escapeHtml(text).replace(/\n/g, '<br>')}</p>`;
  const items = content.items?.length ? `<ul style="margin:0 0 16px;padding-left:20px">${content.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>` : '';
  const button = `<p style="margin:24px 0"><a href="${escapeHtml(content.link.url)}" style="background:#2456d3;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">${escapeHtml(content.link.label)}</a></p>`;
  const footer = `<p style="margin:32px 0 0;color:#666;font-size:12px">You get this because ${escapeHtml(content.unsubscribe.reason)}. <a href="${escapeHtml(content.unsubscribe.url)}" style="color:#666">Unsubscribe</a></p>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(content.subject)}</title></head><body style="font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#1a1a1a;max-width:600px;margin:0 auto;padding:24px">${content.paragraphs.map(p).join('')}${items}${button}${footer}</body></html>`;
}
