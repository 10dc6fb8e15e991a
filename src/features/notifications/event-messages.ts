import type { DomainEvent } from '../../events/index.js';
import { PAGES, type NotificationKind } from './notification-kinds.js';
import type { AppSummary } from './notifications.repository.js';

/** What the owner of an app is told about one event: in the portal, and (the same words) by mail. */
export interface OwnerMessage {
  kind: NotificationKind;
  title: string;
  /** One or two sentences: the in-app body and the mail's first paragraph. */
  body: string;
  /** Path under BASE_URL. */
  link: string;
  linkLabel: string;
  /** Further mail paragraphs and a list (the blocking findings). */
  more: string[];
  items: string[];
}

/** The facts a message may need beyond the event (read in the consumer's transaction). */
export interface MessageFacts {
  app: AppSummary;
  /** version.checked with status failed: the blocking findings. */
  findings?: { code: string; message: string; file?: string }[];
}

const MAX_ITEMS = 20;
const MAX_TEXT = 2_000;

const text = (value: unknown) => oneLine(typeof value === 'string' ? value : value === null || value === undefined ? '' : JSON.stringify(value));

/**
 * Developers name their apps and versions: a line break in a name must not start a line of its
 * own in a mail (a fake "ACTION NEEDED" paragraph in portal-signed mail to reviewers).
 */
export function oneLine(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it removes
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
}
const clip = (value: string, max = MAX_TEXT) => (value.length > max ? `${value.slice(0, max - 1)}…` : value);

/** The kind an event is for its app's owner, or null when the owner is not told of it. */
export function ownerKind(event: DomainEvent): NotificationKind | null {
  const p = event.payload;
  switch (event.type) {
    case 'version.checked':
      return p['status'] === 'failed' ? 'version_failed' : null;
    case 'version.approved':
      return 'version_approved';
    case 'version.rejected':
      return 'version_rejected';
    case 'version.published':
      return 'version_published';
    case 'version.rollout_changed':
      return p['halted'] === true && p['by'] === 'crash_guard' ? 'version_halted' : null;
    case 'version.yanked':
      return 'version_yanked';
    case 'webhook.disabled':
      return 'webhook_disabled';
    default:
      return null;
  }
}

export function ownerMessage(event: DomainEvent, kind: NotificationKind, facts: MessageFacts): OwnerMessage {
  const p = event.payload;
  const app = oneLine(facts.app.name);
  const versionId = text(p['version_id']);
  const label = p['version'] ? `${text(p['version'])} (${text(p['version_code'])})` : `version code ${text(p['version_code'])}`;
  const versionPage = { link: PAGES.version(facts.app.id, versionId), linkLabel: 'Open the version' };
  switch (kind) {
    case 'version_failed': {
      const findings = facts.findings ?? [];
      const items = findings.slice(0, MAX_ITEMS).map((f) => clip(oneLine(`${f.code}: ${f.message}${f.file ? ` (${f.file})` : ''}`), 300));
      if (findings.length > MAX_ITEMS) items.push(`… and ${findings.length - MAX_ITEMS} more`);
      return {
        kind,
        title: `${app} ${label} failed its checks`,
        body: `${app} ${label} did not pass the automated checks: ${findings.length} blocking finding${findings.length === 1 ? '' : 's'}. Fix them and upload a new version.`,
        ...versionPage,
        more: findings.length > 0 ? ['The blocking findings:'] : [],
        items,
      };
    }
    case 'version_approved':
      return { kind, title: `${app} ${label} was approved`, body: `A reviewer approved ${app} ${label}. You can publish it now, unless the app publishes on approval.`, ...versionPage, more: [], items: [] };
    case 'version_rejected': {
      // Notes keep their lines: a reviewer's, written to the developer.
      const notes = clip(typeof p['notes'] === 'string' ? p['notes'] : '');
      return {
        kind,
        title: `${app} ${label} was rejected`,
        body: `A reviewer rejected ${app} ${label}.`,
        ...versionPage,
        more: notes ? ["The reviewer's notes:", notes] : [],
        items: [],
      };
    }
    case 'version_published':
      return {
        kind,
        title: `${app} version code ${text(p['version_code'])} is published`,
        body: `${app} version code ${text(p['version_code'])} is live on the ${text(p['channel'])} channel for ${text(p['rollout_percent'])}% of devices.`,
        ...versionPage,
        more: [],
        items: [],
      };
    case 'version_halted':
      return {
        kind,
        title: `The rollout of ${app} version code ${text(p['version_code'])} was halted`,
        body: `The crash guard halted the rollout of ${app} version code ${text(p['version_code'])} at ${text(p['rollout_percent'])}%: ${clip(text(p['reason']), 500)}`,
        ...versionPage,
        more: ['Devices that have it keep it; no new device is offered it until you resume the rollout.'],
        items: [],
      };
    case 'version_yanked':
      return {
        kind,
        title: `${app} version code ${text(p['version_code'])} was yanked`,
        body: `${app} version code ${text(p['version_code'])} was taken out of the store${p['reason'] ? `: ${clip(text(p['reason']), 500)}` : '.'}`,
        ...versionPage,
        more: [],
        items: [],
      };
    case 'webhook_disabled':
      return {
        kind,
        title: `A webhook of ${app} was disabled`,
        body: `Every delivery to ${clip(text(p['host']), 300)} failed for three days, so the portal turned the webhook off. Fix the receiver, then turn the webhook on again.`,
        link: PAGES.webhook(facts.app.id, text(p['webhook_id'])),
        linkLabel: 'Open the webhook',
        more: [],
        items: [],
      };
    case 'review_queue':
      throw new Error('review_queue is a digest, not an owner message');
  }
}
