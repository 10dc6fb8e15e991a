import type { Db } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import type { JobQueue } from '../../jobs/index.js';
import type { Clock } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import * as releaseRepo from './release.repository.js';

/** A version's sessions as telemetry counts them; null: no data (yet). */
export interface SessionHealth {
  sessions: number;
  crashFreeSessions: number;
}

/**
 * The crash guard's view of telemetry: the telemetry feature implements it. Until it exists the
 * portal answers "no data" (NO_HEALTH_DATA) and nothing halts.
 */
export interface VersionHealth {
  sessionsOf(versionId: string): Promise<SessionHealth | null>;
}

export const NO_HEALTH_DATA: VersionHealth = { sessionsOf: () => Promise.resolve(null) };

export const CRASH_GUARD_JOB = 'versions.crash_guard';
const EVERY_FIVE_MINUTES = '*/5 * * * *';

/**
 * Halts a staged rollout (below 100 %) whose version crashes too often: crash-free sessions below
 * the app's percentage (default 97) over at least its minimum of sessions (default 200). A recurring
 * job, one run per five-minute slot across all instances. A halt is the developer's halt with a
 * reason: an event, an audit entry, and visible on the version; resuming is theirs to decide.
 */
export class CrashGuard {
  constructor(private readonly deps: { db: Db; clock: Clock; audit: AuditLog; events: EventNotifier; jobs: JobQueue; health: VersionHealth }) {
    deps.jobs.define(CRASH_GUARD_JOB, { schedule: EVERY_FIVE_MINUTES, maxAttempts: 3, handler: async () => void (await this.sweep()) });
  }

  /** Checks every guarded rollout once; answers how many it checked and which it halted. */
  async sweep(): Promise<{ checked: number; halted: string[] }> {
    const guarded = await releaseRepo.guardedRollouts(this.deps.db);
    const halted: string[] = [];
    for (const rollout of guarded) {
      const health = await this.deps.health.sessionsOf(rollout.id);
      if (health === null || health.sessions < rollout.crash_guard_min_sessions) continue;
      const crashFree = (100 * health.crashFreeSessions) / health.sessions;
      if (crashFree >= rollout.crash_guard_percent) continue;
      const reason = `Halted by the crash guard: ${crashFree.toFixed(1)} % crash-free sessions over ${health.sessions} sessions, below this app's ${rollout.crash_guard_percent} %.`;
      if (await this.halt(rollout, reason, health)) halted.push(rollout.id);
    }
    if (halted.length > 0) this.deps.events.notify();
    return { checked: guarded.length, halted };
  }

  private async halt(rollout: releaseRepo.GuardedRollout, reason: string, health: SessionHealth): Promise<boolean> {
    const at = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      // Only a rollout still running: the developer may have halted, raised or yanked it meanwhile.
      const changed = await releaseRepo.haltRunning(trx, rollout.id, reason, at.toISOString());
      if (!changed) return false;
      const details = { app_id: rollout.app_id, version_code: rollout.version_code, rollout_percent: rollout.rollout_percent, sessions: health.sessions, crash_free_sessions: health.crashFreeSessions, reason };
      await this.deps.audit.record({ action: 'version.halted', actorId: null, targetType: 'version', targetId: rollout.id, details }, trx);
      await appendEvent(trx, {
        type: 'version.rollout_changed',
        appId: rollout.app_id,
        actorId: null,
        payload: { version_id: rollout.id, version_code: rollout.version_code, rollout_percent: rollout.rollout_percent, halted: true, reason, by: 'crash_guard' },
        at,
      });
      return true;
    });
  }
}
