import type { Db, Executor } from '../../db/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import type { Clock, Ids } from '../../shared/index.js';
import * as repo from './audit.repository.js';
import type { AuditAction, AuditEntryResponse, AuditQuery } from './audit.schemas.js';
import type { AuditEntry } from './audit.table.js';

export interface AuditDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
}

export interface AuditEvent {
  action: AuditAction;
  actorId?: string | null;
  targetType?: string;
  targetId?: string;
  ip?: string | null;
  /** Facts about the event. Never put a password, token or key here. */
  details?: Record<string, unknown>;
}

/**
 * The append-only audit log. There is deliberately no update or delete: an entry, once written,
 * is evidence. Callers pass their open transaction so the entry commits with the change it records.
 */
export class AuditLog {
  constructor(private readonly deps: AuditDeps) {}

  async record(event: AuditEvent, db: Executor = this.deps.db): Promise<void> {
    await repo.insertAuditEntry(db, {
      id: this.deps.ids.id(),
      at: this.deps.clock.now().toISOString(),
      actor_id: event.actorId ?? null,
      action: event.action,
      target_type: event.targetType ?? null,
      target_id: event.targetId ?? null,
      ip: event.ip ?? null,
      details: JSON.stringify(event.details ?? {}),
    });
  }

  async list(query: AuditQuery): Promise<Page<AuditEntryResponse>> {
    const rows = await repo.listAuditEntries(this.deps.db, {
      actorId: query.actor_id,
      action: query.action,
      targetId: query.target_id,
      from: query.from,
      to: query.to,
      before: decodeCursor(query.cursor),
      limit: query.limit,
    });
    // Ids alone mean nothing to the admin reading the log: the page's people by their address too.
    const userIds = new Set<string>();
    for (const row of rows.slice(0, query.limit)) {
      if (row.actor_id !== null) userIds.add(row.actor_id);
      if (row.target_type === 'user' && row.target_id !== null) userIds.add(row.target_id);
    }
    const emails = await repo.findUserEmails(this.deps.db, [...userIds]);
    return toPage(rows, query.limit, (e) => e.id, (entry) => toResponse(entry, emails));
  }
}

function toResponse(entry: AuditEntry, emails: ReadonlyMap<string, string>): AuditEntryResponse {
  return {
    id: entry.id,
    at: entry.at,
    actor_id: entry.actor_id,
    actor_email: entry.actor_id === null ? null : (emails.get(entry.actor_id) ?? null),
    target_email: entry.target_type === 'user' && entry.target_id !== null ? (emails.get(entry.target_id) ?? null) : null,
    action: entry.action,
    target_type: entry.target_type,
    target_id: entry.target_id,
    ip: entry.ip,
    details: JSON.parse(entry.details) as Record<string, unknown>,
  };
}
