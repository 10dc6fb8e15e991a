import type { Cron } from 'croner';
import { parseCron } from '../shared/cron.js';

/**
 * A recurring job's schedule: a cron expression evaluated in UTC (five fields, or six with
 * seconds first). Parsed when the kind is defined, so a bad expression stops the start.
 */
export class Schedule {
  private constructor(
    readonly expression: string,
    private readonly cron: Cron,
  ) {}

  static parse(expression: string): Schedule {
    // Throws with the library's message on a bad expression.
    return new Schedule(expression, parseCron(expression));
  }

  /** The first slot strictly after `after`. */
  nextSlot(after: Date): Date {
    const next = this.cron.nextRun(after);
    if (next === null) throw new Error(`the schedule "${this.expression}" has no slot after ${after.toISOString()}`);
    return next;
  }
}
