import type { Executor } from '../../db/index.js';
import type { DeviceAuthorization } from './accounts.table.js';

/** The device grant's rows (RFC 8628): see device-grant.service.ts. */

export async function insertDeviceAuthorization(db: Executor, row: DeviceAuthorization): Promise<void> {
  await db.insertInto('device_authorizations').values(row).execute();
}

export function findByDeviceCode(db: Executor, deviceCodeHash: string): Promise<DeviceAuthorization | undefined> {
  return db.selectFrom('device_authorizations').selectAll().where('device_code_hash', '=', deviceCodeHash).executeTakeFirst();
}

/** A code a person may still decide on: pending and not expired. */
export function findPendingByUserCode(db: Executor, userCode: string, now: string): Promise<DeviceAuthorization | undefined> {
  return db
    .selectFrom('device_authorizations')
    .selectAll()
    .where('user_code', '=', userCode)
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

/** Approves or denies a pending, unexpired code; false when it is no longer that (decided, expired). */
export async function decide(db: Executor, id: string, decision: { status: 'approved' | 'denied'; userId: string; at: string }): Promise<boolean> {
  const result = await db
    .updateTable('device_authorizations')
    .set({ status: decision.status, user_id: decision.userId, decided_at: decision.at })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('expires_at', '>', decision.at)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Records a poll of a pending code. One statement, so two instances (or two racing polls) cannot
 * both count as on time: a poll before next_poll_at widens the interval by `penalty` seconds
 * (slow_down), any other moves next_poll_at one interval on. Answers whether the poll was on time.
 */
export async function recordPoll(db: Executor, row: Pick<DeviceAuthorization, 'id' | 'next_poll_at' | 'interval_s'>, now: Date, graceMs: number, penalty: number): Promise<boolean> {
  const early = now.getTime() + graceMs < Date.parse(row.next_poll_at);
  const interval = early ? row.interval_s + penalty : row.interval_s;
  const result = await db
    .updateTable('device_authorizations')
    .set({ interval_s: interval, next_poll_at: new Date(now.getTime() + interval * 1000).toISOString() })
    .where('id', '=', row.id)
    .where('next_poll_at', '=', row.next_poll_at)
    .executeTakeFirst();
  // Another poll got in between: this one was too fast by definition.
  return !early && result.numUpdatedRows > 0n;
}

/** Hands an approved code over once: false when another poll already took it. */
export async function consume(db: Executor, id: string, apiKeyId: string): Promise<boolean> {
  const result = await db
    .updateTable('device_authorizations')
    .set({ status: 'consumed', api_key_id: apiKeyId })
    .where('id', '=', id)
    .where('status', '=', 'approved')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Forgets codes that ended long ago: the table holds only recent sign-ins. */
export async function deleteExpired(db: Executor, before: string): Promise<void> {
  await db.deleteFrom('device_authorizations').where('expires_at', '<', before).execute();
}
