/** Numbers, durations and bucket times as the insight pages show them (in the reader's locale; buckets in UTC, as the API counts them). */
import type { Granularity } from './types';

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export const NOT_MEASURED = '–';

export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? NOT_MEASURED : integer.format(value);
}

export function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined ? NOT_MEASURED : decimal.format(value);
}

export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? NOT_MEASURED : `${percent.format(value)} %`;
}

export function formatMs(value: number | null | undefined): string {
  if (value === null || value === undefined) return NOT_MEASURED;
  return value >= 10_000 ? `${decimal.format(value / 1000)} s` : `${decimal.format(value)} ms`;
}

export function formatMb(value: number | null | undefined): string {
  return value === null || value === undefined ? NOT_MEASURED : `${decimal.format(value)} MB`;
}

/** A session length: "42 s", "12 min 5 s", "2 h 3 min". */
export function formatSeconds(value: number | null | undefined): string {
  if (value === null || value === undefined) return NOT_MEASURED;
  const s = Math.round(value);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
const hourFormat = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

/** A bucket's start (ISO) as its day or its hour, in UTC. */
export function formatBucket(iso: string, granularity: Granularity): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return granularity === 'hour' ? `${hourFormat.format(date)} UTC` : dayFormat.format(date);
}
