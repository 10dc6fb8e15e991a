import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import type { Clock } from '../../shared/index.js';
import type { BlobUsage } from '../../storage/index.js';
import { COUNTED_JOB_STATES, consumerPositions, databaseSizes, jobCounts, type ConsumerPositions, type DatabaseFileSize, type JobCounts } from './metrics.repository.js';
import { Probe } from './probe.js';

/** Every metric the portal exports starts with this (the process's default metrics too). */
export const METRICS_PREFIX = 'mosis_';

/** What the gauges read at scrape time: the parts of the core they measure, by shape only. */
export interface MetricSources {
  db: Db;
  database: DatabaseConfig;
  /** The job kinds this instance defines: each gets a series even while it has no job. */
  jobKinds: () => readonly string[];
  /** The in-process event log reader (its followers and the events queued for them). */
  eventLog: { stats(): { followers: number; buffered: number } };
  /** In-process followers of the event log that are not durable consumers: their last handled event, null while not following. */
  followers: Readonly<Record<string, () => number | null>>;
  telemetry: {
    readonly queued: number;
    counters(): { capacity: number; refusedRequests: number; refusedEvents: number; failedWrites: number };
  };
  blobs: { usage?(): Promise<BlobUsage> };
}

/** How fresh each source is kept, and how long a scrape waits for it. */
const QUEUE_MAX_AGE_MS = 1_000;
const SIZES_MAX_AGE_MS = 60_000;
/** A scrape waits at most this for a database query; past it the last values are answered. */
const QUERY_WAIT_MS = 2_000;
/** A walk of the blob store is waited for only before its first answer, and never long: the next scrape gets it. */
const BLOB_WAIT_MS = 250;
/** A walk that took t waits at least 30 t before the next (a 2 s walk runs at most every minute, a 10 s walk every 5). */
const BLOB_BACKOFF = 30;

const CHECK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The portal's Prometheus registry and its domain metrics: counters the services feed as things
 * happen (job failures, uploads, check durations) and gauges read when scraped (the job queue, the
 * event log's consumers, telemetry's queue, the database's and blob store's sizes). One per core,
 * never prom-client's global registry: tests build many portals in one process. http/metrics.ts
 * adds the request histogram and the process's metrics, and serves it as GET /metrics.
 */
export class PortalMetrics {
  readonly registry = new Registry();
  private readonly jobFailures: Counter<'kind' | 'outcome'>;
  private readonly uploadBytes: Counter<'mode'>;
  private readonly uploads: Counter<'mode'>;
  private readonly checkSeconds: Histogram<'outcome'>;
  private readonly probeFailures: Counter<'probe'>;
  private watching = false;

  constructor(private readonly deps: { clock: Clock; log: Pick<Logger, 'warn'> }) {
    const registers = [this.registry];
    this.jobFailures = new Counter({
      name: `${METRICS_PREFIX}job_failures_total`,
      help: 'Failed job attempts by kind; outcome "retry" (queued again after its backoff) or "dead" (its last attempt).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.uploadBytes = new Counter({
      name: `${METRICS_PREFIX}package_upload_bytes_total`,
      help: 'Bytes of .mosis packages received whole, by mode ("upload" or "dry_run").',
      labelNames: ['mode'],
      registers,
    });
    this.uploads = new Counter({
      name: `${METRICS_PREFIX}package_uploads_total`,
      help: '.mosis packages received whole, by mode ("upload" or "dry_run").',
      labelNames: ['mode'],
      registers,
    });
    this.checkSeconds = new Histogram({
      name: `${METRICS_PREFIX}package_check_duration_seconds`,
      help: 'How long the checks of one package took, waiting for a check thread included; outcome "passed", "failed" (findings) or "error" (the run itself failed).',
      labelNames: ['outcome'],
      buckets: CHECK_BUCKETS,
      registers,
    });
    this.probeFailures = new Counter({
      name: `${METRICS_PREFIX}metrics_probe_failures_total`,
      help: 'Reads of a scraped gauge that failed (its last value is kept), by probe.',
      labelNames: ['probe'],
      registers,
    });
    for (const mode of ['upload', 'dry_run']) {
      this.uploadBytes.inc({ mode }, 0);
      this.uploads.inc({ mode }, 0);
    }
  }

  /** JobWorker's onAttemptFailed. */
  jobFailed(kind: string, dead: boolean): void {
    this.jobFailures.inc({ kind, outcome: dead ? 'dead' : 'retry' });
  }

  /** The versions feature's PackageMetrics. */
  readonly packages = {
    received: (bytes: number, dryRun: boolean): void => {
      const mode = dryRun ? 'dry_run' : 'upload';
      this.uploadBytes.inc({ mode }, bytes);
      this.uploads.inc({ mode });
    },
    checked: (seconds: number, outcome: 'passed' | 'failed' | 'error'): void => {
      this.checkSeconds.observe({ outcome }, seconds);
    },
  };

  /** Registers the gauges read at scrape time; once, when the core has built what they read. */
  watch(sources: MetricSources): void {
    if (this.watching) throw new Error('PortalMetrics.watch() was called twice');
    this.watching = true;
    const registers = [this.registry];
    const probe = <T>(name: string, read: () => Promise<T>, options: { maxAgeMs: number; waitMs: number; waitOnlyForFirst?: boolean; backoffFactor?: number }) =>
      new Probe(read, {
        ...options,
        onError: (err) => {
          this.probeFailures.inc({ probe: name });
          this.deps.log.warn({ err, probe: name }, 'metrics: a gauge could not be read; its last value is kept');
        },
      });
    for (const name of ['jobs', 'event_consumers', 'database_size', 'blob_store']) this.probeFailures.inc({ probe: name }, 0);

    // ---- the job queue: one grouped query per scrape (at most one a second) ----
    const jobs = probe<JobCounts[]>('jobs', () => jobCounts(sources.db, this.deps.clock.now().toISOString()), { maxAgeMs: QUEUE_MAX_AGE_MS, waitMs: QUERY_WAIT_MS });
    /** The kinds this instance defines and any other kind the table holds (another version's). */
    const kindsOf = (rows: readonly JobCounts[]) => new Set([...sources.jobKinds(), ...rows.map((r) => r.kind)]);
    new Gauge({
      name: `${METRICS_PREFIX}jobs`,
      help: 'Jobs in the durable queue by kind and state: queued (waiting, due or not), running, dead (out of attempts, waiting for an operator).',
      labelNames: ['kind', 'state'],
      registers,
      async collect() {
        const rows = await jobs.get();
        if (rows === undefined) return;
        this.reset();
        for (const kind of kindsOf(rows)) for (const state of COUNTED_JOB_STATES) this.set({ kind, state }, 0);
        for (const r of rows) this.set({ kind: r.kind, state: r.state }, r.count);
      },
    });
    const clock = this.deps.clock;
    new Gauge({
      name: `${METRICS_PREFIX}jobs_oldest_due_age_seconds`,
      help: 'How long the oldest due queued job of each kind has waited past its run_at; 0 when none is due.',
      labelNames: ['kind'],
      registers,
      async collect() {
        const rows = await jobs.get();
        if (rows === undefined) return;
        this.reset();
        const now = clock.now().getTime();
        for (const kind of kindsOf(rows)) this.set({ kind }, 0);
        for (const r of rows) if (r.oldestDue !== null) this.set({ kind: r.kind }, Math.max(0, (now - Date.parse(r.oldestDue)) / 1000));
      },
    });

    // ---- the event log: the head, each consumer's lag ----
    const positions = probe<ConsumerPositions>('event_consumers', () => consumerPositions(sources.db), { maxAgeMs: QUEUE_MAX_AGE_MS, waitMs: QUERY_WAIT_MS });
    new Gauge({
      name: `${METRICS_PREFIX}event_log_head_id`,
      help: 'Id of the newest domain event.',
      registers,
      async collect() {
        const read = await positions.get();
        if (read !== undefined) this.set(read.head);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}event_consumer_lag_events`,
      help: "How far each consumer of the event log is behind its newest event, in event ids: the durable consumers (event_cursors) and this process's read models (the store's). Ids are not contiguous on PostgreSQL, so read it as an upper bound.",
      labelNames: ['consumer'],
      registers,
      async collect() {
        const read = await positions.get();
        if (read === undefined) return;
        this.reset();
        for (const { consumer, position } of read.consumers) this.set({ consumer }, Math.max(0, read.head - position));
        for (const [consumer, position] of Object.entries(sources.followers)) {
          const at = position();
          if (at !== null) this.set({ consumer }, Math.max(0, read.head - at));
        }
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}event_log_followers`,
      help: "Live followers of this process's event log reader (read models, live event streams, consumers' wake-ups).",
      registers,
      collect() {
        this.set(sources.eventLog.stats().followers);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}event_log_buffered_events`,
      help: "Events read and waiting in this process's followers' queues.",
      registers,
      collect() {
        this.set(sources.eventLog.stats().buffered);
      },
    });

    // ---- telemetry's writer: its queue and what it refused ----
    const telemetry = sources.telemetry;
    new Gauge({
      name: `${METRICS_PREFIX}telemetry_queue_events`,
      help: 'Telemetry events (and crash reports) accepted and not yet on disk, each batch counted as the most events its size could hold.',
      registers,
      collect() {
        this.set(telemetry.queued);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}telemetry_queue_capacity_events`,
      help: 'TELEMETRY_QUEUE_EVENTS: past this many events in flight a batch is answered 503 telemetry_busy.',
      registers,
      collect() {
        this.set(telemetry.counters().capacity);
      },
    });
    counterOf(registers, `${METRICS_PREFIX}telemetry_refused_requests_total`, 'Device requests answered 503 telemetry_busy (the queue was full) since the process started.', () => telemetry.counters().refusedRequests);
    counterOf(registers, `${METRICS_PREFIX}telemetry_refused_events_total`, 'Events those refused requests were counted as (dropped unless the device sends them again).', () => telemetry.counters().refusedEvents);
    counterOf(registers, `${METRICS_PREFIX}telemetry_write_failures_total`, "Requests the telemetry writer thread failed (answered 503 telemetry_unavailable) since the process started.", () => telemetry.counters().failedWrites);

    // ---- sizes on disk: cached a minute ----
    const sizes = probe<DatabaseFileSize[]>('database_size', () => databaseSizes(sources.db, sources.database), { maxAgeMs: SIZES_MAX_AGE_MS, waitMs: QUERY_WAIT_MS });
    new Gauge({
      name: `${METRICS_PREFIX}database_size_bytes`,
      help: 'Size of the database on disk (measured at most once a minute): SQLite the portal and telemetry files and their write-ahead logs (file "main" or "wal"); PostgreSQL pg_database_size (database "portal", telemetry included).',
      labelNames: ['database', 'file'],
      registers,
      async collect() {
        const read = await sizes.get();
        if (read === undefined) return;
        this.reset();
        for (const s of read) this.set({ database: s.database, file: s.file }, s.bytes);
      },
    });
    const usage = sources.blobs.usage?.bind(sources.blobs);
    if (usage !== undefined) {
      const measure = async () => ({ ...(await usage()), at: clock.now().getTime() });
      const blobs = probe('blob_store', measure, { maxAgeMs: SIZES_MAX_AGE_MS, waitMs: BLOB_WAIT_MS, waitOnlyForFirst: true, backoffFactor: BLOB_BACKOFF });
      new Gauge({
        name: `${METRICS_PREFIX}blob_store_bytes`,
        help: 'Bytes of packages and images in the blob store (PACKAGES_DIR), measured on a thread in the background at most once a minute; 0 until first measured.',
        registers,
        async collect() {
          const read = await blobs.get();
          if (read !== undefined) this.set(read.bytes);
        },
      });
      new Gauge({
        name: `${METRICS_PREFIX}blob_store_blobs`,
        help: 'Blobs (packages and images) in the blob store, measured with blob_store_bytes; 0 until first measured.',
        registers,
        async collect() {
          const read = await blobs.get();
          if (read !== undefined) this.set(read.blobs);
        },
      });
      new Gauge({
        name: `${METRICS_PREFIX}blob_store_measured_timestamp_seconds`,
        help: 'When blob_store_bytes and blob_store_blobs were measured (Unix time); 0 before the first measurement.',
        registers,
        async collect() {
          const read = await blobs.get();
          if (read !== undefined) this.set(read.at / 1000);
        },
      });
    }
  }
}

/** A counter whose running total lives elsewhere (a service's own count), copied in when scraped. */
function counterOf(registers: Registry[], name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
