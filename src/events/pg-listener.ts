import type pg from 'pg';
import { pgDriver } from '../db/index.js';
import { EVENTS_CHANNEL } from './append.js';

export interface EventLogLogger {
  warn(details: object, message: string): void;
}

export interface PgListenerOptions {
  connectionString: string;
  /** application_name of the connection, so operators (and tests) can find it in pg_stat_activity. */
  applicationName: string;
  /** Called on every notification and after every (re)connect, when events may have been missed. */
  onWake: () => void;
  logger: EventLogLogger | undefined;
}

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5000;

/**
 * One dedicated connection that LISTENs for commits of other instances. A notification carries no
 * data: it only says "read by id again". When the connection drops it reconnects with backoff, and
 * each successful connect wakes the reader, which catches up by id on whatever was missed.
 */
export class PgEventListener {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private delay = FIRST_RETRY_MS;
  private stopped = false;

  constructor(private readonly options: PgListenerOptions) {}

  /** True while a connection is LISTENing. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Connects once; a failure is logged and retried in the background rather than thrown. */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new (pgDriver().Client)({
      connectionString: this.options.connectionString,
      application_name: this.options.applicationName,
      connectionTimeoutMillis: 5000,
      // An idle LISTEN connection otherwise never notices a peer that vanished without a FIN.
      keepAlive: true,
    });
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, undefined));
    client.on('notification', (message) => {
      if (message.channel === EVENTS_CHANNEL) this.options.onWake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      this.options.logger?.warn({ err }, 'event log: cannot LISTEN on PostgreSQL, retrying');
      this.schedule();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.delay = FIRST_RETRY_MS;
    this.options.onWake();
  }

  private lost(client: pg.Client, err: Error | undefined): void {
    if (this.stopped || client !== this.client) return;
    this.client = undefined;
    this.options.logger?.warn({ err }, 'event log: LISTEN connection lost, reconnecting');
    client.end().catch(() => undefined);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, LAST_RETRY_MS);
  }
}
