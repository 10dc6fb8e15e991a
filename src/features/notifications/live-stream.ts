import type { Db } from '../../db/index.js';
import { latestEventId, type DomainEvent, type EventLog } from '../../events/index.js';
import { AppError, type Actor, type Role } from '../../shared/index.js';
import { liveStreamError } from './live-stream.errors.js';
import { appCreator } from './live-stream.repository.js';

/** What a browser's EventSource waits before it reconnects (sent first on every stream). */
export const RETRY_MS = 5000;
/** Bytes a stream may have waiting in its socket's buffer before its client counts as too slow. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** How long a stream waits for a full socket buffer to drain before its client counts as gone. */
export const DRAIN_TIMEOUT_MS = 30_000;
/** After a polite end (shutdown, replaced, credential gone) a client that does not read is cut off. */
const END_GRACE_MS = 1000;
/** App ids whose owner is remembered: apps never change hands, so an entry never goes stale. */
const OWNER_CACHE_SIZE = 10_000;
/** Who also sees the review queue (as GET /v1/review/queue: the role, signed in as the user, 2FA where required). */
const QUEUE_ROLES: readonly Role[] = ['reviewer', 'admin'];

/** Why a stream ended, as logged. */
export type CloseReason = 'client_left' | 'replaced' | 'credential' | 'slow_client' | 'shutdown' | 'failed' | 'log_stopped';

/** Where a stream writes: an http.ServerResponse taken over from Fastify (reply.hijack()). */
export interface LiveStreamSink {
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  write(chunk: string): boolean;
  end(): unknown;
  destroy(): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  on(event: 'close' | 'error', listener: () => void): unknown;
  off(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
}

export interface LiveStreamLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LiveStreamDeps {
  db: Db;
  events: EventLog;
  /** The apps feature's lookup by id (AppsService.byId). */
  apps: { byId(appId: string): Promise<{ owner_id: string } | undefined> };
  /** The privileged-role rule (accounts' AdminService.assertRole): who may see the review queue. */
  roles: { assertRole(actor: Actor, roles: readonly Role[]): Promise<unknown> };
  heartbeatMs: number;
  streamsPerUser: number;
  streamsMax: number;
  log: LiveStreamLogger;
  maxBufferedBytes?: number;
  drainTimeoutMs?: number;
}

/**
 * Asks again whether the stream's credential still holds: the actor it stands for now, or null
 * (or a throw) when it does not (logged out, revoked, expired, suspended).
 */
export type Reverify = () => Promise<Actor | null>;

/**
 * The live event stream (GET /v1/events): who sees which event of the domain event log, how many
 * streams there are (per person and on this instance), and each stream's writer.
 *
 * Each stream follows the log itself (`EventLog.events(afterId)`), so a reconnect with
 * Last-Event-ID resumes from the table and a stream that falls behind costs queries, not memory.
 * On top of the follower's bound, a client whose socket buffer passes `maxBufferedBytes` or does
 * not drain within `drainTimeoutMs` is dropped: it reconnects and resumes where it was.
 */
export class LiveStream {
  private readonly all = new Set<LiveConnection>();
  /** Each person's streams, oldest first (a Set keeps insertion order). */
  private readonly byUser = new Map<string, Set<LiveConnection>>();
  private readonly running = new Set<Promise<void>>();
  private readonly owners: AppOwners;
  private started: Promise<void> | undefined;
  private closing = false;
  readonly maxBufferedBytes: number;
  readonly drainTimeoutMs: number;

  constructor(readonly deps: LiveStreamDeps) {
    this.maxBufferedBytes = deps.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.drainTimeoutMs = deps.drainTimeoutMs ?? DRAIN_TIMEOUT_MS;
    this.owners = new AppOwners(async (appId) => {
      const app = await deps.apps.byId(appId);
      if (app) return app.owner_id;
      // Gone: its events still belong to whoever created it (a resumed stream replays them).
      return (await appCreator(deps.db, appId)) ?? null;
    }, OWNER_CACHE_SIZE);
  }

  /**
   * Admits a stream for `actor`, counted at once (before anything is awaited, so the limits hold
   * under a burst). A person at their limit loses their oldest stream: a browser's EventSource
   * reconnects by itself, and the oldest is the likeliest to be a connection whose client is gone
   * without a word (a laptop put to sleep), which the server cannot tell from a quiet one. Refusing
   * the new one instead would leave a live tab without events behind a dead one, and EventSource
   * does not retry a refusal.
   */
  open(actor: Actor, log: LiveStreamLogger = this.deps.log): LiveConnection {
    if (this.closing) throw liveStreamError('live_streams_full', 'The portal is shutting down; reconnect in a moment.');
    const mine = this.byUser.get(actor.userId);
    if (mine && mine.size >= this.deps.streamsPerUser) {
      const oldest = mine.values().next().value;
      oldest?.close('replaced');
    }
    if (this.all.size >= this.deps.streamsMax) {
      throw liveStreamError('live_streams_full', `This server holds ${this.deps.streamsMax} live event streams, its most; try again later.`);
    }
    const connection = new LiveConnection(this, actor, log);
    this.all.add(connection);
    let set = this.byUser.get(actor.userId);
    if (!set) this.byUser.set(actor.userId, (set = new Set()));
    set.add(connection);
    return connection;
  }

  /** Where a stream starts: after `lastEventId` (a reconnect), or after the newest event (from now). */
  async startAfter(lastEventId: number | undefined): Promise<number> {
    // `serve` starts the log before it listens; this covers a portal built without it (tests).
    this.started ??= this.deps.events.start().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    await this.started;
    const latest = await latestEventId(this.deps.db);
    // An id from the future (another portal's, a client's bug) would wait for events that are not coming.
    return lastEventId === undefined || lastEventId > latest ? latest : lastEventId;
  }

  /** Whether `actor` sees the review queue's events of every app (never an API key). */
  async reviews(actor: Actor): Promise<boolean> {
    if (actor.scopes !== null || !QUEUE_ROLES.includes(actor.role)) return false;
    try {
      await this.deps.roles.assertRole(actor, QUEUE_ROLES);
      return true;
    } catch (err) {
      if (err instanceof AppError) return false;
      throw err;
    }
  }

  /** Whether the stream of `actor` (seeing the queue or not) gets `event`. Never someone else's. */
  sees(actor: Actor, reviewing: boolean, event: DomainEvent): boolean | Promise<boolean> {
    const restricted = actor.apiKey?.appIds ?? null;
    if (restricted !== null && (event.appId === null || !restricted.includes(event.appId))) return false;
    // A notification is the addressee's alone, whichever app it is about.
    if (event.type === 'notification.created') return event.payload['user_id'] === actor.userId;
    if (event.appId === null) return false;
    if (reviewing && restricted === null && isQueueEvent(event)) return true;
    const owner = this.owners.get(event.appId);
    if (typeof owner === 'string' || owner === null) return ownerOrDeleter(owner, event) === actor.userId;
    return owner.then((found) => ownerOrDeleter(found, event) === actor.userId);
  }

  /** Ends every stream (the server is closing: Fastify's close would otherwise wait on them) and refuses new ones. */
  async closeAll(): Promise<void> {
    this.closing = true;
    for (const connection of [...this.all]) connection.close('shutdown');
    await Promise.allSettled([...this.running]);
  }

  stats(): { streams: number; users: number } {
    return { streams: this.all.size, users: this.byUser.size };
  }

  /** @internal LiveConnection's: a stream is no longer counted. */
  forget(connection: LiveConnection): void {
    this.all.delete(connection);
    const set = this.byUser.get(connection.actor.userId);
    set?.delete(connection);
    if (set?.size === 0) this.byUser.delete(connection.actor.userId);
  }

  /** @internal LiveConnection's: closeAll() waits for runs to finish. */
  track(run: Promise<void>): void {
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }
}

/** One client's stream, from admission to its end. */
export class LiveConnection {
  private readonly abort = new AbortController();
  private sink: LiveStreamSink | undefined;
  private reason: CloseReason | undefined;
  private finished = false;
  private reviewing = false;
  private verifying: Promise<void> | undefined;
  private readonly openedAt = Date.now();
  private delivered = 0;

  constructor(
    private readonly live: LiveStream,
    public actor: Actor,
    /** The request's logger (its id in every line). */
    private readonly log: LiveStreamLogger,
  ) {}

  get closed(): boolean {
    return this.reason !== undefined;
  }

  /** Before the answer starts: the stream's starting point, and whether it sees the review queue. */
  async prepare(lastEventId: number | undefined): Promise<number> {
    const afterId = await this.live.startAfter(lastEventId);
    this.reviewing = await this.live.reviews(this.actor);
    return afterId;
  }

  /**
   * Writes the stream to `sink` (whose headers are sent) until the client leaves, its credential
   * stops holding, it is too slow, it is replaced or the server closes. Resolves when it has ended.
   */
  run(sink: LiveStreamSink, afterId: number, reverify: Reverify): Promise<void> {
    const run = this.serve(sink, afterId, reverify);
    this.live.track(run);
    return run;
  }

  /** Ends the stream (at once, or once the write in progress returns); idempotent. */
  close(reason: CloseReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.abort.abort();
    this.live.forget(this);
    if (this.sink) this.finish(this.sink);
  }

  private async serve(sink: LiveStreamSink, afterId: number, reverify: Reverify): Promise<void> {
    const { deps } = this.live;
    this.sink = sink;
    const left = (): void => this.close('client_left');
    sink.on('close', left);
    sink.on('error', left);
    if (sink.destroyed) this.close('client_left');
    if (this.reason !== undefined) {
      // Replaced (or the server closing) while it was being prepared.
      sink.off('close', left);
      sink.off('error', left);
      this.finish(sink);
      return;
    }
    this.log.debug({ user_id: this.actor.userId, after_id: afterId, reviewing: this.reviewing }, 'live stream opened');
    const heartbeat = setInterval(() => this.beat(reverify), deps.heartbeatMs);
    try {
      if (!(await this.send(`retry: ${RETRY_MS}\n\n`))) return;
      for await (const event of deps.events.events(afterId, { signal: this.abort.signal })) {
        if (!(await this.live.sees(this.actor, this.reviewing, event))) continue;
        if (!(await this.send(frameOf(event)))) return;
        this.delivered += 1;
      }
      // The loop also ends when the event log stops (the core is closing).
      this.close('log_stopped');
    } catch (err) {
      this.log.warn({ err, user_id: this.actor.userId }, 'live stream failed; its client reconnects');
      this.close('failed');
    } finally {
      clearInterval(heartbeat);
      sink.off('close', left);
      sink.off('error', left);
      this.close('client_left');
      const reason = this.reason;
      const fields = { user_id: this.actor.userId, reason, delivered: this.delivered, seconds: Math.round((Date.now() - this.openedAt) / 1000) };
      if (reason === 'slow_client' || reason === 'failed') this.log.info(fields, 'live stream dropped');
      else this.log.debug(fields, 'live stream closed');
    }
  }

  /** Writes one chunk; false when the stream is over (closed, or the client too slow to keep). */
  private async send(chunk: string): Promise<boolean> {
    const sink = this.sink;
    if (this.reason !== undefined || !sink || sink.destroyed || sink.writableEnded) return false;
    const flushed = sink.write(chunk);
    if (sink.writableLength > this.live.maxBufferedBytes) {
      this.close('slow_client');
      return false;
    }
    return flushed || this.drained(sink);
  }

  /** Waits for the socket's buffer to drain; a client that does not read for drainTimeoutMs is dropped. */
  private drained(sink: LiveStreamSink): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const signal = this.abort.signal;
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        sink.off('drain', onDrain);
        signal.removeEventListener('abort', onAbort);
        resolve(ok && this.reason === undefined);
      };
      const onDrain = (): void => done(true);
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => {
        this.close('slow_client');
        done(false);
      }, this.live.drainTimeoutMs);
      sink.once('drain', onDrain);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The heartbeat: a comment line (keeps proxies from timing the connection out, and shows a
   * client the link is alive), then the credential is checked again, so a stream ends within one
   * heartbeat of a logout, a revoked or expired API key or access token, or a suspension.
   */
  private beat(reverify: Reverify): void {
    const sink = this.sink;
    if (this.reason !== undefined || !sink || sink.destroyed) return;
    sink.write(': heartbeat\n\n');
    if (sink.writableLength > this.live.maxBufferedBytes) {
      this.close('slow_client');
      return;
    }
    this.verifying ??= this.verify(reverify).finally(() => (this.verifying = undefined));
  }

  private async verify(reverify: Reverify): Promise<void> {
    try {
      const actor = await reverify();
      if (this.reason !== undefined) return;
      if (!actor || actor.userId !== this.actor.userId || (actor.scopes !== null && !actor.scopes.includes('apps:read'))) {
        this.close('credential');
        return;
      }
      // A role taken away (or a key's apps narrowed) applies from the next event on.
      const reviewing = await this.live.reviews(actor);
      this.actor = actor;
      this.reviewing = reviewing;
    } catch (err) {
      if (!(err instanceof AppError)) this.log.warn({ err, user_id: this.actor.userId }, 'live stream: cannot check its credential; closing it');
      this.close('credential');
    }
  }

  /** Ends the answer: politely when the client is there to read it, at once when it is not. */
  private finish(sink: LiveStreamSink): void {
    if (this.finished) return;
    this.finished = true;
    const reason = this.reason;
    if (reason === 'client_left' || reason === 'slow_client' || reason === 'failed' || sink.destroyed) {
      sink.destroy();
      return;
    }
    if (!sink.writableEnded) {
      if (sink.writableLength === 0) sink.write(`: closed: ${reason ?? 'ended'}\n\n`);
      sink.end();
    }
    // The end needs the client to read; one that does not would hold the server's close open.
    const cutOff = setTimeout(() => sink.destroy(), END_GRACE_MS);
    cutOff.unref();
    sink.once('close', () => clearTimeout(cutOff));
  }
}

/** The review queue's events, seen by reviewers and admins whoever owns the app. */
function isQueueEvent(event: DomainEvent): boolean {
  if (event.type === 'version.approved' || event.type === 'version.rejected') return true;
  return event.type === 'version.checked' && event.payload['status'] === 'pending_review';
}

/**
 * The owner an app event goes to. `app.deleted` of an app whose owner nothing else knows (made
 * before the event log) goes to whoever deleted it: only the owner may (AppsService.delete).
 */
function ownerOrDeleter(owner: string | null, event: DomainEvent): string | null {
  return owner ?? (event.type === 'app.deleted' ? event.actorId : null);
}

/** An event as the stream sends it; made once per event, whichever streams it goes to. */
const frames = new WeakMap<DomainEvent, string>();

export function frameOf(event: DomainEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    // JSON.stringify escapes line breaks inside strings, so the data is one `data:` line.
    const data = JSON.stringify({ id: event.id, type: event.type, app_id: event.appId, created_at: event.createdAt, data: event.payload });
    frame = `id: ${event.id}\nevent: ${event.type}\ndata: ${data}\n\n`;
    frames.set(event, frame);
  }
  return frame;
}

/**
 * app id → owner id, bounded (oldest entry out first). A lookup in flight is shared, so an event
 * of a new app reaching a thousand streams is one query. Null: no owner is known (kept too: app
 * ids are never reused, so the answer cannot change).
 */
class AppOwners {
  private readonly known = new Map<string, string | null>();
  private readonly pending = new Map<string, Promise<string | null>>();

  constructor(
    private readonly lookup: (appId: string) => Promise<string | null>,
    private readonly capacity: number,
  ) {}

  get(appId: string): string | null | Promise<string | null> {
    const known = this.known.get(appId);
    if (known !== undefined) return known;
    let pending = this.pending.get(appId);
    if (!pending) {
      pending = this.lookup(appId)
        .then((owner) => {
          if (this.known.size >= this.capacity) {
            const oldest = this.known.keys().next().value;
            if (oldest !== undefined) this.known.delete(oldest);
          }
          this.known.set(appId, owner);
          return owner;
        })
        .finally(() => this.pending.delete(appId));
      this.pending.set(appId, pending);
    }
    return pending;
  }
}
