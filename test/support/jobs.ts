import { sql } from 'kysely';
import type { Executor } from '../../src/db/index.js';
import type { Clock } from '../../src/shared/index.js';

/** A clock the test moves by hand: leases and backoff pass without waiting. */
export class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
}

/**
 * Tables standing in for a feature's effects: `job_effects` holds each effect once (keyed like an
 * idempotent handler keys it), `job_runs` one row per handler run (so a double run shows).
 */
export async function createEffectTables(db: Executor): Promise<void> {
  await sql`create table job_effects (effect text primary key, job_id text not null)`.execute(db);
  await sql`create table job_runs (job_id text not null, worker text not null, slot text)`.execute(db);
}

export async function clearEffectTables(db: Executor): Promise<void> {
  await sql`delete from job_effects`.execute(db);
  await sql`delete from job_runs`.execute(db);
  await db.deleteFrom('jobs').execute();
}

/** The idempotent effect: a second run of the same job finds it made and adds nothing. */
export async function recordEffect(db: Executor, effect: string, jobId: string): Promise<void> {
  await sql`insert into job_effects (effect, job_id) values (${effect}, ${jobId}) on conflict (effect) do nothing`.execute(db);
}

export async function recordRun(db: Executor, jobId: string, worker: string, slot: string | null = null): Promise<void> {
  await sql`insert into job_runs (job_id, worker, slot) values (${jobId}, ${worker}, ${slot})`.execute(db);
}

export async function countRows(db: Executor, table: 'job_effects' | 'job_runs'): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

export async function runs(db: Executor): Promise<{ job_id: string; worker: string; slot: string | null }[]> {
  const { rows } = await sql<{ job_id: string; worker: string; slot: string | null }>`select job_id, worker, slot from job_runs`.execute(db);
  return rows;
}
