import type { Db, Executor } from '../../db/index.js';
import { appendEvent, type DomainEvent } from '../../events/index.js';
import type { JobQueue } from '../../jobs/index.js';
import { commonError, type Clock, type Ids } from '../../shared/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import { oneLine, ownerKind, ownerMessage } from './event-messages.js';
import { renderHtml, renderText, type MailContent } from './mail-templates.js';
import type { Mailer, Seal } from './mailer.js';
import { KIND_DESCRIPTIONS, NOTIFICATION_KINDS, PAGES, isNotificationKind, type NotificationKind } from './notification-kinds.js';
import { notificationsError } from './notifications.errors.js';
import * as repo from './notifications.repository.js';

export const REVIEW_DIGEST_JOB = 'notifications.review-digest';
export const NOTIFICATIONS_PRUNE_JOB = 'notifications.prune';
/** In-app notifications are kept this long. */
export const NOTIFICATION_RETENTION_MS = 90 * 86_400_000;
/** Finished webhook deliveries stay in their log this long. */
export const DELIVERY_RETENTION_MS = 30 * 86_400_000;
const DIGEST_LIST = 10;

export interface NotificationItem {
  id: string;
  kind: string;
  title: string;
  body: string;
  link: string;
  app_id: string | null;
  created_at: string;
  read_at: string | null;
}

export interface NotificationsDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  jobs: JobQueue;
  mailer: Mailer;
  /** Seals unsubscribe tokens (the server key, derived for them). */
  seal: Seal;
  baseUrl: string;
  reviewDigestMs: number;
}

/**
 * In-app notifications and notification email: what each domain event tells whom (react, run by
 * the fan-out in its transaction), the reviewers' digest, the list and read marks, preferences and
 * unsubscribe links.
 */
export class NotificationsService {
  constructor(private readonly deps: NotificationsDeps) {
    deps.jobs.define<{ user_id: string }>(REVIEW_DIGEST_JOB, {
      maxAttempts: 5,
      timeoutMs: 60_000,
      handler: (job) => deps.db.transaction().execute(async (trx) => {
        await this.sendDigest(trx, job.payload.user_id);
        await job.markDone(trx);
      }),
    });
    deps.jobs.define(NOTIFICATIONS_PRUNE_JOB, {
      schedule: '41 3 * * *',
      maxAttempts: 3,
      timeoutMs: 10 * 60_000,
      handler: async () => {
        await this.prune();
      },
    });
  }

  /** Tells the people an event concerns: a notification each (and mail where they want it). */
  async react(trx: Executor, event: DomainEvent): Promise<void> {
    if (event.type === 'version.checked' && event.payload['status'] === 'pending_review') return this.queueDigests(trx, event);
    const kind = ownerKind(event);
    if (kind === null || event.appId === null) return;
    const app = await repo.appWithOwner(trx, event.appId);
    if (!app) return;
    const findings = kind === 'version_failed' ? await repo.blockingFindings(trx, String(event.payload['version_id'])) : undefined;
    const message = ownerMessage(event, kind, { app, findings });
    const id = this.deps.ids.id();
    const at = this.deps.clock.now().toISOString();
    const row = { id, user_id: app.owner.id, kind, app_id: app.id, event_id: event.id, title: message.title, body: message.body, link: message.link, created_at: at, read_at: null };
    // A replayed event finds its notification there: nobody is told twice.
    if (!(await repo.insertNotification(trx, row))) return;
    await appendEvent(trx, {
      type: 'notification.created',
      appId: app.id,
      actorId: null,
      payload: { notification_id: id, user_id: app.owner.id, kind, title: message.title, link: message.link },
      at: new Date(at),
    });
    if (!app.owner.verified || (await repo.emailOff(trx, app.owner.id)).has(kind)) return;
    await this.mail(trx, app.owner, kind, {
      subject: message.title,
      paragraphs: [`Hello ${oneLine(app.owner.name)},`, message.body, ...message.more],
      items: message.items,
      link: { url: this.url(message.link), label: message.linkLabel },
    });
  }

  async list(userId: string, query: { unread?: boolean; limit: number; cursor?: string }): Promise<Page<NotificationItem> & { unread_count: number }> {
    const before = decodeCursor(query.cursor);
    const beforeEvent = before === undefined ? null : Number(before);
    if (beforeEvent !== null && !Number.isSafeInteger(beforeEvent)) throw commonError('invalid_cursor');
    const [rows, unread] = await Promise.all([
      repo.listNotifications(this.deps.db, userId, { unread: query.unread === true, beforeEvent, limit: query.limit + 1 }),
      repo.unreadCount(this.deps.db, userId),
    ]);
    return { ...toPage(rows, query.limit, (r) => String(r.event_id), item), unread_count: unread };
  }

  async unreadCount(userId: string): Promise<{ unread_count: number }> {
    return { unread_count: await repo.unreadCount(this.deps.db, userId) };
  }

  /** Marks some (ids) or all of the caller's notifications read; ids of others are ignored. */
  async markRead(userId: string, input: { ids?: string[]; all?: boolean }): Promise<{ updated: number; unread_count: number }> {
    if (input.all !== true && (input.ids === undefined || input.ids.length === 0)) {
      throw commonError('validation_failed', 'Give the ids to mark read, or "all": true.', [{ path: 'body', message: 'ids or all' }]);
    }
    const updated = await repo.markRead(this.deps.db, userId, input.all === true ? null : (input.ids ?? []), this.deps.clock.now().toISOString());
    return { updated, unread_count: await repo.unreadCount(this.deps.db, userId) };
  }

  async preferences(userId: string): Promise<{ email: Record<NotificationKind, boolean> }> {
    const off = await repo.emailOff(this.deps.db, userId);
    return { email: Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, !off.has(k)])) as Record<NotificationKind, boolean> };
  }

  async setPreferences(userId: string, input: { email: Partial<Record<NotificationKind, boolean>> }): Promise<{ email: Record<NotificationKind, boolean> }> {
    await this.deps.db.transaction().execute(async (trx) => {
      for (const [kind, on] of Object.entries(input.email)) if (isNotificationKind(kind) && typeof on === 'boolean') await repo.setEmail(trx, userId, kind, on);
    });
    return this.preferences(userId);
  }

  /** What an unsubscribe link names, or a clear error when it is not one of ours. */
  readUnsubscribe(token: string): { userId: string; kind: NotificationKind; description: string } {
    let opened: string;
    try {
      opened = this.deps.seal.open(token, 'unsubscribe');
    } catch {
      throw notificationsError('unsubscribe_invalid');
    }
    const [userId = '', kind = ''] = opened.split(' ');
    if (!isNotificationKind(kind)) throw notificationsError('unsubscribe_invalid');
    return { userId, kind, description: KIND_DESCRIPTIONS[kind] };
  }

  /** Turns one kind of mail off for the person the link was made for. */
  async unsubscribe(token: string): Promise<{ kind: NotificationKind; description: string }> {
    const { userId, kind, description } = this.readUnsubscribe(token);
    // The user may be gone: the link still answers, there is just nothing left to turn off.
    const exists = await repo.recipient(this.deps.db, userId);
    if (exists) await repo.setEmail(this.deps.db, userId, kind, false);
    return { kind, description };
  }

  unsubscribeUrl(userId: string, kind: NotificationKind): string {
    return this.url(`/v1/notifications/unsubscribe?token=${encodeURIComponent(this.deps.seal.seal(`${userId} ${kind}`, 'unsubscribe'))}`);
  }

  /** Deletes notifications after 90 days and finished deliveries after 30 (a daily job). */
  async prune(): Promise<{ notifications: number; deliveries: number }> {
    const now = this.deps.clock.now().getTime();
    const notifications = await repo.pruneNotifications(this.deps.db, new Date(now - NOTIFICATION_RETENTION_MS).toISOString());
    const deliveries = await repo.pruneDeliveries(this.deps.db, new Date(now - DELIVERY_RETENTION_MS).toISOString());
    return { notifications, deliveries };
  }

  /**
   * Something new waits for review: each reviewer gets a digest at the end of the current
   * interval (REVIEW_DIGEST_MINUTES, aligned to the clock). The job's key is the reviewer and the
   * interval, so however many versions arrive in it, one digest goes out.
   */
  private async queueDigests(trx: Executor, event: DomainEvent): Promise<void> {
    const interval = this.deps.reviewDigestMs;
    const slotEnd = (Math.floor(new Date(event.createdAt).getTime() / interval) + 1) * interval;
    const runAt = new Date(Math.max(slotEnd, this.deps.clock.now().getTime()));
    for (const reviewer of await repo.reviewers(trx)) {
      if (!reviewer.verified || (await repo.emailOff(trx, reviewer.id)).has('review_queue')) continue;
      await this.deps.jobs.enqueue(trx, { kind: REVIEW_DIGEST_JOB, key: `${reviewer.id}:${new Date(slotEnd).toISOString()}`, payload: { user_id: reviewer.id }, runAt });
    }
  }

  private async sendDigest(trx: Executor, userId: string): Promise<void> {
    const reviewer = await repo.recipient(trx, userId);
    // Checked again when it goes: the role, the address or the preference may have changed.
    if (!reviewer?.verified || (reviewer.role !== 'reviewer' && reviewer.role !== 'admin')) return;
    if ((await repo.emailOff(trx, userId)).has('review_queue')) return;
    const { total, versions } = await repo.waitingForReview(trx, DIGEST_LIST);
    if (total === 0) return;
    const items = versions.map((v) => oneLine(`${v.app_name} ${v.version} (${v.package_id}): ${this.url(PAGES.review(v.id))}`));
    if (total > versions.length) items.push(`… and ${total - versions.length} more`);
    await this.mail(trx, reviewer, 'review_queue', {
      subject: `${total} version${total === 1 ? '' : 's'} waiting for review`,
      paragraphs: [`Hello ${oneLine(reviewer.name)},`, `${total} version${total === 1 ? ' waits' : 's wait'} in the review queue, the oldest first:`],
      items,
      link: { url: this.url(PAGES.reviewQueue()), label: 'Open the review queue' },
    });
  }

  private async mail(trx: Executor, to: repo.Recipient, kind: NotificationKind, content: Omit<MailContent, 'unsubscribe'>): Promise<void> {
    const unsubscribe = { url: this.unsubscribeUrl(to.id, kind), reason: `you get email when ${KIND_DESCRIPTIONS[kind]}; change it at ${this.url(PAGES.preferences())}` };
    const full = { ...content, unsubscribe };
    await this.deps.mailer.enqueue(trx, { to: to.email, subject: content.subject, text: renderText(full), html: renderHtml(full), unsubscribeUrl: unsubscribe.url });
  }

  private url(pathname: string): string {
    return `${this.deps.baseUrl}${pathname}`;
  }
}

function item(row: repo.Notification): NotificationItem {
  return { id: row.id, kind: row.kind, title: row.title, body: row.body, link: row.link, app_id: row.app_id, created_at: row.created_at, read_at: row.read_at };
}
