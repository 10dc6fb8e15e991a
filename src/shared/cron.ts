import { Cron } from 'croner';

/**
 * croner (small, no dependencies: cron-parser pulled in luxon, half a megabyte of source loaded at
 * every start) also takes a seventh field, the year; the portal documents five or six.
 */
export function parseCron(expression: string): Cron {
  const fields = expression.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) throw new Error(`a cron expression has five fields, or six with seconds first; "${expression}" has ${fields}`);
  return new Cron(expression, { utcOffset: 0, paused: true });
}
