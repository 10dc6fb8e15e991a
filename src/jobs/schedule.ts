import { CronExpressionParser } from 'cron-parser';

/**
 * A recurring job's schedule: a cron expression evaluated in UTC (five fields, or six with
 * seconds first). Parsed when the kind is defined, so a bad expression stops the start.
 */
export class Schedule {
  private constructor(readonly expression: string) {}

  static parse(expression: string): Schedule {
    // Throws with the library's message on a bad expression.
    CronExpressionParser.parse(expression, { tz: 'UTC', strict: false });
    return new Schedule(expression);
  }

  /** The first slot strictly after `after`. */
  nextSlot(after: Date): Date {
    return CronExpressionParser.parse(this.expression, { tz: 'UTC', currentDate: after }).next().toDate();
  }
}
