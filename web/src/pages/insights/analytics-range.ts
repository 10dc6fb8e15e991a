/**
 * The analytics page's date range, kept in the URL (`?range=30d`, or `?from=2026-11-01&to=2026-11-30`
 * with both days included) so a view can be shared and survives a reload, and turned into the
 * API's query: `from` inclusive, `to` exclusive, in UTC, by day (or by hour for short ranges).
 */
import type { Granularity } from './types';

export const PRESETS = [
  { id: '24h', label: 'Last 24 hours' },
  { id: '7d', label: '7 days' },
  { id: '30d', label: '30 days' },
  { id: '90d', label: '90 days' },
] as const;
export type Preset = (typeof PRESETS)[number]['id'];
export const DEFAULT_PRESET: Preset = '30d';

export type RangeChoice = { kind: 'preset'; preset: Preset } | { kind: 'custom'; from: string; to: string };

const DAY_MS = 86_400_000;
/** What the API answers at most (analytics.ts): 731 days, or 744 hours. */
export const MAX_DAYS = 731;
/** Custom ranges this short are shown by the hour. */
const HOURLY_UP_TO_DAYS = 2;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function dayMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

function isDate(value: string | null): value is string {
  return value !== null && DATE.test(value) && !Number.isNaN(dayMs(value));
}

export function rangeFromParams(params: URLSearchParams): RangeChoice {
  const from = params.get('from');
  const to = params.get('to');
  if (isDate(from) && isDate(to)) return { kind: 'custom', from, to };
  const preset = PRESETS.find((p) => p.id === params.get('range'));
  return { kind: 'preset', preset: preset?.id ?? DEFAULT_PRESET };
}

/** The URL's parameters for a range, keeping the others (the version). */
export function withRange(params: URLSearchParams, choice: RangeChoice): URLSearchParams {
  const next = new URLSearchParams(params);
  next.delete('range');
  next.delete('from');
  next.delete('to');
  if (choice.kind === 'custom') {
    next.set('from', choice.from);
    next.set('to', choice.to);
  } else if (choice.preset !== DEFAULT_PRESET) {
    next.set('range', choice.preset);
  }
  return next;
}

/** Why a custom range cannot be asked for, by field; null when it can. */
export function customRangeProblem(from: string, to: string): { field: 'from' | 'to'; message: string } | null {
  if (!isDate(from)) return { field: 'from', message: 'Enter the first day, as a date.' };
  if (!isDate(to)) return { field: 'to', message: 'Enter the last day, as a date.' };
  if (dayMs(to) < dayMs(from)) return { field: 'to', message: 'The last day must not be before the first day.' };
  if ((dayMs(to) - dayMs(from)) / DAY_MS + 1 > MAX_DAYS) return { field: 'to', message: `At most ${MAX_DAYS} days at a time.` };
  return null;
}

export interface AnalyticsQuery {
  from: string;
  to: string;
  granularity: Granularity;
}

/** The API's query for a range, as of `now`: presets end with today (UTC), so today's numbers show as they come. */
export function analyticsQuery(choice: RangeChoice, now: number): AnalyticsQuery {
  if (choice.kind === 'custom') {
    const days = (dayMs(choice.to) - dayMs(choice.from)) / DAY_MS + 1;
    return { from: choice.from, to: isoDate(dayMs(choice.to) + DAY_MS), granularity: days <= HOURLY_UP_TO_DAYS ? 'hour' : 'day' };
  }
  if (choice.preset === '24h') {
    // The current hour included: the API rounds `to` up to a whole hour.
    const hour = Math.floor(now / 3_600_000) * 3_600_000;
    return { from: new Date(hour - 23 * 3_600_000).toISOString(), to: new Date(hour + 3_600_000).toISOString(), granularity: 'hour' };
  }
  const days = choice.preset === '7d' ? 7 : choice.preset === '30d' ? 30 : 90;
  const today = dayMs(isoDate(now));
  return { from: isoDate(today - (days - 1) * DAY_MS), to: isoDate(today + DAY_MS), granularity: 'day' };
}

/** How a range reads in a sentence: "the last 30 days", "1 Nov 2026 to 30 Nov 2026". */
export function describeRange(choice: RangeChoice): string {
  if (choice.kind === 'custom') {
    const format = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
    return choice.from === choice.to ? format.format(dayMs(choice.from)) : `${format.format(dayMs(choice.from))} to ${format.format(dayMs(choice.to))}`;
  }
  return choice.preset === '24h' ? 'the last 24 hours' : `the last ${choice.preset.replace('d', '')} days`;
}
